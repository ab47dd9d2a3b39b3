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


def test_an_empty_or_odd_clip_is_a_clear_error_and_a_short_one_is_scored_on_its_overlap(
    moving_case,
):
    case, truth = moving_case
    clip = truth_clip(case)
    with pytest.raises(ValueError, match="T > 0"):
        score_arrays(case, clip.video[:0], case.fps, clip.audio)
    with pytest.raises(ValueError, match="no longer than the 5 conditioning frames"):
        score_arrays(case, clip.video[:5], case.fps, clip.audio)
    per_frame = case.sample_rate // case.fps
    r = score_arrays(case, clip.video[:20], case.fps, clip.audio[: 20 * per_frame])
    assert r.judged_frames == 20 and r.flags[0].startswith("short: covers 20 of the case's 32")
    held = clip.video.copy()
    held[20:] = clip.video[19]  # what a short clip is scored as: its last frame held
    audio = np.pad(clip.audio[: 20 * per_frame], (0, 12 * per_frame))
    assert r.score == pytest.approx(score_arrays(case, held, case.fps, audio).score)
    r = score_arrays(case, clip.video[:20], case.fps, clip.audio[:100])  # and no sound
    assert any(f.startswith("audio short") for f in r.flags) and r.groups["sound"] == 0.0


def test_a_longer_clip_is_judged_on_the_cases_length_and_flagged(moving_case):
    case, truth = moving_case
    clip = truth_clip(case)
    video = np.concatenate([clip.video, clip.video[-8:]])
    audio = np.concatenate([clip.audio, clip.audio[-8 * (case.sample_rate // case.fps) :]])
    r = score_arrays(case, video, case.fps, audio)
    assert r.flags == ["long: 0.50 s past the case's end, not judged"]
    assert r.score == pytest.approx(truth.score)


@pytest.fixture(scope="module")
def still_case(cases):
    """A case in which nothing moves or sounds after the conditioning (a box that stays)."""
    for case in cases:
        late = [c for c in case.contacts if c["time_s"] >= case.condition_seconds]
        if not calibrate.moves(case) and not late:
            return case
    pytest.fail("no still, silent case in the export")


@pytest.mark.parametrize("cut", ["noise_to_silence", "silence_to_noise"])
def test_a_cut_between_room_tone_and_digital_silence_is_not_an_impact(still_case, cut):
    """The clip is the still truth's, except that its sound steps between room tone and
    digital silence at the end of the conditioning: it scores as the truth does."""
    case = still_case
    clip = truth_clip(case)
    k = int(round(case.condition_seconds * case.sample_rate))
    audio = clip.audio.copy()
    if cut == "noise_to_silence":
        audio[k:] = 0.0
    else:
        audio[:k] = 0.0
    truth = score_arrays(case, clip.video, case.fps, clip.audio)
    r = score_arrays(case, clip.video, case.fps, audio)
    assert truth.score >= 97
    assert r.metrics["onset_precision"] == 1.0 and r.groups["sound"] == truth.groups["sound"]
    assert r.score == pytest.approx(truth.score, abs=0.5)


def test_freezing_a_still_scene_scores_as_the_truth_on_arrays(still_case):
    video, audio = calibrate.baseline(still_case, "freeze")
    clip = truth_clip(still_case)
    truth = score_arrays(still_case, clip.video, still_case.fps, clip.audio)
    assert score_arrays(still_case, video, still_case.fps, audio).score >= truth.score - 1.0
