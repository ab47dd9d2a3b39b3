"""Impact sound on hand-made contacts: starts on its sample, louder with the impulse, coloured
by the materials, quiet room tone otherwise, and the same bytes for the same seed."""

from __future__ import annotations

import numpy as np
import pytest

from worldsim.physics import palette
from worldsim.physics.sound import PEAK_AMPLITUDE, impact_amplitude, synthesize
from worldsim.physics.types import Contact, ObjectInfo, RenderConfig, StaticInfo, Trajectory

SR = 16_000
QUIET = RenderConfig(seconds=0.5, sample_rate=SR, ambient_noise=0.0)
ROOM = RenderConfig(seconds=0.5, sample_rate=SR)  # default ambient bed

OBJECTS = [
    ObjectInfo("ball", "circle", (0.3,), 0.5, "rubber", palette.dynamic_color(0)),
    ObjectInfo("bell", "circle", (0.3,), 0.5, "metal", palette.dynamic_color(1)),
    ObjectInfo("block_0", "box", (0.5, 0.5), 1.0, "wood", palette.dynamic_color(2)),
]
STATICS = [
    StaticInfo("floor", "segment", ((0.0, 0.2), (8.0, 0.2)), 0.1, "rubber",
               palette.STATIC_COLORS["floor"]),
    StaticInfo("rim", "circle", ((6.0, 4.0),), 0.2, "metal", palette.STATIC_COLORS["rim"]),
]


def _contact(time_s: float, a: str, b: str, impulse: float, fps: int = 16) -> Contact:
    return Contact(int(np.floor(time_s * fps)), time_s, a, b, impulse)


def _trajectory(contacts, num_frames: int = 8) -> Trajectory:
    n = len(OBJECTS)
    return Trajectory(
        objects=OBJECTS, statics=STATICS, positions_m=np.zeros((num_frames, n, 2)),
        velocities_m=np.zeros((num_frames, n, 2)), angles=np.zeros((num_frames, n)),
        angular_velocities=np.zeros((num_frames, n)), contacts=list(contacts), outcome="test",
        is_failure=False, params={}, gravity=9.81,
    )


def _synth(contacts, config: RenderConfig = QUIET, seed: int = 0) -> np.ndarray:
    return synthesize(_trajectory(contacts, config.num_frames), config, np.random.default_rng(seed))


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.asarray(x, np.float64) ** 2)))


def _spectral_centroid(x: np.ndarray) -> float:
    power = np.abs(np.fft.rfft(np.asarray(x, np.float64))) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / SR)
    return float((freqs * power).sum() / power.sum())


# --------------------------------------------------------------------------------------------
# Format


def test_output_is_float32_of_the_configured_length_within_unit_range():
    # very hard, overlapping hits: the limiter must keep them in range
    contacts = [_contact(0.05 + 0.002 * i, "bell", "rim", 1e3) for i in range(6)]
    contacts += [_contact(0.3, "ball", "floor", 5.0), _contact(0.4999, "block_0", "bell", 2.0)]
    for config in (QUIET, ROOM):
        audio = _synth(contacts, config)
        assert audio.dtype == np.float32 and audio.shape == (config.num_samples,)
        assert np.all(np.isfinite(audio))
        assert np.abs(audio).max() <= 1.0
        assert np.abs(audio).max() > 0.5  # the hard hits are loud, not silenced


def test_contacts_after_the_clip_end_change_nothing():
    contacts = [_contact(0.1, "ball", "floor", 2.0), _contact(0.3, "bell", "rim", 1.0)]
    late = _contact(3.0, "bell", "floor", 50.0)
    base = _synth(contacts, ROOM, seed=4)
    assert _synth([late, *contacts], ROOM, seed=4).tobytes() == base.tobytes()
    assert _synth([*contacts, late], ROOM, seed=4).tobytes() == base.tobytes()


# --------------------------------------------------------------------------------------------
# Timing


@pytest.mark.parametrize("time_s", [0.1, 0.123456, 0.25003, 0.31234])
def test_sound_starts_exactly_on_the_contact_sample(time_s):
    start = int(round(time_s * SR))
    for seed in range(3):
        audio = _synth([_contact(time_s, "ball", "floor", 1.0)], seed=seed)
        assert np.all(audio[:start] == 0.0), f"sound before the onset sample {start}"
        assert audio[start] != 0.0
        assert _rms(audio[start : start + 80]) > 1e-3  # the first 5 ms clearly sound


def test_before_the_first_contact_there_is_only_the_ambient_bed():
    start = int(round(0.3 * SR))
    for seed in range(3):
        audio = _synth([_contact(0.3, "ball", "floor", 1.0)], ROOM, seed=seed)
        assert _rms(audio[:start]) == pytest.approx(ROOM.ambient_noise, rel=0.25)
        # the bed is steady right up to the onset; the impact then towers over it
        assert _rms(audio[start - 160 : start]) < 2.5 * ROOM.ambient_noise
        assert _rms(audio[start : start + 160]) > 10 * ROOM.ambient_noise


