"""Trajectory -> side-view video frames and per-object visibility.

Every shape is drawn from its analytic signed distance (in pixels, negative inside): a pixel
whose centre lies at distance d from the edge gets coverage clip(0.5 - d, 0, 1), i.e. a
one-pixel linear ramp across the edge, and layers are alpha-composited in drawing order.
This is the "distance-field" anti-aliasing of Green (2007, "Improved alpha-tested
magnification for vector textures"): cheap, vectorised, and symmetric about the true edge,
so the coverage-weighted centroid of a circle or a box equals its stored position to a
small fraction of a pixel. The benchmark's tracker relies on that: it compares object
centroids recovered from pixels with `Clip.states`.

Drawing order (see palette.py): background, static geometry (capsule segments, circles),
then dynamic objects n = 0..N-1, later over earlier. Only dynamic objects can hide each
other; `visibility` records how much of each one is seen.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from worldsim.physics import palette
from worldsim.physics.types import Camera, RenderConfig, StaticInfo, Trajectory

# A pixel counts as hidden by a later object only if its centre lies this far inside it:
# resting contacts in the simulator interpenetrate by a hair, which must not read as
# occlusion (stacked blocks are fully visible).
OCCLUSION_MARGIN_PX = 0.25


@dataclasses.dataclass(frozen=True)
class _Shape:
    """One dynamic object in pixel units over all frames."""

    kind: str  # "circle" | "box"
    half_size: tuple[float, ...]  # (radius,) or (half_width, half_height), px
    centre: np.ndarray  # [T, 2] pixel coordinates
    angle: np.ndarray  # [T] radians, counter-clockwise on screen

    @property
    def extent(self) -> float:
        """Radius of a disc around the centre that contains the shape, px."""
        return float(np.hypot(*self.half_size)) if self.kind == "box" else self.half_size[0]


def _circle_sdf(x: np.ndarray, y: np.ndarray, cx, cy, r: float) -> np.ndarray:
    return np.hypot(x - cx, y - cy) - r


def box_sdf(x, y, cx, cy, angle, hw: float, hh: float) -> np.ndarray:
    """Exact signed distance to a box rotated counter-clockwise *on screen* (y points down).

    Screen-CCW by `angle` in y-down coordinates maps box-local (u, v) to
    (u cos + v sin, -u sin + v cos); the inverse below brings pixels into the box frame.
    """
    dx, dy = x - cx, y - cy
    c, s = np.cos(angle), np.sin(angle)
    qu = np.abs(dx * c - dy * s) - hw
    qv = np.abs(dx * s + dy * c) - hh
    outside = np.hypot(np.maximum(qu, 0.0), np.maximum(qv, 0.0))
    inside = np.minimum(np.maximum(qu, qv), 0.0)
    return outside + inside


def _segment_sdf(x, y, a: np.ndarray, b: np.ndarray, r: float) -> np.ndarray:
    """Capsule: distance to the segment a-b minus its half-thickness."""
    ab = b - a
    denom = float(ab @ ab)
    px, py = x - a[0], y - a[1]
    h = np.clip((px * ab[0] + py * ab[1]) / denom, 0.0, 1.0) if denom > 0 else 0.0
    return np.hypot(px - h * ab[0], py - h * ab[1]) - r


def _shape_sdf(shape: _Shape, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Signed distance of `shape` at points x, y broadcastable to [T, ...]."""
    extra = (1,) * (np.broadcast(x, y).ndim - 1)
    cx = shape.centre[:, 0].reshape(-1, *extra)  # [T, 1, ...]
    cy = shape.centre[:, 1].reshape(-1, *extra)
    if shape.kind == "circle":
        return _circle_sdf(x, y, cx, cy, shape.half_size[0])
    angle = shape.angle.reshape(-1, *extra)
    return box_sdf(x, y, cx, cy, angle, *shape.half_size)


def _static_sdf(static: StaticInfo, camera: Camera, x, y) -> np.ndarray:
    pts = camera.to_pixels(np.asarray(static.points, np.float64))  # [P, 2]
    r = static.radius * camera.pixels_per_meter
    if static.kind == "circle":
        return _circle_sdf(x, y, pts[0, 0], pts[0, 1], r)
    if static.kind == "segment":
        return _segment_sdf(x, y, pts[0], pts[1], r)
    raise ValueError(f"unknown static kind {static.kind!r} for {static.name!r}")


