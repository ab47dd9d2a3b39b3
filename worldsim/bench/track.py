"""Objects from pixels: per-frame position, size, presence and blob counts, by palette colour.

The documented palette (worldsim/physics/palette.py) puts every dynamic object in its own
saturated colour over achromatic greys (background and static geometry). So a pixel's
*chroma* (its colour minus its own grey level) says how much of an object covers it,
whatever grey lies behind: an anti-aliased edge pixel blended as a*c + (1-a)*g has
chroma a * (c - mean(c)). Projecting each pixel's chroma on an object colour's chroma
gives that coverage a, and the coverage-weighted centroid and mass of a connected blob
give the object's position (sub-pixel) and area (px^2). Both are linear in the pixels,
so they survive area resampling to another resolution; H.264's halved chroma resolution
blurs the coverage but keeps its mass and (to a small fraction of a pixel) its centre.

Pixels whose chroma points elsewhere (another object's hue; cosine below CHROMA_COS)
count for nothing, so touching objects of different colours stay apart.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import scipy.ndimage

from worldsim.physics import palette
from worldsim.physics.render import box_sdf, coverage

CHROMA_COS = 0.85  # a pixel belongs to a colour only if its chroma points within ~32 deg of it
ALPHA_FLOOR = 0.1  # coverage below this is compression noise, not an object
PRESENT_SHARE = 0.25  # a blob is the object if it holds this share of its true area
SQUARE_ASPECT = 1.15  # boxes closer to square than this: angle known only modulo 90 deg
TILT_GAIN = 1.05  # a box is tilted only if its best angle fits this much better than upright
_IN_PLANE = np.zeros((3, 3, 3), bool)
_IN_PLANE[1] = True  # 8-connected within a frame, never across frames


@dataclasses.dataclass
class Tracks:
    """What the tracker recovered from one clip (pixel units of the frames given)."""

    xy: np.ndarray  # [T, N, 2] coverage-weighted centroid; nan where absent
    area: np.ndarray  # [T, N] coverage mass of the object's blob, px^2; 0 where absent
    present: np.ndarray  # [T, N] bool
    blobs: np.ndarray  # [T, N] blobs of the object's colour large enough to be it
    extra_blobs: np.ndarray  # [T] blobs in palette colours that no object of the case has
    final_angle: np.ndarray  # [N] boxes: orientation in the last frame (rad); nan otherwise


def colour_coverage(frames: np.ndarray, color) -> np.ndarray:
    """float32 [T, H, W] in [0, 1]: how much of each pixel `color` covers (see module doc)."""
    f = np.asarray(frames, np.float32)
    chroma = f - f.mean(axis=-1, keepdims=True)  # [T, H, W, 3]
    c = np.asarray(color, np.float32)
    cc = c - c.mean()  # [3]
    proj = chroma @ cc / float(cc @ cc)  # [T, H, W]
    norm = np.linalg.norm(chroma, axis=-1) * float(np.linalg.norm(cc)) + 1e-6
    cos = chroma @ cc / norm
    return np.where((cos > CHROMA_COS) & (proj > ALPHA_FLOOR), np.minimum(proj, 1.0), 0.0)


@dataclasses.dataclass
class _Blobs:
    """Connected blobs of one colour over all frames."""

    labels: np.ndarray  # [T, H, W] int, 0 = none
    frame: np.ndarray  # [K] frame of each blob
    mass: np.ndarray  # [K]
    centre: np.ndarray  # [K, 2] (x, y)


def _blobs(alpha: np.ndarray) -> _Blobs:
    labels, count = scipy.ndimage.label(alpha > 0, structure=_IN_PLANE)
    if count == 0:
        return _Blobs(labels, np.zeros(0, int), np.zeros(0), np.zeros((0, 2)))
    index = np.arange(1, count + 1)
    mass = np.asarray(scipy.ndimage.sum_labels(alpha, labels, index))
    tyx = np.asarray(scipy.ndimage.center_of_mass(alpha, labels, index))  # [K, 3]
    frame = np.asarray([s[0].start for s in scipy.ndimage.find_objects(labels)])
    return _Blobs(labels, frame, mass, tyx[:, [2, 1]])


def box_angle(alpha: np.ndarray, centre: np.ndarray, size_px: tuple[float, float]) -> float:
    """Orientation (rad, counter-clockwise on screen) of a w x h box whose coverage is `alpha`.

    Template search: the rendered coverage of the box at `centre` for every whole degree,
    both it and `alpha` [H, W] smoothed over 2x2 pixels (H.264 keeps colour at half
    resolution), scored by their overlap. A rectangle is the same turned by 180 deg, so the
    answer is in [-90, 90) deg; a near-square box only modulo 90 deg ([-45, 45)). Small
    boxes fit many angles almost equally well: unless the best angle beats upright by
    TILT_GAIN, the box is reported upright (0).
    """
    w, h = size_px
    half = int(np.ceil(np.hypot(w, h) / 2)) + 3
    cx, cy = (int(round(v)) for v in centre)
    height, width = alpha.shape
    rows = np.arange(max(cy - half, 0), min(cy + half + 1, height))
    cols = np.arange(max(cx - half, 0), min(cx + half + 1, width))
    patch = scipy.ndimage.uniform_filter(alpha[np.ix_(rows, cols)], size=2)  # [Kr, Kc]
    degrees = np.arange(-90, 90)  # [A]
    thetas = np.deg2rad(degrees.astype(np.float64))
    gx = cols[None, None, :].astype(np.float64)
    gy = rows[None, :, None].astype(np.float64)
    templates = coverage(
        box_sdf(gx, gy, centre[0], centre[1], thetas[:, None, None], w / 2, h / 2)
    )  # [A, Kr, Kc]
    templates = scipy.ndimage.uniform_filter(templates, size=(1, 2, 2))
    score = (templates * patch[None]).sum(axis=(1, 2))  # [A]
    square = max(w, h) / min(w, h) < SQUARE_ASPECT
    upright = score[degrees == 0][0]
    if square:
        upright = max(upright, score[degrees == -90][0])
    best = int(np.argmax(score))
    if score[best] < TILT_GAIN * upright:
        return 0.0
    theta = float(thetas[best])
    if square:
        theta = (theta + np.pi / 4) % (np.pi / 2) - np.pi / 4
    return theta


def track(frames: np.ndarray, objects: list[dict]) -> Tracks:
    """Track the case's objects (dicts with `color`, `area_px`, `shape`, `size_px`) in
    uint8 frames [T, H, W, 3] at the case's resolution."""
    frames = np.asarray(frames)
    t_len, n = frames.shape[0], len(objects)
    xy = np.full((t_len, n, 2), np.nan)
    area = np.zeros((t_len, n))
    blobs = np.zeros((t_len, n), int)
    final_angle = np.full(n, np.nan)
    for i, obj in enumerate(objects):
        alpha = colour_coverage(frames, obj["color"])
        b = _blobs(alpha)
        big = b.mass >= PRESENT_SHARE * obj["area_px"]
        np.add.at(blobs[:, i], b.frame[big], 1)
        for k in np.flatnonzero(big):  # keep the heaviest blob of each frame
            t = b.frame[k]
            if b.mass[k] > area[t, i]:
                area[t, i], xy[t, i] = b.mass[k], b.centre[k]
        last = t_len - 1
        if obj["shape"] == "box" and area[last, i] > 0:
            k = np.flatnonzero(big & (b.frame == last))
            k = k[np.argmax(b.mass[k])]
            own = np.where(b.labels[last] == k + 1, alpha[last], 0.0)
            final_angle[i] = box_angle(own, xy[last, i], tuple(obj["size_px"]))
    used = {tuple(o["color"]) for o in objects}
    min_area = min((o["area_px"] for o in objects), default=4.0)
    extra = np.zeros(t_len, int)
    for _, rgb, _ in palette.DYNAMIC_COLORS:
        if tuple(rgb) in used:
            continue
        b = _blobs(colour_coverage(frames, rgb))
        np.add.at(extra, b.frame[b.mass >= PRESENT_SHARE * min_area], 1)
    return Tracks(xy, area, area > 0, blobs, extra, final_angle)


