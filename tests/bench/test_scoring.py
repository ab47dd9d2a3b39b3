"""End to end on arrays: clips that must not earn credit, and clips that are odd but valid."""

from __future__ import annotations

import numpy as np
import pytest

from worldsim.bench import calibrate
from worldsim.bench.cases import truth_clip
from worldsim.bench.scoring import score_arrays


@pytest.fixture(scope="module")
def moving_case(cases):
    """A case whose ball flies and bounces after the conditioning, with sound."""
    for case in cases:
        r = score_arrays(case, *(lambda c: (c.video, c.fps, c.audio))(truth_clip(case)))
        if (
            r.metrics.get("gravity_error") is not None
            and r.metrics.get("contact_miss_rate") is not None
        ):
            return case, r
    pytest.fail("no case with free flight and a visible contact")


def test_the_truth_scores_at_the_ceiling_on_arrays(moving_case):
    _, truth = moving_case
    assert truth.score > 97 and truth.metrics["kink_precision"] == 1.0


def test_a_frozen_ball_that_jitters_earns_no_contact_or_gravity_credit(moving_case):
    case, truth = moving_case
    video, audio = calibrate.baseline(case, "freeze")
    k = case.condition_frames
    rng = np.random.default_rng(0)
    for t in range(k, case.num_frames):  # shake the frozen frame by a pixel, every frame
        video[t] = np.roll(video[k - 1], tuple(rng.integers(-1, 2, size=2)), axis=(0, 1))
    r = score_arrays(case, video, case.fps, audio)
    assert r.metrics["gravity_error"] >= 0.9  # measured on the truth's flight, not skipped
    print(
        {k: r.metrics[k] for k in ("kink_precision", "contact_miss_rate", "contact_timing_ms")},
        r.groups,
    )
    assert r.groups["contacts"] < 50 and r.groups["gravity"] < 20
    assert r.score < truth.score - 30


def test_constant_clicks_earn_no_sound_credit(moving_case):
    case, truth = moving_case
    clip = truth_clip(case)
    audio = clip.audio.copy()
    audio[:: case.sample_rate // 100] += 0.5  # a click every 10 ms
    r = score_arrays(case, clip.video, case.fps, audio)
    assert r.metrics["onset_precision"] < 0.2
    assert r.groups["sound"] < 30 < truth.groups["sound"]


def test_a_clip_of_background_only_scores_near_zero(moving_case):
    case, _ = moving_case
    clip = truth_clip(case)
    video = np.broadcast_to(clip.video[0, :1, :1], clip.video.shape).copy()  # the corner's grey
    r = score_arrays(case, video, case.fps, np.zeros_like(clip.audio))
    assert r.metrics["tracked_share"] == 0.0 and r.score < 10


def test_an_empty_or_odd_clip_is_a_clear_error_and_short_audio_is_padded(moving_case):
    case, _ = moving_case
    clip = truth_clip(case)
    with pytest.raises(ValueError, match="T > 0"):
        score_arrays(case, clip.video[:0], case.fps, clip.audio)
    r = score_arrays(case, clip.video[:20], case.fps, clip.audio[:100])  # short clip, no sound
    assert r.metrics["vanish_rate"] > 0.3 and r.groups["sound"] == 0.0
