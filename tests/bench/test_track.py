"""The palette tracker and the resampling of tracks in time."""

from __future__ import annotations

import numpy as np

from worldsim.bench import track as track_lib
from worldsim.physics import palette
from worldsim.physics.clip import make_clip


def _objects(clip):
    ppm = clip.scene_params["pixels_per_meter"]
    out = []
    for o in clip.objects:
        size = [s * ppm for s in o.size]
        area = np.pi * size[0] ** 2 if o.shape == "circle" else size[0] * size[1]
        out.append({"color": list(o.color), "shape": o.shape, "size_px": size, "area_px": area})
    return out


def test_coverage_of_a_colour_blend_is_its_share_over_any_grey():
    red = np.asarray(palette.DYNAMIC_COLORS[0][1], np.float32)
    for grey in (236.0, 128.0, 48.0):
        for a in (0.25, 0.5, 1.0):
            pixel = a * red + (1 - a) * grey
            frame = np.round(pixel)[None, None, None].astype(np.uint8)  # [1, 1, 1, 3]
            got = track_lib.colour_coverage(frame, red)[0, 0, 0]
            assert abs(got - a) < 0.02, (grey, a, got)
    blue = np.asarray(palette.DYNAMIC_COLORS[1][1], np.uint8)[None, None, None]
    assert track_lib.colour_coverage(blue, red)[0, 0, 0] == 0.0  # another hue is not red


def test_tracked_centres_and_areas_match_the_states_on_renders():
    errors, areas = [], []
    for family in ("throw", "collide", "tower"):
        clip = make_clip(family, 4)
        objects = _objects(clip)
        tracks = track_lib.track(clip.video, objects)
        seen = clip.visibility >= 0.999
        assert tracks.present[seen].all()
        errors.append(np.linalg.norm(tracks.xy - clip.states[..., :2], axis=-1)[seen])
        areas.append((tracks.area / np.asarray([o["area_px"] for o in objects]))[seen])
    errors, areas = np.concatenate(errors), np.concatenate(areas)
    print(f"centroid error median {np.median(errors):.3f} px, max {errors.max():.3f}")
    assert np.median(errors) < 0.1 and errors.max() < 1.0
    assert 0.95 < np.median(areas) < 1.05


def test_an_object_missing_from_frames_is_absent_and_an_extra_colour_is_counted():
    clip = make_clip("bounce", 2)
    video = clip.video.copy()
    video[10:14] = clip.video[0, 0, 0]  # blank frames (background colour)
    video[20, 2:6, 2:6] = palette.DYNAMIC_COLORS[3][1]  # a magenta blob nobody owns
    tracks = track_lib.track(video, _objects(clip))
    assert not tracks.present[10:14, 0].any() and tracks.present[:10, 0].all()
    assert tracks.extra_blobs[20] == 1 and tracks.extra_blobs[:20].sum() == 0


def test_box_angle_recovers_a_tilt_and_calls_an_upright_box_upright():
    from worldsim.physics.render import box_sdf, coverage

    y, x = np.mgrid[0:40, 0:40].astype(np.float64)
    for angle in (0.0, 0.4, -0.6):
        alpha = coverage(box_sdf(x, y, 20.3, 19.7, angle, 8.0, 4.0))
        got = track_lib.box_angle(alpha, np.array([20.3, 19.7]), (16.0, 8.0))
        assert abs(got - angle) <= np.deg2rad(1.5), (angle, got)


def test_resampling_from_twice_the_frame_rate_takes_every_other_frame():
    t = np.arange(32)
    xy = np.stack([t * 1.0, t**2 / 10.0], -1)[:, None, :]  # [T, 1, 2]
    present = np.ones((32, 1), bool)
    tracks = track_lib.Tracks(
        xy, present * 5.0, present, present.astype(int), np.zeros(32, int), np.full(1, np.nan)
    )
    half = track_lib.resample_tracks(tracks, 32, 16, 16)
    np.testing.assert_array_equal(half.xy[:, 0], xy[::2, 0])
    up = track_lib.resample_tracks(tracks, 16, 80, 32)  # 2.5 s asked of a 2 s clip
    np.testing.assert_allclose(up.xy[1:3, 0, 0], [0.5, 1.0])  # halfway between frames
    assert up.present[:64].all() and not up.present[64:].any()
