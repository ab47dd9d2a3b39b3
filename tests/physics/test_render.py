"""The renderer on hand-built trajectories: pixels sit on the states, edges are anti-aliased,
palette colours land where the geometry says, and visibility counts what is really seen."""

from __future__ import annotations

import numpy as np
import pytest

from worldsim.physics import palette
from worldsim.physics.render import render_frame, render_static, render_video
from worldsim.physics.types import ObjectInfo, RenderConfig, StaticInfo, Trajectory

# 64 x 48 px showing 8 m x 6 m: 8 px per metre; 8 frames.
CONFIG = RenderConfig(width=64, height=48, fps=8, seconds=1.0, view_width_m=8.0)
CAMERA = CONFIG.camera
T = CONFIG.num_frames
RED, BLUE, YELLOW = (palette.dynamic_color(i) for i in range(3))
FLOOR = StaticInfo("floor", "segment", ((-1.0, 0.5), (9.0, 0.5)), 0.2, "concrete",
                   palette.STATIC_COLORS["floor"])
RIM = StaticInfo("rim", "circle", ((6.3, 4.1),), 0.35, "metal", palette.STATIC_COLORS["rim"])


def _ball(name: str, radius: float, color, material: str = "rubber") -> ObjectInfo:
    return ObjectInfo(name, "circle", (radius,), 0.5, material, color)


def _box(name: str, size: tuple[float, float], color, material: str = "wood") -> ObjectInfo:
    return ObjectInfo(name, "box", size, 1.0, material, color)


def _trajectory(objects, positions, angles=None, statics=()) -> Trajectory:
    positions = np.asarray(positions, np.float64)
    if positions.ndim == 2:  # [N, 2]: one static pose for every frame
        positions = np.broadcast_to(positions, (T, *positions.shape)).copy()
    num_frames, n = positions.shape[:2]
    angles = np.zeros((num_frames, n)) if angles is None else np.asarray(angles, np.float64)
    if angles.ndim == 1:
        angles = np.broadcast_to(angles, (num_frames, n)).copy()
    return Trajectory(
        objects=list(objects), statics=list(statics), positions_m=positions,
        velocities_m=np.zeros_like(positions), angles=angles,
        angular_velocities=np.zeros((num_frames, n)), contacts=[], outcome="test",
        is_failure=False, params={}, gravity=9.81,
    )


def _alpha(frame: np.ndarray, color, under) -> np.ndarray:
    """[H, W]: how much of `color` is composited over `under` (a colour or an [H, W, 3] layer)."""
    under = np.asarray(under, np.float64)
    d = np.asarray(color, np.float64) - under  # [..., 3]
    return ((frame.astype(np.float64) - under) * d).sum(-1) / (d * d).sum(-1)


def _weighted_centroid(weight: np.ndarray) -> np.ndarray:
    rows, cols = np.mgrid[: weight.shape[0], : weight.shape[1]]
    return np.array([(weight * cols).sum(), (weight * rows).sum()]) / weight.sum()


def _residual_from_mix(frame: np.ndarray, alpha: np.ndarray, color, under) -> np.ndarray:
    """[H, W]: RGB distance between each pixel and the blend of `color` over `under` at `alpha`."""
    under = np.asarray(under, np.float64)
    mix = under + alpha[..., None] * (np.asarray(color, np.float64) - under)
    return np.linalg.norm(frame.astype(np.float64) - mix, axis=-1)


# --------------------------------------------------------------------------------------------
# Shapes, dtypes, determinism


@pytest.fixture(scope="module")
def falling_ball():
    """A red ball on a parabola with sub-pixel offsets in every frame, no statics."""
    t = np.arange(T) / CONFIG.fps
    xy = np.stack([1.3 + 4.1 * t, 4.6 - 2.5 * t**2], -1)[:, None, :]  # [T, 1, 2]
    return _trajectory([_ball("ball", 0.43, RED)], xy)


def test_outputs_have_documented_shapes_and_dtypes(falling_ball):
    video, vis = render_video(falling_ball, CONFIG)
    assert video.shape == (T, CONFIG.height, CONFIG.width, 3) and video.dtype == np.uint8
    assert vis.shape == (T, 1) and vis.dtype == np.float32


def test_rendering_is_deterministic(falling_ball):
    video_a, vis_a = render_video(falling_ball, CONFIG)
    video_b, vis_b = render_video(falling_ball, CONFIG)
    assert video_a.tobytes() == video_b.tobytes() and vis_a.tobytes() == vis_b.tobytes()
    assert np.array_equal(render_frame(falling_ball, CONFIG, 5), video_a[5])


# --------------------------------------------------------------------------------------------
# Pixels sit on the states


def test_ball_coverage_centroid_follows_its_path_within_a_fifth_of_a_pixel(falling_ball):
    video, vis = render_video(falling_ball, CONFIG)
    expected = CAMERA.to_pixels(falling_ball.positions_m[:, 0])  # [T, 2]
    assert np.all(vis == 1.0)
    errors = []
    for t in range(T):
        centroid = _weighted_centroid(_alpha(video[t], RED, palette.BACKGROUND))
        errors.append(np.hypot(*(centroid - expected[t])))
    assert max(errors) <= 0.2, f"centroid errors {np.round(errors, 3)} px"
    # and it really moves: the ball covers different pixels in the first and last frame
    assert not np.array_equal(video[0], video[-1])


