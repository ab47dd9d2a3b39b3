"""Motion read off positions sampled at frame times: contacts, free flight, bounces.

All functions take positions in pixels, [T, 2] per object with nan where the object was
not seen, the frame rate, and gravity in px/s^2 (+y is down on screen).

Contacts show as *kinks*: a contact changes an object's velocity within a fraction of a
frame, so the second difference of its positions jumps far above its neighbours'
(free flight has a constant second difference, g / fps^2; a resting or frozen object has
zero). The contact time is where the two free-flight parabolas on either side of the
kink meet: with the same gravity on both sides the quadratic terms cancel and the
meeting time solves a linear equation (least squares over x and y). The same pair of
parabolas gives the velocities just before and after the contact, hence restitution.
"""

from __future__ import annotations

import dataclasses

import numpy as np

KINK_ACCEL_G = 4.0  # a kink changes velocity by more than 4 g's worth in one frame...
KINK_LOCAL_WINDOW = 3  # ...more than the median over +-3 frames does
FREE_FLIGHT_TOL = 0.02  # |a - g| / g of the ground truth in free flight (pymunk is ~exact)


@dataclasses.dataclass(frozen=True)
class Kink:
    """A contact recovered from positions."""

    frame: int  # the frame whose second difference peaks (the contact is in (f-1, f+1))
    time_s: float  # where the parabolas before and after meet
    v_before: np.ndarray  # [2] px/s just before
    v_after: np.ndarray  # [2] px/s just after


def accelerations(xy: np.ndarray, fps: float) -> np.ndarray:
    """[T, 2] central second differences * fps^2 (px/s^2); nan at the ends and near gaps."""
    a = np.full_like(xy, np.nan, dtype=np.float64)
    a[1:-1] = (xy[2:] - 2 * xy[1:-1] + xy[:-2]) * fps**2
    return a


def contact_at(xy: np.ndarray, frame: int, fps: float, g: float) -> Kink | None:
    """The contact near `frame` from frames f-2, f-1 (before) and f+1, f+2 (after).

    Each side is a parabola with the known gravity through its two frames; None if a frame
    is missing or the two sides do not differ.
    """
    idx = (frame - 2, frame - 1, frame + 1, frame + 2)
    if idx[0] < 0 or idx[-1] >= len(xy) or np.isnan(xy[list(idx)]).any():
        return None
    grav = np.array([0.0, g])
    t = np.asarray(idx, np.float64) / fps  # [4]

    def side(i0: int, i1: int) -> tuple[np.ndarray, np.ndarray]:
        """Intercept A and velocity-at-0 B of p(s) = A + B s + g s^2 / 2 through two frames."""
        p0, p1 = xy[idx[i0]] - 0.5 * grav * t[i0] ** 2, xy[idx[i1]] - 0.5 * grav * t[i1] ** 2
        b = (p1 - p0) / (t[i1] - t[i0])
        return p0 - b * t[i0], b

    a_pre, b_pre = side(0, 1)
    a_post, b_post = side(2, 3)
    db = b_post - b_pre
    if float(db @ db) < 1e-9:
        return None
    s = float(-((a_post - a_pre) @ db) / (db @ db))  # meeting time, least squares
    s = float(np.clip(s, t[1], t[2]))
    return Kink(frame, s, b_pre + grav * s, b_post + grav * s)


