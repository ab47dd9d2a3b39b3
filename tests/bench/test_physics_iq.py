"""Physics-IQ measures and score (bench/physics_iq.py) on small synthetic scenes."""

from __future__ import annotations

import numpy as np
import pytest

from worldsim.bench import physics_iq as piq

T, H, W, K = 32, 64, 64, 5  # frames, height, width, conditioning frames of a case
BACKGROUND = 236  # palette.BACKGROUND's grey
RED = (220, 40, 40)
SIZE = 3  # px, a small ball
ROW = 20


def scene(positions, *, color=RED) -> np.ndarray:
    """uint8 [T, H, W, 3]: a SIZE x SIZE square at (row, col) positions[t] on the background,
    with a static floor strip (the simulator's darker grey) along the bottom."""
    video = np.full((len(positions), H, W, 3), BACKGROUND, np.uint8)  # [T, H, W, 3]
    video[:, 56:, :] = 96
    for t, (row, col) in enumerate(positions):
        video[t, row : row + SIZE, col : col + SIZE] = color
    return video


def path(cols, row=ROW):
    return [(row, c) for c in cols]


def moving_cols(start=4, step=1, stop_after=None):
    """Column per frame: still through the conditioning, then moving `step` px a frame from
    frame K on, still again after `stop_after` steps (if given)."""
    steps = np.clip(np.arange(T) - (K - 1), 0, stop_after)  # [T]
    return [start + step * int(s) for s in steps]


def codec_noise(video, seed=0, amplitude=2) -> np.ndarray:
    """The video with independent +-amplitude grey-level noise on every value."""
    noise = np.random.default_rng(seed).integers(-amplitude, amplitude + 1, video.shape)
    return np.clip(video.astype(int) + noise, 0, 255).astype(np.uint8)


def values(spatial, spatiotemporal, weighted, mse) -> dict[str, float]:
    """A measures() dict written out by hand."""
    return dict(zip(piq.MEASURES, (spatial, spatiotemporal, weighted, mse), strict=True))


TRUTH = scene(path(moving_cols()))  # moves 1 px a frame right, all through the prediction
SECOND_TAKE = codec_noise(TRUTH, seed=1)


def test_motion_masks_mark_moving_pixels_from_frame_one():
    masks = piq.motion_masks(TRUTH)
    assert masks.shape == (T, H, W) and masks.dtype == bool
    assert not masks[0].any()  # no past: frame 0 has no motion
    assert not masks[1:K].any()  # the ball is still through the conditioning
    # frame K: the ball moved from column 4 to 5; its new leading column and the column it
    # left both change, nothing far from it does
    assert masks[K, ROW, 4 + SIZE] and masks[K, ROW, 4]
    assert not masks[K, :, 20:].any() and not masks[K, 40:].any()


def test_motion_masks_match_the_running_average_loop():
    video = codec_noise(scene(path(moving_cols(step=2))), amplitude=40)
    x = video.astype(np.float64)
    background, expected = x[0].copy(), [np.zeros((H, W), bool)]
    for frame in x[1:]:  # Physics-IQ's background update, one frame at a time
        background = (1 - piq.BACKGROUND_RATE) * background + piq.BACKGROUND_RATE * frame
        expected.append(np.abs(frame - background).max(axis=-1) > piq.MOTION_THRESHOLD)
    np.testing.assert_array_equal(piq.motion_masks(video), np.stack(expected))


def test_a_colour_as_dark_as_the_floor_is_seen_moving_on_it():
    # red (luma 94) on the floor (grey 96): a grey-level mask would not see it
    on_floor = scene(path(moving_cols(), row=57))
    assert piq.motion_masks(on_floor)[K:].any(axis=(1, 2)).all()


def test_codec_noise_alone_makes_no_motion_mask():
    still = scene(path([10] * T))
    assert not piq.motion_masks(codec_noise(still, amplitude=2)).any()
    assert not piq.motion_masks(codec_noise(still, amplitude=3)).any()
    # the same noise does not hide a ball that moves
    assert piq.motion_masks(codec_noise(TRUTH, amplitude=3))[K:].any(axis=(1, 2)).all()


def test_identical_clips_reach_the_ceiling():
    m = piq.measures(TRUTH, TRUTH, K)
    assert piq.motion_masks(TRUTH)[K:].any()  # not the empty-mask convention
    assert m["spatial_iou"] == m["spatiotemporal_iou"] == m["weighted_spatial_iou"] == 1.0
    assert m["mse"] == 0.0
    variance = piq.measures(SECOND_TAKE, TRUTH, K)
    assert 0 < variance["mse"] < 1e-3  # the second take is close, but not perfect
    assert piq.score([m], [variance])["physics_iq"] == piq.SCORE_CEILING


def test_frozen_clip_has_no_spatial_overlap_and_scores_low():
    # the ball moves through the conditioning too: its motion there must not count
    truth = scene(path(range(4, 4 + T)))
    frozen = np.concatenate([truth[:K], np.repeat(truth[K - 1 : K], T - K, axis=0)])
    m = piq.measures(frozen, truth, K)
    assert m["spatial_iou"] == 0.0
    assert m["spatiotemporal_iou"] == 0.0 and m["weighted_spatial_iou"] == 0.0
    s = piq.score([m], [piq.measures(codec_noise(truth, seed=1), truth, K)])
    assert s["physics_iq"] < 5.0