def test_rotated_box_coverage_centroid_is_its_position():
    t = np.arange(T) / CONFIG.fps
    xy = np.stack([3.9 + 0.37 * t, 3.05 - 0.21 * t], -1)[:, None, :]
    angles = (0.2 + 0.9 * t)[:, None]  # up to ~57 degrees
    traj = _trajectory([_box("block", (1.7, 0.9), BLUE)], xy, angles)
    video, vis = render_video(traj, CONFIG)
    assert np.all(vis == 1.0)
    expected = CAMERA.to_pixels(xy[:, 0])
    for frame in range(T):
        alpha = _alpha(video[frame], BLUE, palette.BACKGROUND)
        # the area is the box's area: nothing lost or doubled by the rotation
        assert alpha.sum() == pytest.approx(1.7 * 0.9 * CAMERA.pixels_per_meter**2, rel=0.01)
        error = np.hypot(*(_weighted_centroid(alpha) - expected[frame]))
        assert error <= 0.2, f"frame {frame}: rotated box centroid off by {error:.3f} px"


@pytest.mark.parametrize("angle", [0.5, -0.5, 1.2])
def test_positive_angles_turn_counter_clockwise_on_screen(angle):
    """A thin box's long axis, from second moments of its coverage, points at -angle in
    y-down pixel coordinates (counter-clockwise as seen), as types.py documents."""
    traj = _trajectory([_box("plank", (3.0, 0.25), YELLOW)], [[4.0, 3.0]], np.full(1, angle))
    video, _ = render_video(traj, CONFIG)
    alpha = _alpha(video[0], YELLOW, palette.BACKGROUND)
    cx, cy = _weighted_centroid(alpha)
    rows, cols = np.mgrid[: alpha.shape[0], : alpha.shape[1]]
    sxx = (alpha * (cols - cx) ** 2).sum()
    syy = (alpha * (rows - cy) ** 2).sum()
    sxy = (alpha * (cols - cx) * (rows - cy)).sum()
    axis = 0.5 * np.arctan2(2 * sxy, sxx - syy)
    assert axis == pytest.approx(-angle, abs=0.03)


# --------------------------------------------------------------------------------------------
# Anti-aliasing and palette colours


def test_edges_are_antialiased_with_a_one_pixel_ramp():
    centre_m = np.array([3.13, 2.71])
    radius_px = 0.61 * CAMERA.pixels_per_meter
    traj = _trajectory([_ball("ball", 0.61, RED)], [centre_m])
    frame = render_video(traj, CONFIG)[0][0]
    alpha = _alpha(frame, RED, palette.BACKGROUND)
    partial = (alpha > 0.05) & (alpha < 0.95)
    # intermediate colours all around the rim (circumference ~31 px) ...
    assert partial.sum() >= 0.5 * 2 * np.pi * radius_px
    # ... that are blends of object and background, not some other colour
    assert _residual_from_mix(frame, alpha, RED, palette.BACKGROUND).max() <= 1.5
    # ... following the documented ramp: coverage = clip(0.5 - signed distance, 0, 1)
    rows, cols = np.mgrid[: frame.shape[0], : frame.shape[1]]
    cx, cy = CAMERA.to_pixels(centre_m)
    distance = np.hypot(cols - cx, rows - cy) - radius_px
    assert np.abs(alpha - np.clip(0.5 - distance, 0, 1)).max() <= 0.01
    # and only on a one-pixel band around the true edge
    assert np.abs(distance[partial]).max() <= 0.5


@pytest.fixture(scope="module")
def static_scene():
    """A floor segment, a rim circle, and a red ball resting half into the floor."""
    ball_m = np.array([2.07, 0.52])
    traj = _trajectory([_ball("ball", 0.4, RED)], [ball_m], statics=[FLOOR, RIM])
    return traj, ball_m, render_video(traj, CONFIG)[0][0]