def _dynamic_shapes(traj: Trajectory, camera: Camera) -> list[_Shape]:
    ppm = camera.pixels_per_meter
    centres = camera.to_pixels(traj.positions_m)  # [T, N, 2]
    angles = np.asarray(traj.angles, np.float64)  # [T, N]
    shapes = []
    for n, obj in enumerate(traj.objects):
        if obj.shape == "circle":
            half = (obj.size[0] * ppm,)
        elif obj.shape == "box":
            half = (obj.size[0] * ppm / 2, obj.size[1] * ppm / 2)
        else:
            raise ValueError(f"unknown shape {obj.shape!r} for object {obj.name!r}")
        shapes.append(_Shape(obj.shape, half, centres[:, n], angles[:, n]))
    return shapes


def coverage(sdf: np.ndarray) -> np.ndarray:
    """Anti-aliased coverage of a pixel whose centre is `sdf` px from the edge (< 0 inside)."""
    return np.clip(0.5 - sdf, 0.0, 1.0)


def _over(canvas: np.ndarray, alpha: np.ndarray, color: tuple[int, int, int]) -> None:
    """In place: canvas [..., H, W, 3] <- color over canvas with alpha [..., H, W]."""
    a = alpha[..., None].astype(np.float32)
    canvas += a * (np.asarray(color, np.float32) - canvas)


def render_static(statics: list[StaticInfo], config: RenderConfig) -> np.ndarray:
    """Background + static geometry as float32 [H, W, 3] (0..255): drawn once per clip."""
    canvas = np.empty((config.height, config.width, 3), np.float32)
    canvas[:] = palette.BACKGROUND
    x = np.arange(config.width, dtype=np.float64)[None, :]  # [1, W]
    y = np.arange(config.height, dtype=np.float64)[:, None]  # [H, 1]
    for static in statics:
        _over(canvas, coverage(_static_sdf(static, config.camera, x, y)), static.color)
    return canvas