def test_late_motion_keeps_spatial_iou_but_loses_spatiotemporal_iou():
    truth = scene(path(moving_cols(stop_after=18)))  # 18 px right, from frame K
    late_cols = [4] * 6 + moving_cols(stop_after=18)[:-6]  # the same 18 px, 6 frames later
    late = scene(path(late_cols))
    m = piq.measures(late, truth, K)
    assert m["spatial_iou"] >= 0.9
    assert m["spatiotemporal_iou"] <= 0.5
    assert m["spatiotemporal_iou"] < m["spatial_iou"] - 0.4


def test_weighted_spatial_iou_sees_how_much_motion():
    # the truth crosses a 12 px track back and forth; the clip crosses it once and stops
    sweep = list(range(4, 16)) + list(range(16, 4, -1))
    truth = scene(path([4] * K + (sweep * 2)[: T - K]))
    once = scene(path([4] * K + list(range(4, 17)) + [16] * (T - K - 13)))
    m = piq.measures(once, truth, K)
    assert m["spatial_iou"] >= 0.85  # the same pixels move ...
    assert m["weighted_spatial_iou"] < m["spatial_iou"] - 0.3  # ... but far less often
    assert piq.measures(truth, truth, K)["weighted_spatial_iou"] == 1.0


def test_motion_elsewhere_scores_below_motion_where_the_truth_moves():
    variance = [piq.measures(SECOND_TAKE, TRUTH, K)]
    right_place = scene(path(moving_cols(step=2)))  # along the truth's row, too fast
    elsewhere = scene(path(moving_cols(), row=40))  # right speed, another row
    near = piq.measures(right_place, TRUTH, K)
    far = piq.measures(elsewhere, TRUTH, K)
    assert far["spatial_iou"] == 0.0 < near["spatial_iou"]
    assert piq.score([far], variance)["physics_iq"] < piq.score([near], variance)["physics_iq"]


def test_truth_without_motion_after_the_conditioning():
    still = scene(path([10] * T))
    same = piq.measures(codec_noise(still), still, K)  # both empty: they agree
    assert same["spatial_iou"] == same["spatiotemporal_iou"] == 1.0
    assert same["weighted_spatial_iou"] == 1.0
    assert piq.measures(TRUTH, still, K)["spatial_iou"] == 0.0  # moving where nothing does


def test_score_averages_cases_before_normalising():
    model = [
        values(0.4, 0.2, 0.3, 0.02),
        values(0.6, 0.4, 0.5, 0.04),
    ]
    variance = [
        values(0.8, 0.6, 0.7, 0.01),
        values(1.0, 0.8, 0.9, 0.01),
    ]
    s = piq.score(model, variance)
    # means: model 0.5, 0.3, 0.4, mse 0.03; variance 0.9, 0.7, 0.8, mse 0.01
    assert s["cases"] == 2
    assert s["normalised"]["spatial_iou"] == pytest.approx(0.5 / 0.9)
    assert s["normalised"]["spatiotemporal_iou"] == pytest.approx(0.3 / 0.7)
    assert s["normalised"]["weighted_spatial_iou"] == pytest.approx(0.4 / 0.8)
    assert s["normalised"]["mse"] == pytest.approx(0.02)
    expected = 100 * ((0.5 / 0.9 + 0.3 / 0.7 + 0.4 / 0.8) / 3 - 0.02)  # 47.47
    assert s["physics_iq"] == pytest.approx(expected)
    # the mean of the per-case scores (46.62) is a different number
    per_case = np.mean([piq.score([m], [v])["physics_iq"] for m, v in zip(model, variance)])
    assert abs(per_case - s["physics_iq"]) > 0.5


def test_score_is_capped_and_survives_a_zero_variance():
    better = values(1.0, 1.0, 1.0, 0.0)
    worse_take = values(0.5, 0.0, 0.5, 0.0)
    s = piq.score([better], [worse_take])
    assert s["normalised"]["spatial_iou"] == 2.0  # better than the second take ...
    assert np.isfinite(s["normalised"]["spatiotemporal_iou"])  # ... and no division by zero
    assert s["physics_iq"] == piq.SCORE_CEILING  # ... capped at 100
    awful = values(0.0, 0.0, 0.0, 0.5)
    assert piq.score([awful], [better])["physics_iq"] == 0.0  # never below 0


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="same shape"):
        piq.measures(TRUTH[:-1], TRUTH, K)
    with pytest.raises(ValueError, match="condition_frames"):
        piq.measures(TRUTH, TRUTH, T)
    with pytest.raises(ValueError, match="cases differ"):
        piq.score([piq.measures(TRUTH, TRUTH, K)], [])


def test_definitions_cover_every_measure():
    assert set(piq.MEASURES) <= set(piq.DEFINITIONS)
    assert set(piq.HIGHER_IS_BETTER) == set(piq.MEASURES)
    assert not piq.HIGHER_IS_BETTER["mse"] and piq.ADAPTATIONS
