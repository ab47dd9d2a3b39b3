"""The onset detector on synthesized impacts: every contact within a millisecond on the stored
audio (close pairs, a quiet hit in a loud metal ring), within a video frame after a low-pass,
and nothing in room tone alone."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal

from worldsim.media.onsets import detect_onsets, match_onsets
from worldsim.physics import palette
from worldsim.physics.sound import synthesize
from worldsim.physics.types import Contact, ObjectInfo, RenderConfig, StaticInfo, Trajectory

CONFIG = RenderConfig(seconds=2.0, fps=16, sample_rate=16_000)  # default ambient bed
SR = CONFIG.sample_rate
FRAME_S = 1.0 / CONFIG.fps  # 62.5 ms
TOLERANCE_S = 1e-3 + 1e-9
SEEDS = range(8)
MANY_SEEDS = range(32)  # for the focused cases: failures there are seed-dependent

OBJECTS = [
    ObjectInfo("ball", "circle", (0.3,), 0.5, "rubber", palette.dynamic_color(0)),
    ObjectInfo("bell", "circle", (0.3,), 0.5, "metal", palette.dynamic_color(1)),
    ObjectInfo("block_0", "box", (0.5, 0.5), 1.0, "wood", palette.dynamic_color(2)),
]
STATICS = [
    StaticInfo("floor", "segment", ((0.0, 0.2), (8.0, 0.2)), 0.1, "concrete",
               palette.STATIC_COLORS["floor"]),
    StaticInfo("rim", "circle", ((6.0, 4.0),), 0.2, "metal", palette.STATIC_COLORS["rim"]),
]

# (time_s, object_a, object_b, impulse)
CLOSE_PAIR = [(0.40011, "ball", "floor", 1.0), (0.42011, "block_0", "ball", 3.0)]  # 20 ms apart
LOUD_THEN_QUIET = [(0.9, "bell", "rim", 15.0), (0.95, "bell", "rim", 0.15)]  # metal, 50 ms
SCENE = [
    (0.1037, "ball", "floor", 2.0),
    *CLOSE_PAIR,
    *LOUD_THEN_QUIET,
    (1.5, "block_0", "floor", 0.5),
    (1.7313, "ball", "bell", 6.0),
]


def _audio(events, seed: int, config: RenderConfig = CONFIG) -> np.ndarray:
    n, t = len(OBJECTS), config.num_frames
    contacts = [Contact(int(time_s * config.fps), time_s, a, b, j) for time_s, a, b, j in events]
    traj = Trajectory(
        objects=OBJECTS, statics=STATICS, positions_m=np.zeros((t, n, 2)),
        velocities_m=np.zeros((t, n, 2)), angles=np.zeros((t, n)),
        angular_velocities=np.zeros((t, n)), contacts=contacts, outcome="test",
        is_failure=False, params={}, gravity=9.81,
    )
    return synthesize(traj, config, np.random.default_rng(seed))


def _times(events) -> np.ndarray:
    return np.asarray([e[0] for e in events])


def _report(offsets: np.ndarray, times: np.ndarray) -> str:
    return ", ".join(f"{t:.4f}s: {o * 1e3:+.2f}ms" for t, o in zip(times, offsets))


def test_two_contacts_20ms_apart_are_both_found():
    times, failures = _times(CLOSE_PAIR), []
    for seed in MANY_SEEDS:
        onsets = detect_onsets(_audio(CLOSE_PAIR, seed), SR)
        offsets = match_onsets(times, onsets)
        if np.abs(offsets).max() > TOLERANCE_S or len(onsets) != 2:
            failures.append(f"seed {seed}: {_report(offsets, times)}; {len(onsets)} onsets")
    assert not failures, "\n".join(failures)


def test_quiet_hit_during_a_loud_metal_ring_is_found():
    times, failures = _times(LOUD_THEN_QUIET), []
    for seed in MANY_SEEDS:
        offsets = match_onsets(times, detect_onsets(_audio(LOUD_THEN_QUIET, seed), SR))
        if np.abs(offsets).max() > TOLERANCE_S:
            failures.append(f"seed {seed}: {_report(offsets, times)}")
    assert not failures, f"{len(failures)}/{len(MANY_SEEDS)} clips miss a contact:\n" + "\n".join(failures)


@pytest.mark.parametrize("seed", SEEDS)
def test_every_contact_is_found_within_a_millisecond(seed):
    times = _times(SCENE)
    offsets = match_onsets(times, detect_onsets(_audio(SCENE, seed), SR))
    assert np.abs(offsets).max() <= TOLERANCE_S, _report(offsets, times)


@pytest.mark.parametrize("seed", SEEDS)
def test_every_onset_belongs_to_a_contact(seed):
    onsets = detect_onsets(_audio(SCENE, seed), SR)
    offsets = match_onsets(onsets, _times(SCENE))  # onset -> nearest contact
    spurious = onsets[np.abs(offsets) > TOLERANCE_S]
    assert spurious.size == 0, f"onsets at {np.round(spurious, 4)} s match no contact"


def test_a_ringing_metal_impact_is_a_single_onset():
    """Something *new* starts only once: the ring of a hard metal-on-metal hit adds nothing."""
    failures = []
    for seed in MANY_SEEDS:
        onsets = detect_onsets(_audio([(0.5, "bell", "rim", 15.0)], seed), SR)
        assert np.abs(onsets - 0.5).min() <= TOLERANCE_S
        if onsets.size != 1:
            failures.append(f"seed {seed}: onsets {np.round(onsets - 0.5, 4)} s after the hit")
    assert not failures, f"{len(failures)}/{len(MANY_SEEDS)} clips:\n" + "\n".join(failures)


@pytest.mark.parametrize("seed", SEEDS)
def test_contacts_are_found_within_a_frame_after_a_6khz_lowpass(seed):
    """Band-limited audio (a lossy codec, a generated soundtrack) keeps the contacts to the
    frame: the documented use on decoded audio."""
    sos = scipy.signal.butter(4, 6000.0, "lowpass", fs=SR, output="sos")
    audio = scipy.signal.sosfiltfilt(sos, _audio(SCENE, seed).astype(np.float64))
    times = _times(SCENE)
    offsets = match_onsets(times, detect_onsets(audio, SR))
    assert np.abs(offsets).max() <= FRAME_S, _report(offsets, times)


@pytest.mark.parametrize("ambient", [0.002, 0.02])
def test_room_tone_alone_gives_no_onsets(ambient):
    config = RenderConfig(seconds=2.0, fps=16, sample_rate=SR, ambient_noise=ambient)
    for seed in SEEDS:
        audio = _audio([], seed, config)
        assert np.sqrt(np.mean(audio.astype(np.float64) ** 2)) == pytest.approx(ambient, rel=0.01)
        assert detect_onsets(audio, SR).size == 0, seed


def test_silence_gives_no_onsets():
    assert detect_onsets(np.zeros(SR, np.float32), SR).size == 0


def test_empty_audio_gives_no_onsets():
    assert detect_onsets(np.zeros(0, np.float32), SR).size == 0


def test_match_onsets_returns_signed_offsets_and_inf_without_onsets():
    contacts = np.array([0.1, 0.5, 0.9])
    assert np.all(np.isinf(match_onsets(contacts, np.zeros(0))))
    assert match_onsets(contacts, np.zeros(0)).shape == (3,)
    offsets = match_onsets(contacts, np.array([0.1004, 0.4990, 0.93, 1.8]))
    np.testing.assert_allclose(offsets, [0.0004, -0.001, 0.03], atol=1e-12)