# --------------------------------------------------------------------------------------------
# Loudness


IMPULSES = (0.2, 1.0, 4.0, 16.0)
FIRST_20MS = int(0.02 * SR)


@pytest.mark.parametrize("pair", [("ball", "floor"), ("bell", "rim"), ("block_0", "bell")])
def test_loudness_strictly_increases_with_impulse(pair):
    start = int(round(0.1 * SR))
    # same seed for every impulse: the same impact, scaled
    heads = [_synth([_contact(0.1, *pair, j)], seed=1)[start : start + FIRST_20MS] for j in IMPULSES]
    peaks = [float(np.abs(h).max()) for h in heads]
    rms = [_rms(h) for h in heads]
    assert all(a < b for a, b in zip(peaks, peaks[1:])), peaks
    assert all(a < b for a, b in zip(rms, rms[1:])), rms
    # different seeds too: the ring, not the random click, sets the level
    rms = [
        _rms(_synth([_contact(0.1, *pair, j)], seed=10 + i)[start : start + FIRST_20MS])
        for i, j in enumerate(IMPULSES)
    ]
    assert all(a < b for a, b in zip(rms, rms[1:])), rms


def test_louder_contacts_in_one_clip_are_louder():
    config = RenderConfig(seconds=2.0, sample_rate=SR, ambient_noise=0.0)
    times = (0.1, 0.5, 0.9, 1.3)  # rubber on rubber dies out in well under 0.4 s
    contacts = [_contact(t, "ball", "floor", j) for t, j in zip(times, IMPULSES)]
    audio = _synth(contacts, config, seed=3)
    rms = [_rms(audio[int(round(t * SR)) :][:FIRST_20MS]) for t in times]
    assert all(a < b for a, b in zip(rms, rms[1:])), rms


def test_impact_amplitude_is_monotone_and_saturating():
    impulses = np.geomspace(1e-3, 60.0, 200)
    amps = np.array([impact_amplitude(j) for j in impulses])
    assert np.all(np.diff(amps) > 0)
    assert impact_amplitude(0.0) == 0.0 and impact_amplitude(-3.0) == 0.0
    assert np.all((amps > 0) & (amps <= PEAK_AMPLITUDE))
    assert impact_amplitude(1e4) == pytest.approx(PEAK_AMPLITUDE)


# --------------------------------------------------------------------------------------------
# Materials


def test_metal_sounds_brighter_and_rings_longer_than_rubber():
    config = RenderConfig(seconds=1.0, sample_rate=SR, ambient_noise=0.0)
    start = int(round(0.05 * SR))
    for seed in range(3):
        rubber = _synth([_contact(0.05, "ball", "floor", 2.0)], config, seed)[start:]
        metal = _synth([_contact(0.05, "bell", "rim", 2.0)], config, seed)[start:]
        head = int(0.1 * SR)
        c_rubber, c_metal = _spectral_centroid(rubber[:head]), _spectral_centroid(metal[:head])
        assert c_metal > 2.0 * c_rubber, (c_rubber, c_metal)

        def ring_time(x: np.ndarray) -> float:
            """Seconds until the 10 ms RMS falls below a tenth of the first 10 ms."""
            frames = x[: len(x) // 160 * 160].reshape(-1, 160)
            level = np.sqrt((frames.astype(np.float64) ** 2).mean(1))
            below = np.flatnonzero(level < 0.1 * level[0])
            return (below[0] if below.size else len(level)) * 0.01

        t_rubber, t_metal = ring_time(rubber), ring_time(metal)
        assert t_metal > 4.0 * t_rubber, (t_rubber, t_metal)
        later = slice(int(0.1 * SR), int(0.15 * SR))  # rubber still rings faintly here
        assert _rms(rubber[later]) > 0.0
        assert _rms(metal[later]) > 10 * _rms(rubber[later])


def test_unknown_names_and_materials_fall_back_to_a_default_sound():
    audio = _synth([_contact(0.1, "ghost", "nowhere", 2.0)])
    start = int(round(0.1 * SR))
    assert np.all(audio[:start] == 0.0) and _rms(audio[start : start + FIRST_20MS]) > 1e-3


# --------------------------------------------------------------------------------------------
# Determinism


def test_same_seed_same_bytes_different_seed_different():
    contacts = [_contact(0.1, "ball", "floor", 2.0), _contact(0.2, "bell", "rim", 0.7)]
    for config in (QUIET, ROOM):
        a, b = _synth(contacts, config, seed=5), _synth(contacts, config, seed=5)
        assert a.tobytes() == b.tobytes()
        assert _synth(contacts, config, seed=6).tobytes() != a.tobytes()
