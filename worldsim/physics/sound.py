"""Impact sound: every contact rings with the modes of both materials, on its exact sample.

Modal synthesis (van den Doel & Pai 1998, "The sounds of physical shapes"; van den Doel,
Kry & Pai 2001, "FoleyAutomatic"): an impact excites a few damped sinusoids whose
frequencies and decay times are set by the material, with an amplitude set by the contact
impulse. Each impact also starts with a ~1 ms broadband click (the contact transient), which
makes its onset sharp and findable even while an earlier impact still rings; all modes stay
at or below 2 kHz so the band above it belongs to the clicks.

Contract the tests and the benchmark rely on: the sound of a contact at `time_s` starts at
sample round(time_s * sample_rate), with nothing of it before; loudness grows monotonically
with the impulse; same inputs and seed give the same samples.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import scipy.signal

from worldsim.physics.types import RenderConfig, Trajectory


@dataclasses.dataclass(frozen=True)
class Material:
    """Modes as (frequency Hz, decay time s, relative gain); `click` scales the transient."""

    modes: tuple[tuple[float, float, float], ...]
    click: float = 1.0


MATERIALS: dict[str, Material] = {
    "rubber": Material(((180.0, 0.030, 1.0), (410.0, 0.020, 0.5), (760.0, 0.012, 0.25)), 0.6),
    "basketball": Material(((140.0, 0.060, 1.0), (330.0, 0.035, 0.6), (690.0, 0.020, 0.3)), 0.7),
    "wood": Material(((520.0, 0.040, 1.0), (1150.0, 0.025, 0.6), (1900.0, 0.015, 0.35)), 1.0),
    "metal": Material(((760.0, 0.350, 1.0), (1380.0, 0.250, 0.7), (1990.0, 0.180, 0.5)), 1.0),
    "concrete": Material(((90.0, 0.050, 1.0), (260.0, 0.030, 0.5), (900.0, 0.010, 0.3)), 0.8),
    "glass": Material(((1050.0, 0.120, 1.0), (1520.0, 0.090, 0.6), (1960.0, 0.060, 0.4)), 1.0),
    "default": Material(((300.0, 0.040, 1.0), (800.0, 0.020, 0.5)), 0.8),
}
MAX_MODE_HZ = 2000.0

PEAK_AMPLITUDE = 0.5  # loudness of an arbitrarily hard impact
IMPULSE_SCALE = 4.0  # N*s; amp = PEAK * (1 - exp(-impulse / IMPULSE_SCALE))
CLICK_DECAY_S = 0.00006  # the transient's time constant (under 1 ms long)
CLICK_LENGTH_S = 0.0005
FREQUENCY_JITTER = 0.03  # +-3% per impact so repeated hits are not sample-identical
CLICK_GAIN = 2.0  # transient level relative to the modal ring's peak
KNEE = 0.8  # the limiter is the identity below this level
RING_DECAYS = 6  # an impact is synthesised for this many of its longest decay times
TAIL_FADE_S = 0.01  # raised-cosine fade over a ring's last samples: a cut would click


def impact_amplitude(impulse: float) -> float:
    """Monotonic, saturating loudness of an impact from its impulse (N*s)."""
    return PEAK_AMPLITUDE * (1.0 - np.exp(-max(impulse, 0.0) / IMPULSE_SCALE))


def impact_sound(
    material_a: Material,
    material_b: Material,
    amplitude: float,
    length: int,
    sample_rate: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """float [length]: one impact starting at sample 0 (its first sample is the onset)."""
    t = np.arange(length) / sample_rate  # [L]
    ring = np.zeros(length)
    total_gain = 0.0
    # One detuning per impact, shared by both bodies: two copies of a mode detuned apart
    # would beat, and beats read as fresh onsets to any onset detector.
    detune = 1.0 + FREQUENCY_JITTER * rng.uniform(-1.0, 1.0)
    for material in (material_a, material_b):
        for frequency, decay, gain in material.modes:
            ring += gain * np.exp(-t / decay) * np.sin(2.0 * np.pi * frequency * detune * t)
            total_gain += gain
    ring /= total_gain
    click_n = min(length, int(round(CLICK_LENGTH_S * sample_rate)))
    click_gain = CLICK_GAIN * 0.5 * (material_a.click + material_b.click)
    click = rng.standard_normal(click_n) * np.exp(-t[:click_n] / CLICK_DECAY_S)
    click[0] = rng.choice((-1.0, 1.0))  # a full-scale first sample: every click is equally sharp
    ring[:click_n] += click_gain * click
    fade_n = min(length - click_n, int(round(TAIL_FADE_S * sample_rate)))
    if fade_n > 0:
        ring[length - fade_n :] *= 0.5 + 0.5 * np.cos(np.linspace(0.0, np.pi, fade_n))
    return amplitude * ring


def soft_limit(x: np.ndarray) -> np.ndarray:
    """Identity below KNEE, tanh-compressed above it towards 1.

    Memoryless, odd and monotonic, so onsets stay where they are and loudness stays
    monotonic in the impulse. Unlike tanh over the whole range, it leaves ordinary rings
    undistorted: a curved transfer adds odd harmonics above the click band's edge, whose
    beats read as phantom onsets.
    """
    over = np.abs(x) - KNEE
    squashed = KNEE + (1.0 - KNEE) * np.tanh(np.maximum(over, 0.0) / (1.0 - KNEE))
    return np.where(over > 0.0, np.sign(x) * squashed, x)


def ambient_noise(num_samples: int, rms: float, sample_rate: int, rng: np.random.Generator):
    """A quiet low-passed noise bed (room tone) that leaves the click band nearly empty."""
    if rms <= 0:
        return np.zeros(num_samples)
    sos = scipy.signal.butter(2, 400.0, "lowpass", fs=sample_rate, output="sos")
    noise = scipy.signal.sosfilt(sos, rng.standard_normal(num_samples))
    return noise * (rms / max(float(np.sqrt(np.mean(noise**2))), 1e-12))


def material_of(traj: Trajectory) -> dict[str, Material]:
    """Object or static name -> its Material (unknown names fall back to "default")."""
    names = {o.name: o.material for o in traj.objects} | {s.name: s.material for s in traj.statics}
    return {name: MATERIALS.get(material, MATERIALS["default"]) for name, material in names.items()}


def synthesize(traj: Trajectory, config: RenderConfig, rng: np.random.Generator) -> np.ndarray:
    """float32 [config.num_samples] in [-1, 1]: the clip's soundtrack."""
    sr, num_samples = config.sample_rate, config.num_samples
    materials = material_of(traj)
    default = MATERIALS["default"]
    mix = ambient_noise(num_samples, config.ambient_noise, sr, rng)  # [S]
    for contact in traj.contacts:
        start = int(round(contact.time_s * sr))
        if start >= num_samples:
            continue
        pair = (materials.get(contact.object_a, default), materials.get(contact.object_b, default))
        longest = max(decay for material in pair for _, decay, _ in material.modes)
        length = min(num_samples - start, int(RING_DECAYS * longest * sr))  # to ~-50 dB
        mix[start : start + length] += impact_sound(
            *pair, impact_amplitude(contact.impulse), length, sr, rng
        )
    mix = soft_limit(mix)  # always on: monotonic in the impulse, onsets unmoved
    return mix.astype(np.float32)