def detect_kinks(
    xy: np.ndarray, fps: float, g: float, start: int = 0, accel_g: float = KINK_ACCEL_G
) -> list[Kink]:
    """Contacts of one object: frames (>= start) whose acceleration stands out locally by
    more than `accel_g` * g."""
    a = accelerations(xy, fps)  # [T, 2]
    t_len = len(xy)
    dev = np.full(t_len, np.nan)
    w = KINK_LOCAL_WINDOW
    for t in range(1, t_len - 1):
        if np.isnan(a[t]).any():
            continue
        lo, hi = max(1, t - w), min(t_len - 1, t + w + 1)
        local = a[lo:hi]
        local = local[~np.isnan(local).any(axis=1)]
        dev[t] = np.linalg.norm(a[t] - np.median(local, axis=0))
    threshold = accel_g * max(g, 1e-6)
    kinks = []
    for t in range(max(start, 1), t_len - 1):
        if not dev[t] > threshold:
            continue
        neighbours = dev[max(0, t - 1) : t + 2]
        if dev[t] < np.nanmax(neighbours):  # keep the peak of a two-frame kink
            continue
        k = contact_at(xy, t, fps, g)
        if k is not None:
            kinks.append(k)
    return kinks


def free_flight_frames(xy: np.ndarray, fps: float, g: float, contact_frames) -> np.ndarray:
    """bool [T]: frames inside ground-truth free flight (a ~ (0, g), no contact nearby)."""
    a = accelerations(xy, fps)
    ok = np.linalg.norm(a - np.array([0.0, g]), axis=1) <= FREE_FLIGHT_TOL * g  # nan -> False
    for f in contact_frames:  # a contact in [f, f+1) bends the triplets centred at f, f+1
        ok[max(0, f - 1) : f + 3] = False
    frames = np.zeros(len(xy), bool)
    for t in np.flatnonzero(ok):
        frames[t - 1 : t + 2] = True
    # A contact inside the triplet window still breaks the parabola on either side.
    for f in contact_frames:
        frames[f : f + 2] &= False
    return frames


def segments(mask: np.ndarray, min_len: int) -> list[np.ndarray]:
    """Runs of consecutive True frames, each at least `min_len` long."""
    runs, start = [], None
    for t, m in enumerate(list(mask) + [False]):
        if m and start is None:
            start = t
        elif not m and start is not None:
            if t - start >= min_len:
                runs.append(np.arange(start, t))
            start = None
    return runs


def fit_ballistic(
    tracks: list[tuple[np.ndarray, np.ndarray]], fps: float
) -> tuple[float, float, float] | None:
    """Gravity and horizontal acceleration (px/s^2) shared by free-flight segments, and the
    standard error of either per px of position noise.

    `tracks`: (frames [n], xy [n, 2]) per segment. Each segment has its own start and
    velocity; the accelerations are common (least squares). None with fewer than 8 frames.
    """
    if not tracks or sum(len(f) for f, _ in tracks) < 8:
        return None
    k = len(tracks)
    rows, xs, ys = [], [], []
    for s, (frames, xy) in enumerate(tracks):
        t = (frames - frames[0]) / fps
        for ti, (x, y) in zip(t, xy):
            row = np.zeros(2 * k + 1)
            row[2 * s], row[2 * s + 1], row[-1] = 1.0, ti, 0.5 * ti**2
            rows.append(row)
            xs.append(x)
            ys.append(y)
    design = np.asarray(rows)  # [n, 2k + 1]
    ax = np.linalg.lstsq(design, np.asarray(xs), rcond=None)[0][-1]
    ay = np.linalg.lstsq(design, np.asarray(ys), rcond=None)[0][-1]
    stderr = float(np.sqrt(np.linalg.pinv(design.T @ design)[-1, -1]))
    return float(ay), float(ax), stderr


def restitution(kink: Kink, normal: np.ndarray | None = None) -> tuple[float, float, np.ndarray]:
    """(normal restitution, speed ratio after/before, unit normal) of a bounce.

    The normal is the direction of the velocity change unless given (the ground truth's).
    """
    dv = kink.v_after - kink.v_before
    n = dv / max(np.linalg.norm(dv), 1e-9) if normal is None else normal
    before = float(kink.v_before @ n)
    e = -float(kink.v_after @ n) / before if abs(before) > 1e-6 else np.nan
    speed = float(np.linalg.norm(kink.v_before))
    ratio = float(np.linalg.norm(kink.v_after)) / speed if speed > 1e-6 else np.nan
    return e, ratio, n
