"""A whole clip from the physics world: sound on the frame, pixels on the states, same bytes."""

from __future__ import annotations

import numpy as np
import pytest

from worldsim.media.onsets import detect_onsets, match_onsets
from worldsim.physics.clip import make_clip
from worldsim.physics.families import FAMILIES
from worldsim.physics.palette import color_centroid
from worldsim.physics.types import RenderConfig

SEEDS = (0, 1, 2)


@pytest.fixture(scope="module")
def clips():
    return {
        (family, seed, ood): make_clip(family, seed, out_of_range=ood)
        for family in FAMILIES
        for seed in SEEDS
        for ood in (False, True)
    }


def test_clip_shapes_follow_the_config(clips):
    config = RenderConfig()
    for clip in clips.values():
        assert clip.video.shape == (config.num_frames, config.height, config.width, 3)
        assert clip.video.dtype == np.uint8
        assert clip.audio.shape == (config.num_samples,) and clip.audio.dtype == np.float32
        assert np.abs(clip.audio).max() <= 1.0
        assert clip.states.shape == (config.num_frames, len(clip.objects), 6)
        assert clip.visibility.shape == (config.num_frames, len(clip.objects))
        assert clip.caption


def test_same_seed_gives_identical_bytes():
    a, b = make_clip("hoop", 7), make_clip("hoop", 7)
    assert a.video.tobytes() == b.video.tobytes()
    assert a.audio.tobytes() == b.audio.tobytes()
    assert a.states.tobytes() == b.states.tobytes()
    assert (a.caption, a.outcome, a.contacts) == (b.caption, b.outcome, b.contacts)
    assert make_clip("hoop", 8).video.tobytes() != a.video.tobytes()


def test_every_contact_is_heard_within_one_millisecond(clips):
    offsets = []
    for clip in clips.values():
        onsets = detect_onsets(clip.audio, clip.sample_rate)
        times = np.asarray([c.time_s for c in clip.contacts])
        if times.size:
            offsets.append(match_onsets(times, onsets))
    offsets = np.abs(np.concatenate(offsets))
    assert offsets.size > 20, "the clips should contain contacts"
    assert offsets.max() <= 1e-3 + 1e-9, f"worst onset offset {offsets.max() * 1e3:.2f} ms"


def test_pixels_agree_with_states(clips):
    errors = []
    for clip in clips.values():
        for n, obj in enumerate(clip.objects):
            for t in np.nonzero(clip.visibility[:, n] >= 0.999)[0]:
                centroid = color_centroid(clip.video[t], obj.color)
                assert centroid is not None, (clip.family, obj.name, t)
                errors.append(np.hypot(*(np.asarray(centroid) - clip.states[t, n, :2])))
    errors = np.asarray(errors)
    assert errors.size > 500
    assert errors.max() <= 1.5, f"worst centroid error {errors.max():.2f} px"


def test_out_of_range_clips_are_tagged(clips):
    tags = {clip.split_tag for (_, _, ood), clip in clips.items() if ood}
    assert tags == {"out_of_range"}
    assert {clip.split_tag for (_, _, ood), clip in clips.items() if not ood} == {"in_range"}
