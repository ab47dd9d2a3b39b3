"""Audio features for the world model: log-mel spectrograms, a vocoder back to audio, and
the onset-survival score that says whether a round trip kept the impacts on their frames.

Frames line up with video: a clip of T video frames at `fps` has exactly
M = T * mel_frames_per_video_frame mel frames, one every `hop_length` samples (frame m is
centred on sample m * hop_length; librosa's extra centred frame at the very end is dropped).
At the defaults (16 kHz, 16 fps, 4 mel frames per video frame) hop_length = 250 samples
(15.6 ms) and a 2 s clip of 32000 samples gives 128 mel frames.

Values: mel power (librosa, power 2.0, Slaney mel filters) is floored at `AMIN` and mapped
linearly in log10 so that the floor is -1 and `LOG_SPAN` decades above it is +1:

    log_mel = (log10(max(mel, AMIN)) - log10(AMIN)) / LOG_SPAN * 2 - 1

On simulated clips (measured over 18) the median value is -0.4, the loudest impacts reach
+0.9 and 12% of values (the faint top bins of the room tone) sit on the floor; a higher floor
(1e-5) made Griffin-Lim round trips lose 5 of 72 onsets instead of 1. `mel_from_log` inverts the map exactly
(above the floor). Local letters: S samples, M mel frames, F mel bins (n_mels).
"""

from __future__ import annotations

import dataclasses
from typing import Protocol

import librosa
import numpy as np

from worldsim.media.onsets import detect_onsets, match_onsets

AMIN = 1e-8  # mel power floor: -1 after normalisation (room tone sits just above it)
LOG_SPAN = 10.0  # decades of mel power between -1 and +1: AMIN .. 1e2


@dataclasses.dataclass(frozen=True)
class MelConfig:
    sample_rate: int = 16_000
    fps: int = 16  # video frame rate the mel frames line up with
    mel_frames_per_video_frame: int = 4
    n_fft: int = 1024  # 64 ms window: ~16 Hz bins, enough for 64 mels down to 0 Hz
    n_mels: int = 64  # F
    fmin: float = 0.0
    fmax: float | None = None  # None: sample_rate / 2

    def __post_init__(self):
        rate = self.fps * self.mel_frames_per_video_frame
        if rate <= 0 or self.sample_rate % rate:
            raise ValueError(
                f"sample_rate ({self.sample_rate}) must be divisible by fps ({self.fps}) * "
                f"mel_frames_per_video_frame ({self.mel_frames_per_video_frame}) = {rate}, "
                "so that mel frames line up with video frames"
            )

    @property
    def hop_length(self) -> int:
        """Samples between mel frames."""
        return self.sample_rate // (self.fps * self.mel_frames_per_video_frame)

    @property
    def frames_per_second(self) -> int:
        """Mel frames per second (= fps * mel_frames_per_video_frame)."""
        return self.fps * self.mel_frames_per_video_frame

    def num_frames(self, num_samples: int) -> int:
        """M = S // hop_length: the number of mel frames for S samples."""
        return num_samples // self.hop_length


def mel_spectrogram(audio: np.ndarray, config: MelConfig = MelConfig()) -> np.ndarray:
    """Audio [..., S] -> mel power float32 [..., M, F], M = S // hop_length."""
    audio = np.asarray(audio, np.float32)
    if audio.ndim not in (1, 2):
        raise ValueError(f"audio must be [S] or [B, S], got shape {audio.shape}")
    m = config.num_frames(audio.shape[-1])
    if m < 1:
        raise ValueError(f"{audio.shape[-1]} samples is less than one hop ({config.hop_length})")
    mel = librosa.feature.melspectrogram(
        y=audio,
        sr=config.sample_rate,
        n_fft=config.n_fft,
        hop_length=config.hop_length,
        n_mels=config.n_mels,
        fmin=config.fmin,
        fmax=config.fmax,
        power=2.0,
    )  # [..., F, 1 + S // hop] (centred frames)
    return np.swapaxes(mel[..., :m], -1, -2).astype(np.float32)  # [..., M, F]


def log_from_mel(mel: np.ndarray) -> np.ndarray:
    """Mel power -> normalised log (see the module docstring): AMIN -> -1, AMIN * 1e8 -> +1."""
    decades = np.log10(np.maximum(np.asarray(mel, np.float64), AMIN) / AMIN)  # >= 0 exactly
    return (decades * (2.0 / LOG_SPAN) - 1.0).astype(np.float32)