def _local_grid(shape: _Shape, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Integer pixel centres within k px of the object's centre, per frame (may be off frame).

    Returns gx [T, 1, 2k+1] and gy [T, 2k+1, 1] in pixel coordinates (float).
    """
    offsets = np.arange(-k, k + 1, dtype=np.float64)  # [K]
    base = np.floor(shape.centre)  # [T, 2]
    gx = base[:, 0, None, None] + offsets[None, None, :]  # [T, 1, K]
    gy = base[:, 1, None, None] + offsets[None, :, None]  # [T, K, 1]
    return gx, gy


def render_frames(traj: Trajectory, config: RenderConfig) -> np.ndarray:
    """Video uint8 [T, H, W, 3]: static layer, then dynamic objects in order.

    Each object is evaluated only on a window around it: the canvas is padded by the largest
    window so windows never need clipping, and cropped at the end.
    """
    h, w = config.height, config.width
    shapes = _dynamic_shapes(traj, config.camera)
    num_frames = traj.positions_m.shape[0]
    ks = [int(np.ceil(shape.extent)) + 2 for shape in shapes]
    pad = max(ks, default=0)
    background = np.pad(render_static(traj.statics, config), ((pad, pad), (pad, pad), (0, 0)))
    video = np.broadcast_to(background, (num_frames, *background.shape)).copy()  # [T, H', W', 3]
    for shape, obj, k in zip(shapes, traj.objects, ks):
        size = 2 * k + 1
        gx, gy = _local_grid(shape, k)
        # Windows of objects far off frame are clamped inside the padding (drawn, then cropped).
        c0 = np.clip(gx[:, 0, 0] + pad, 0, w + 2 * pad - size).astype(np.intp)  # [T]
        r0 = np.clip(gy[:, 0, 0] + pad, 0, h + 2 * pad - size).astype(np.intp)  # [T]
        gx = (c0 - pad)[:, None, None] + np.arange(size)[None, None, :]  # [T, 1, K]
        gy = (r0 - pad)[:, None, None] + np.arange(size)[None, :, None]  # [T, K, 1]
        alpha = coverage(_shape_sdf(shape, gx.astype(np.float64), gy.astype(np.float64)))
        for t in range(num_frames):  # [K, K, 3] slices: cheaper than fancy indexing
            _over(video[t, r0[t] : r0[t] + size, c0[t] : c0[t] + size], alpha[t], obj.color)
    video = video[:, pad : pad + h, pad : pad + w]  # [T, H, W, 3]
    # Composites of colours in 0..255 stay in 0..255: round half up without a clip pass.
    video += 0.5
    return video.astype(np.uint8)


def render_frame(traj: Trajectory, config: RenderConfig, t: int) -> np.ndarray:
    """One frame uint8 [H, W, 3] (for notebooks and debugging)."""
    one = dataclasses.replace(
        traj,
        positions_m=traj.positions_m[t : t + 1],
        velocities_m=traj.velocities_m[t : t + 1],
        angles=traj.angles[t : t + 1],
        angular_velocities=traj.angular_velocities[t : t + 1],
    )
    return render_frames(one, config)[0]


def compute_visibility(
    traj: Trajectory, config: RenderConfig, margin_px: float = OCCLUSION_MARGIN_PX
) -> np.ndarray:
    """float32 [T, N]: share of each object's pixels that are in frame and not hidden.

    An object's pixels are the integer pixel centres strictly inside it (coverage > 0.5),
    enumerated on a local grid around the object, so parts outside the frame still count in
    the denominator. A pixel is hidden if its centre lies more than `margin_px` inside a
    later-drawn dynamic object. An object too thin to contain any pixel centre is judged by
    its centre point.
    """
    shapes = _dynamic_shapes(traj, config.camera)
    num_frames = traj.positions_m.shape[0]
    vis = np.ones((num_frames, len(shapes)), np.float32)
    for n, shape in enumerate(shapes):
        gx, gy = _local_grid(shape, int(np.ceil(shape.extent)) + 1)  # [T, 1, K], [T, K, 1]
        inside = _shape_sdf(shape, gx, gy) < 0.0  # [T, K, K]
        seen = inside & (gx >= 0) & (gx <= config.width - 1) & (gy >= 0)
        seen &= gy <= config.height - 1
        for later in shapes[n + 1 :]:
            seen &= _shape_sdf(later, gx, gy) >= -margin_px
        total = inside.sum(axis=(1, 2))  # [T]
        ratio = seen.sum(axis=(1, 2)) / np.maximum(total, 1)
        # Sub-pixel objects: fall back to whether the centre itself is seen.
        cx, cy = shape.centre[:, 0, None, None], shape.centre[:, 1, None, None]  # [T, 1, 1]
        centre_seen = (cx >= -0.5) & (cx <= config.width - 0.5) & (cy >= -0.5)
        centre_seen &= cy <= config.height - 0.5
        for later in shapes[n + 1 :]:
            centre_seen &= _shape_sdf(later, cx, cy) >= -margin_px
        vis[:, n] = np.where(total > 0, ratio, centre_seen[:, 0, 0])
    return vis


def render_video(traj: Trajectory, config: RenderConfig) -> tuple[np.ndarray, np.ndarray]:
    """Render a trajectory: video uint8 [T, H, W, 3] and visibility float32 [T, N]."""
    _check(traj)
    return render_frames(traj, config), compute_visibility(traj, config)


def _check(traj: Trajectory) -> None:
    t, n = traj.positions_m.shape[:2]
    if traj.positions_m.shape != (t, n, 2) or np.shape(traj.angles) != (t, n):
        raise ValueError(
            f"positions_m must be [T, N, 2] and angles [T, N]; got {traj.positions_m.shape}, "
            f"{np.shape(traj.angles)}"
        )
    if n != len(traj.objects):
        raise ValueError(f"trajectory has {n} objects in its states but {len(traj.objects)} infos")


__all__ = [
    "box_sdf",
    "compute_visibility",
    "coverage",
    "render_frame",
    "render_frames",
    "render_static",
    "render_video",
]