def resample_tracks(tracks: Tracks, fps: float, num_frames: int, target_fps: float) -> Tracks:
    """Tracks of a clip at `fps` -> `num_frames` frames at `target_fps` (frame k at k / fps).

    Positions are interpolated linearly between the two nearest frames where both show
    the object (else the nearest one that does); presence, areas and blob counts are the
    nearest frame's. Target frames past the clip's end are empty: a short clip shows
    nothing there.
    """
    u = np.arange(num_frames) * (fps / target_fps)  # [K] source frame positions
    src = len(tracks.xy)
    inside = u <= src - 1 + 0.5
    nearest = np.clip(np.rint(u).astype(int), 0, src - 1)
    lo = np.clip(np.floor(u).astype(int), 0, src - 1)
    hi = np.clip(lo + 1, 0, src - 1)
    w = np.clip(u - lo, 0.0, 1.0)[:, None, None]
    both = (tracks.present[lo] & tracks.present[hi])[..., None]
    blend = (1 - w) * tracks.xy[lo] + w * tracks.xy[hi]
    xy = np.where(both, blend, tracks.xy[nearest])  # [K, N, 2]
    present = tracks.present[nearest] & inside[:, None]
    xy = np.where(present[..., None], xy, np.nan)
    return Tracks(
        xy=xy,
        area=np.where(present, tracks.area[nearest], 0.0),
        present=present,
        blobs=np.where(inside[:, None], tracks.blobs[nearest], 0),
        extra_blobs=np.where(inside, tracks.extra_blobs[nearest], 0),
        final_angle=tracks.final_angle,
    )


def tracks_from_states(states: np.ndarray, visibility: np.ndarray, objects: list[dict]) -> Tracks:
    """Exact 'tracks' from ground-truth states (what a perfect tracker would return)."""
    present = np.asarray(visibility) >= 0.5
    xy = np.where(present[..., None], np.asarray(states)[..., :2], np.nan)
    area = present * np.asarray([o["area_px"] for o in objects])[None, :]
    angles = np.asarray(states)[-1, :, 4]
    final = np.where([o["shape"] == "box" for o in objects], angles, np.nan)
    return Tracks(xy, area, present, present.astype(int), np.zeros(len(states), int), final)
