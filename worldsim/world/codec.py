"""The frozen half of the world model: VAEs and tokenizer between media and model inputs.

    codec = Codec.load(workdir, spec)                    # after the VAE stages
    latents = codec.encode_video_windows(clips["video"])  # (previous shot, target)
    frames, audio = codec.decode(video_latents, audio_latents)   # generation

Latents are normalised to zero mean and unit variance per modality with statistics
measured once, on the first training clips, and saved beside the transformer
stage (`latent_stats.json`), so training and generation agree and a resumed run
reads the same numbers.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from worldsim.world.spec import WorldSpec

STATS_FILE = "latent_stats.json"
TOKENIZER_FILE = "tokenizer.model"  # the sentencepiece model, copied into the run directory


def windows(array: np.ndarray, spec: WorldSpec, per_frame: int = 1) -> tuple[np.ndarray, ...]:
    """(previous shot, target) windows along axis 1 of a clip batch [B, T * per_frame, ...].

    per_frame: samples per video frame (1 for video, sample_rate / fps for audio).
    """
    need = spec.clip_frames * per_frame
    if array.shape[1] < need:
        raise ValueError(
            f"clips have {array.shape[1] // per_frame} frames; the world model needs "
            f"{spec.clip_frames} (model.shot_offset_frames {spec.shot_offset_frames} + "
            f"model.window_frames {spec.window_frames})"
        )
    w, start = spec.window_frames * per_frame, spec.shot_offset_frames * per_frame
    return array[:, :w], array[:, start : start + w]


def fit_frames(video: np.ndarray, spec: WorldSpec) -> np.ndarray:
    """uint8 [B, T, H, W, 3] at the data's size -> [B, T, S, S, 3] at the model's (mean-pooled)."""
    from worldsim.media.frames import downsample_frames

    if video.shape[2] == spec.frame_size and video.shape[3] == spec.frame_size:
        return video
    try:
        return downsample_frames(video, spec.frame_size)
    except ValueError as e:
        raise ValueError(f"config field 'model.frame_size' = {spec.frame_size}: {e}") from e


def make_video_vae(config, rngs: nnx.Rngs) -> nnx.Module:
    """The video VAE a config describes: causal conv (vae_video) or linear patch (vae_patch)."""
    from worldsim.models import vae_patch, vae_video

    if isinstance(config, vae_patch.PatchVAEConfig):
        return vae_patch.PatchVAE(config, rngs=rngs)
    return vae_video.VideoVAE(config, rngs=rngs)


def video_to_unit(frames: jax.Array) -> jax.Array:
    """uint8 [..., 3] -> float32 in [-1, 1]."""
    return frames.astype(jnp.float32) / 127.5 - 1.0


def unit_to_video(x: np.ndarray) -> np.ndarray:
    """float in [-1, 1] -> uint8 (clipped)."""
    return np.clip(np.round((np.asarray(x, np.float32) + 1.0) * 127.5), 0, 255).astype(np.uint8)


@dataclasses.dataclass(frozen=True)
class LatentStats:
    video_mean: float
    video_std: float
    audio_mean: float
    audio_std: float

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(dataclasses.asdict(self), indent=1))
        tmp.replace(path)

    @classmethod
    def read(cls, path: Path) -> LatentStats:
        return cls(**json.loads(Path(path).read_text()))


def _jitted(module: nnx.Module, method: str):
    graphdef, state = nnx.split(module)
    fn = jax.jit(lambda s, x: getattr(nnx.merge(graphdef, s), method)(x))
    return lambda x: fn(state, x)


class Codec:
    def __init__(self, spec: WorldSpec, video_vae, audio_vae, tokenizer, stats: LatentStats | None):
        from worldsim.media.audio_features import GriffinLimVocoder

        self.spec = spec
        self.tokenizer = tokenizer
        self.vae_steps: dict[str, int] = {}  # the VAE checkpoints' steps (set by `load`)
        self.stats = stats
        self.vocoder = GriffinLimVocoder(spec.mel_config)
        self._encode_video = _jitted(video_vae, "encode")
        self._decode_video = _jitted(video_vae, "decode")
        self._encode_audio = _jitted(audio_vae, "encode")
        self._decode_audio = _jitted(audio_vae, "decode")

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(cls, workdir: str | Path, spec: WorldSpec) -> Codec:
        """The VAEs (EMA params) from `workdir/{video_vae,audio_vae}`, tokenizer and stats."""
        from data_pipelines.tokenizer import Tokenizer
        from worldsim.models.vae_audio import AudioVAE
        from worldsim.train.load import load_model

        workdir = Path(workdir)
        video_vae, video_step = load_model(
            workdir / "video_vae", lambda rngs: make_video_vae(spec.video_vae_config, rngs)
        )
        audio_vae, audio_step = load_model(
            workdir / "audio_vae", lambda rngs: AudioVAE(spec.audio_vae_config, rngs=rngs)
        )
        tokenizer = Tokenizer.load(workdir / TOKENIZER_FILE)
        stats_path = workdir / "av_dit" / STATS_FILE
        stats = LatentStats.read(stats_path) if stats_path.exists() else None
        codec = cls(spec, video_vae, audio_vae, tokenizer, stats)
        codec.vae_steps = {"video_vae": int(video_step), "audio_vae": int(audio_step)}
        return codec

    def measure_stats(self, clips: dict[str, np.ndarray]) -> LatentStats:
        """Mean and std of the raw latents of `clips` (video uint8 [B, T, ...], audio [B, S])."""
        saved, self.stats = self.stats, None
        try:
            v = np.concatenate(self.encode_video_windows(clips["video"]), axis=0)
            a = np.concatenate(self.encode_audio_windows(clips["audio"]), axis=0)
        finally:
            self.stats = saved
        return LatentStats(float(v.mean()), float(v.std()), float(a.mean()), float(a.std()))

    # ------------------------------------------------------------------ encode
    def encode_video(self, frames: np.ndarray) -> np.ndarray:
        """uint8 [B, W, H, W, 3] -> normalised latent means [B, t, h, w, Z]."""
        frames = fit_frames(np.asarray(frames), self.spec)
        mean, _ = self._encode_video(video_to_unit(jnp.asarray(frames)))
        mean = np.asarray(mean, np.float32)
        if self.stats is None:
            return mean
        return (mean - self.stats.video_mean) / self.stats.video_std

    def encode_audio(self, audio: np.ndarray) -> np.ndarray:
        """float32 [B, W * samples per frame] -> normalised latent means [B, U, Y]."""
        from worldsim.media.audio_features import log_mel

        mel = log_mel(np.asarray(audio, np.float32), self.spec.mel_config)  # [B, M, n_mels]
        mean, _ = self._encode_audio(jnp.asarray(mel))
        mean = np.asarray(mean, np.float32)
        if self.stats is None:
            return mean
        return (mean - self.stats.audio_mean) / self.stats.audio_std

    def encode_video_windows(self, video: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return tuple(self.encode_video(w) for w in windows(video, self.spec))

    def encode_audio_windows(self, audio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        per_frame = self.spec.sample_rate // self.spec.fps
        return tuple(self.encode_audio(w) for w in windows(audio, self.spec, per_frame))

    def tokenize(self, captions, *, truncate: bool = False) -> np.ndarray:
        """int32 [B, C]; a caption longer than the window is an error unless `truncate`."""
        return self.tokenizer.encode(list(captions), self.spec.text_len, truncate=truncate)

    # ------------------------------------------------------------------ decode
    def decode_video(self, latents: np.ndarray) -> np.ndarray:
        """Normalised latents [B, t, h, w, Z] -> uint8 frames [B, W, S, S, 3]."""
        z = np.asarray(latents, np.float32) * self.stats.video_std + self.stats.video_mean
        return unit_to_video(self._decode_video(jnp.asarray(z)))

    def decode_mel(self, latents: np.ndarray) -> np.ndarray:
        """Normalised latents [B, U, Y] -> log-mel [B, M, n_mels]."""
        z = np.asarray(latents, np.float32) * self.stats.audio_std + self.stats.audio_mean
        return np.asarray(self._decode_audio(jnp.asarray(z)), np.float32)

    def decode_audio(self, latents: np.ndarray) -> np.ndarray:
        """Normalised latents [B, U, Y] -> waveforms float32 [B, W * samples per frame]."""
        return np.stack([self.vocoder.to_waveform(m) for m in self.decode_mel(latents)])