def mel_from_log(log_mel: np.ndarray) -> np.ndarray:
    """Exact inverse of `log_from_mel` (for mel power >= AMIN): normalised log -> mel power."""
    decades = (np.asarray(log_mel, np.float64) + 1.0) * (LOG_SPAN / 2.0)
    return (AMIN * np.power(10.0, decades)).astype(np.float32)


def log_mel(audio: np.ndarray, config: MelConfig = MelConfig()) -> np.ndarray:
    """Audio [S] or [B, S] in [-1, 1] -> normalised log-mel float32 [M, F] or [B, M, F]."""
    return log_from_mel(mel_spectrogram(audio, config))


class Vocoder(Protocol):
    """Log-mel frames back to audio; the world model's audio decoder ends in one of these."""

    def to_waveform(self, log_mel: np.ndarray) -> np.ndarray:
        """Normalised log-mel [M, F] -> float32 audio [M * hop_length], clipped to [-1, 1]."""
        ...


class GriffinLimVocoder:
    """Mel inversion (filterbank pseudo-inverse) + Griffin-Lim phase recovery, via librosa.

    Griffin & Lim 1984, "Signal estimation from modified short-time Fourier transform"; the
    fast variant (momentum 0.99) of Perraudin et al. 2013. Weight-free and deterministic
    (fixed random phase init), but buzzy, and the 64 ms window smears an impact's attack
    over up to half a window. A learned vocoder (e.g. HiFi-GAN, Kong et al. 2020,
    arXiv:2010.05646) can replace it later behind the same `Vocoder` interface.
    """

    def __init__(self, config: MelConfig = MelConfig(), n_iter: int = 32, seed: int = 0):
        self.config, self.n_iter, self.seed = config, n_iter, seed
        basis = librosa.filters.mel(
            sr=config.sample_rate,
            n_fft=config.n_fft,
            n_mels=config.n_mels,
            fmin=config.fmin,
            fmax=config.fmax,
        )  # [F, n_fft // 2 + 1]
        self._inverse_basis = np.linalg.pinv(basis)  # [n_fft // 2 + 1, F]

    def to_waveform(self, log_mel: np.ndarray) -> np.ndarray:
        c = self.config
        log_mel = np.asarray(log_mel, np.float32)
        if log_mel.ndim != 2 or log_mel.shape[-1] != c.n_mels:
            raise ValueError(f"log_mel must be [M, {c.n_mels}], got shape {log_mel.shape}")
        m = log_mel.shape[0]
        # M * hop samples have M + 1 centred frames; `log_mel` dropped the last: repeat frame M-1.
        mel = mel_from_log(np.concatenate([log_mel, log_mel[-1:]])).T  # [F, M + 1]
        # Power mel -> linear magnitude through the filterbank's pseudo-inverse (clipped at
        # 0). librosa's `mel_to_stft` solves an NNLS per frame instead: a little closer,
        # but seconds per window on decoded (imperfect) mels, where this takes milliseconds.
        power = np.maximum(self._inverse_basis @ mel, 0.0)  # [n_fft // 2 + 1, M + 1]
        magnitude = np.sqrt(power)
        audio = librosa.griffinlim(
            magnitude,
            n_iter=self.n_iter,
            hop_length=c.hop_length,
            n_fft=c.n_fft,
            length=m * c.hop_length,
            random_state=self.seed,
        )  # [M * hop]
        return np.clip(audio, -1.0, 1.0).astype(np.float32)


def onset_survival(
    reference_audio: np.ndarray,
    reconstructed_audio: np.ndarray,
    sample_rate: int,
    fps: int,
) -> tuple[float, int, int]:
    """(fraction, matched, total): share of the reference's onsets still there after a round trip.

    An onset of `reference_audio` (`detect_onsets`) survives when `reconstructed_audio` has
    a detected onset within one video frame (1 / fps s) of it. This is recall only: extra
    onsets in the reconstruction are not counted. With no reference onsets the fraction is
    nan; to pool clips, sum `matched` and `total`.
    """
    reference = detect_onsets(reference_audio, sample_rate)
    reconstructed = detect_onsets(reconstructed_audio, sample_rate)
    offsets = match_onsets(reference, reconstructed)  # [total], inf where none
    total = int(reference.size)
    matched = int(np.sum(np.abs(offsets) <= 1.0 / fps))
    return (matched / total if total else float("nan")), matched, total