def test_background_and_static_colours_appear_where_expected(static_scene):
    _, _, frame = static_scene
    floor_y = CAMERA.to_pixels(np.array([0.0, 0.5]))[1]  # 43.5
    rim_x, rim_y = CAMERA.to_pixels(np.array(RIM.points[0]))  # (49.9, 14.7)
    # far from everything: exactly the background
    assert tuple(frame[3, 5]) == palette.BACKGROUND
    assert tuple(frame[30, 60]) == palette.BACKGROUND
    # rows whose centres lie >= 0.5 px inside the floor's half-thickness are pure floor
    half = FLOOR.radius * CAMERA.pixels_per_meter
    for row in range(CONFIG.height):
        if abs(row - floor_y) <= half - 0.5:
            assert np.all(frame[row, 40:] == palette.STATIC_COLORS["floor"]), row
        elif abs(row - floor_y) >= half + 0.5:
            assert not np.any(np.all(frame[row, 40:] == palette.STATIC_COLORS["floor"], -1)), row
    # the rim: its centre pixel is the rim colour, its coverage centroid is its centre
    assert tuple(frame[int(round(rim_y)), int(round(rim_x))]) == palette.STATIC_COLORS["rim"]
    window = (slice(5, 25), slice(40, 60))
    rim_alpha = _alpha(frame[window], palette.STATIC_COLORS["rim"], palette.BACKGROUND)
    centroid = _weighted_centroid(rim_alpha) + [40, 5]
    assert np.hypot(*(centroid - [rim_x, rim_y])) <= 0.2
    assert rim_alpha.sum() == pytest.approx(np.pi * (RIM.radius * CAMERA.pixels_per_meter) ** 2,
                                            rel=0.02)


def test_dynamic_objects_are_drawn_over_static_geometry(static_scene):
    traj, ball_m, frame = static_scene
    under = render_static(traj.statics, CONFIG)  # background + floor + rim
    bx, by = CAMERA.to_pixels(ball_m)
    assert tuple(frame[int(round(by)), int(round(bx))]) == RED  # over the floor line
    alpha = _alpha(frame, RED, under)
    centroid = _weighted_centroid(alpha)
    assert np.hypot(*(centroid - [bx, by])) <= 0.2
    # edge pixels over the floor blend red with the floor grey, not with the background
    assert _residual_from_mix(frame, alpha, RED, under).max() <= 1.5
    over_floor = (alpha > 0.1) & (alpha < 0.9) & np.all(np.abs(under - FLOOR.color) < 0.5, -1)
    assert over_floor.sum() >= 2


# --------------------------------------------------------------------------------------------
# Visibility


def test_later_objects_hide_earlier_ones():
    # box A: 16 x 16 px, pixel centres x 8..23; box B (later) covers A's columns 16..23
    # by at least half a pixel, so exactly half of A's pixels are hidden.
    objects = [_ball("speck", 0.03, RED), _box("a", (2.0, 2.0), BLUE), _box("b", (2.0, 3.0), YELLOW)]
    # the speck (too thin for any pixel centre) sits at B's centre: hidden
    traj = _trajectory(objects, [[3.0, 3.0], [2.0, 3.0], [3.0, 3.0]])
    video, vis = render_video(traj, CONFIG)
    assert vis[:, 1] == pytest.approx(0.5, abs=1e-6)
    assert np.all(vis[:, 2] == 1.0)
    assert np.all(vis[:, 0] == 0.0)
    # the overlap shows the later object's colour
    assert tuple(video[0, 20, 20]) == YELLOW
    assert tuple(video[0, 20, 10]) == BLUE


def test_touching_and_stacked_boxes_are_both_fully_visible():
    theta = 0.35
    d = np.array([5.2, 4.6])
    e = d + 1.2 * np.array([np.cos(theta), np.sin(theta)])  # shares D's right edge
    objects = [
        _box("d", (1.2, 0.8), RED), _box("e", (1.2, 0.8), BLUE),  # rotated, edge to edge
        _box("f", (1.0, 1.0), YELLOW), _box("g", (1.0, 1.0), RED),  # g rests on f, 1 cm deep
        _box("h", (1.0, 1.0), BLUE), _box("i", (1.0, 1.0), YELLOW),  # side by side, no gap
        _ball("speck", 0.03, RED),  # thin, unhidden
    ]
    positions = [d, e, [6.5, 1.5], [6.5, 2.49], [1.0, 1.5], [2.0, 1.5], [7.5, 0.5]]
    angles = np.array([theta, theta, 0, 0, 0, 0, 0])
    _, vis = render_video(_trajectory(objects, positions, angles), CONFIG)
    assert np.all(vis >= 0.999), vis[0]


def test_objects_partly_off_frame_are_partly_visible():
    objects = [
        _box("c", (2.0, 2.0), RED),  # pixels x -8..7 (0..7 in frame), y 32..47
        _ball("h", 0.4, BLUE),  # over the top edge
        _ball("k", 0.4, YELLOW),  # far outside the frame
    ]
    positions = [[0.0, 1.0], [4.6, 6.1], [-50.0, 3.0]]
    traj = _trajectory(objects, positions)
    video, vis = render_video(traj, CONFIG)
    assert vis[:, 0] == pytest.approx(0.5, abs=1e-6)
    assert np.all((vis[:, 1] > 0.0) & (vis[:, 1] < 1.0))
    assert np.all(vis[:, 2] == 0.0)
    # the far-away object leaves no trace in the frame
    near = _trajectory(objects[:2], positions[:2])
    assert np.array_equal(render_video(near, CONFIG)[0], video)
    # the visible part of the partly-off box is drawn up to the frame edge
    top = int(np.ceil(CAMERA.to_pixels(np.array([0.0, 2.0]))[1]))  # 31.5 -> row 32
    assert np.all(video[0, top : top + 10, 0:7] == RED)
