"""Each family's outcome read off tracked positions: the simulator's rules, in pixels.

The simulator labels an outcome from its own states (worldsim/physics/families/*); these
are the same rules applied to what the tracker sees, so that a generated clip gets the
outcome its *pixels* show. Where a rule needs what pixels do not show, it is replaced
by an equivalent observable:

- ramp, ball: spin is invisible on a uniformly coloured disc. A ball rolling without
  slipping accelerates down the slope at (2/3) g sin(angle); one that slips accelerates
  faster, g (sin - mu cos) > (2/3) g sin exactly when mu < tan / 3. The simulator calls a
  ball that slips a little (spin/speed above 0.85) still rolling; that band ends at an
  acceleration of ~0.70 g sin, so the boundary is ROLL_ACCEL_RATIO.
- tower: block orientation comes from a template fit (track.box_angle); a near-square
  block's angle is known only modulo 90 degrees.

`None` means the pixels do not say (the object was never found where it mattered).
"""

from __future__ import annotations

import numpy as np

from worldsim.bench.track import Tracks
from worldsim.bench.truth import Case

ROLL_ACCEL_RATIO = 0.685  # along-slope acceleration / (g sin angle) above this: slides
COLLIDE_TOUCH_PX = 1.7  # centre distance within r_a + r_b + this (px) counts as a touch: frames
# sample a touch up to ~1.5 px late or early; measured misses pass >= 1.9 px apart


def _present_xy(tracks: Tracks, n: int) -> tuple[np.ndarray, np.ndarray]:
    ok = tracks.present[:, n]
    return np.flatnonzero(ok), tracks.xy[ok, n]


def _hoop(case: Case, tracks: Tracks) -> str | None:
    frames, xy = _present_xy(tracks, 0)
    if len(frames) < 2:
        return None
    geo = case.geometry
    rim_y = geo["rim_y"]
    for j in range(len(frames) - 1):
        if frames[j + 1] != frames[j] + 1:
            continue
        (x0, y0), (x1, y1) = xy[j], xy[j + 1]
        if y0 <= rim_y < y1:  # downwards on screen
            x = x0 + (rim_y - y0) / (y1 - y0) * (x1 - x0)
            if geo["rim_front_x"] < x < geo["rim_back_x"]:
                return "make"
    return "miss"


def _throw(case: Case, tracks: Tracks) -> str | None:
    frames, xy = _present_xy(tracks, 0)
    if len(frames) == 0:
        return None
    return "clears" if xy[:, 0].max() > case.geometry["obstacle_x"] else "blocked"


def _bounce(case: Case, tracks: Tracks) -> str | None:
    window = int(round(case.geometry["settle_window_s"] * case.fps))
    ok = tracks.present[-window:, 0]
    if ok.sum() < window // 2:
        return None
    radius = case.objects[0]["size_px"][0]
    bottom = case.geometry["floor_y"] - (tracks.xy[-window:, 0, 1][ok] + radius)  # px above floor
    return "settles" if bottom.max() < case.geometry["settle_height"] else "bouncing"


def _collide(case: Case, tracks: Tracks) -> str | None:
    n = len(case.objects)
    if tracks.present.sum(axis=0).min() == 0:
        return None
    radii = [o["size_px"][0] for o in case.objects]
    for i in range(n):
        for j in range(i + 1, n):
            ok = tracks.present[:, i] & tracks.present[:, j]
            d = np.linalg.norm(tracks.xy[ok, i] - tracks.xy[ok, j], axis=-1)
            # Between frames the balls move on: also test the midpoints of consecutive frames.
            both = np.flatnonzero(ok[:-1] & ok[1:])
            mid_i = 0.5 * (tracks.xy[both, i] + tracks.xy[both + 1, i])
            mid_j = 0.5 * (tracks.xy[both, j] + tracks.xy[both + 1, j])
            d = np.concatenate([d, np.linalg.norm(mid_i - mid_j, axis=-1)])
            if d.size and d.min() <= radii[i] + radii[j] + COLLIDE_TOUCH_PX:
                return "hit"
    return "miss"


def _ramp(case: Case, tracks: Tracks) -> str | None:
    frames, xy = _present_xy(tracks, 0)
    if len(frames) < 2:
        return None
    geo = case.geometry
    if np.linalg.norm(xy[-1] - xy[0]) < geo["stay_distance"]:
        return "stays"
    if case.objects[0]["shape"] == "box":
        return "slides"
    angle = np.radians(geo["angle_deg"])
    down = np.array([np.cos(angle), np.sin(angle)])  # down the slope, on screen (y down)
    on_ramp = xy[:, 0] < geo["ramp_bottom_x"] - case.objects[0]["size_px"][0]
    if on_ramp.sum() < 4:
        return None
    t = frames[on_ramp] / case.fps
    s = xy[on_ramp] @ down  # px along the slope
    accel = 2.0 * np.polyfit(t, s, 2)[0]
    ratio = accel / (case.gravity_px_s2 * np.sin(angle))
    return "slides" if ratio > ROLL_ACCEL_RATIO else "rolls"


def _tower(case: Case, tracks: Tracks) -> str | None:
    geo = case.geometry
    blocks = [i for i, o in enumerate(case.objects) if o["name"].startswith("block_")]
    start = case.states[0, :, :2]  # the conditioning shows where the blocks stood
    for i in blocks:
        if not tracks.present[-1, i]:
            return "topples"  # a block gone from its place (covered or off frame) fell
        height = case.objects[i]["size_px"][1]
        dropped = tracks.xy[-1, i, 1] - start[i, 1]  # px, +y is down
        angle = tracks.final_angle[i]
        turned = abs(float(np.angle(np.exp(1j * angle)))) if np.isfinite(angle) else 0.0
        if turned > geo["topple_angle"] or dropped > geo["topple_drop"] * height:
            return "topples"
    return "stands"


_RULES = {
    "hoop": _hoop,
    "throw": _throw,
    "bounce": _bounce,
    "collide": _collide,
    "ramp": _ramp,
    "tower": _tower,
}


def read_outcome(case: Case, tracks: Tracks) -> str | None:
    """The outcome the tracked clip shows, by the family's rule; None if it cannot be read."""
    return _RULES[case.family](case, tracks)
