"""Generation: captions (+ optional context clips) -> mp4 files with video and sound.

    worldsim generate --workdir runs/tiny --prompt "a red ball ..." --seconds 2 --out out.mp4

The transformer stage's EMA parameters, the frozen VAEs and the run's tokenizer are
loaded from the workdir. One window (`model.window_frames` frames) is sampled by a
jitted ODE solve (Euler or Heun) with classifier-free guidance; context arrives in
context (DESIGN.md):

* `init_video` + `init_frames` K: the first K frames (and their sound) are encoded
  and held fixed as clean first-frame tokens (I2V / continuation);
* `reference`: the clip's first window fills the context slot as a reference ("cameo");
* `previous_shot`: the clip's last window fills the context slot as the previous shot.

Longer outputs (`seconds` beyond one window) continue window by window: each new
window is conditioned on the last frames of the one before (first-frame mode) and
contributes its remaining frames. Audio is decoded by the vocoder (Griffin-Lim) and
muxed with `worldsim.media.write_mp4`.

Noise: `seed=int` draws the whole batch's noise from one key (split once per window), so
a row's noise depends on the batch it is in; `seed=[one int per row]` gives each row its
own key, `jax.random.key(row_seed)` split the same way, so a row's output depends on its
seed (and inputs) alone, not on the other rows or its place among them (the benchmark
seeds each case from its id: `worldsim.world.generate_cases`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from worldsim.diffusion import samplers
from worldsim.world import layout as lay
from worldsim.world.codec import Codec
from worldsim.world.spec import WorldSpec

# Latent frames carried from one window into the next when continuing (1 + 4 frames).
CONTINUATION_LATENTS = 2


@dataclasses.dataclass(frozen=True)
class SamplerConfig:
    steps: int = 20
    solver: str = "heun"  # euler | heun
    cfg_scale: float = 3.0
    shift: float = 1.0

    def __post_init__(self):
        if self.solver not in ("euler", "heun"):
            raise ValueError(f"--solver must be euler or heun, got {self.solver!r}")
        if self.steps < 1:
            raise ValueError(f"--steps must be >= 1, got {self.steps}")


@dataclasses.dataclass
class Context:
    """Clean tokens given to one window: mode, the slot and/or the first frames."""

    mode: str = "none"  # layout.MODE_NAMES
    first_latents: int = 1
    video: np.ndarray | None = None  # [2L, Fv] clean values (slot + target), where given
    audio: np.ndarray | None = None  # [2A, Fa]


class Generator:
    """The loaded world model and a jitted window sampler."""

    def __init__(
        self, workdir: str | Path, *, use_ema: bool = True, truncate_prompts: bool = False
    ):
        from worldsim.train.config import read_config
        from worldsim.train.load import load_model
        from worldsim.world.model import make_world_model
        from worldsim.world.settings import validate_world, with_added_fields

        workdir = Path(workdir)
        self.config = with_added_fields(read_config(workdir / "config.json"))
        world = validate_world(self.config)
        self.spec: WorldSpec = world.spec
        self.codec = Codec.load(workdir, self.spec)
        if self.codec.stats is None:
            raise FileNotFoundError(f"{workdir}/av_dit has no latent statistics: train first")
        self.model, self.step = load_model(
            workdir / "av_dit",
            lambda rngs: make_world_model(world.spec, world.model, rngs),
            use_ema=use_ema,
        )
        self._graphdef, self._state = nnx.split(self.model)
        self._compiled: dict[Any, Any] = {}
        self.truncate_prompts = truncate_prompts  # else a prompt over model.text_len is an error

    def params_sha256(self) -> str:
        """sha256 over the loaded parameters (each leaf's path, dtype, shape and bytes): the
        exact weights a clip came from, for its content credentials."""
        from jax.experimental import multihost_utils

        digest = hashlib.sha256()
        leaves = jax.tree_util.tree_flatten_with_path(nnx.state(self.model, nnx.Param))[0]
        for path, leaf in leaves:
            if not leaf.is_fully_addressable:  # sharded over hosts: every host sees all of it
                leaf = multihost_utils.process_allgather(leaf, tiled=True)
            value = np.asarray(jax.device_get(leaf))
            digest.update(f"{jax.tree_util.keystr(path)}|{value.dtype}|{value.shape}".encode())
            digest.update(np.ascontiguousarray(value).tobytes())
        return digest.hexdigest()

    # ------------------------------------------------------------------ inputs
    def _read_clip(self, path: str | Path) -> tuple[np.ndarray, np.ndarray]:
        """(frames uint8 [T, S, S, 3], audio [T * samples per frame]) at the model's rate."""
        from worldsim.media.video_io import probe, read_audio, read_video

        s = self.spec
        frames, _ = read_video(path, size=(s.frame_size, s.frame_size), fps=s.fps)
        per_frame = s.sample_rate // s.fps
        if probe(path)["has_audio"]:
            audio = read_audio(path, sample_rate=s.sample_rate)
        else:
            audio = np.zeros(len(frames) * per_frame, np.float32)
        audio = np.pad(audio, (0, max(0, len(frames) * per_frame - len(audio))))
        return frames, audio[: len(frames) * per_frame].astype(np.float32)

    def _window(self, frames: np.ndarray, audio: np.ndarray, *, last: bool = False):
        """Exactly one window of frames and sound; short clips repeat their last frame."""
        s = self.spec
        per_frame = s.sample_rate // s.fps
        if last and len(frames) > s.window_frames:
            start = len(frames) - s.window_frames
            frames, audio = frames[start:], audio[start * per_frame :]
        frames = frames[: s.window_frames]
        missing = s.window_frames - len(frames)
        if missing > 0:
            frames = np.concatenate([frames, np.repeat(frames[-1:], missing, axis=0)], axis=0)
        audio = np.pad(audio, (0, max(0, s.window_samples - len(audio))))[: s.window_samples]
        return frames, audio

    def encode_tokens(self, frames: np.ndarray, audio: np.ndarray) -> tuple[np.ndarray, ...]:
        """One window -> clean tokens (video [L, Fv], audio [A, Fa])."""
        zv = self.codec.encode_video(frames[None])  # [1, t, h, w, Z]
        za = self.codec.encode_audio(audio[None])  # [1, U, Y]
        video = lay.video_to_tokens(jnp.asarray(zv), self.spec.video_patch)[0]
        audio = lay.audio_to_tokens(jnp.asarray(za), self.spec.audio_patch)[0]
        return np.asarray(video), np.asarray(audio)

    def context(
        self,
        *,
        init_video: str | None = None,
        init_frames: int = 0,
        reference: str | None = None,
        previous_shot: str | None = None,
    ) -> Context:
        given = [
            n
            for n, v in (
                ("--init-video", init_video),
                ("--reference", reference),
                ("--previous-shot", previous_shot),
            )
            if v
        ]
        if len(given) > 1:
            raise ValueError(f"give at most one of {', '.join(given)} per generation")
        s = self.spec
        zeros_v = np.zeros((2 * s.video_tokens, s.video_features), np.float32)
        zeros_a = np.zeros((2 * s.audio_tokens, s.audio_features), np.float32)
        if init_video:
            if init_frames < 1:
                raise ValueError("--init-video needs --init-frames K >= 1")
            frames, audio = self._read_clip(init_video)
            k = min(init_frames, len(frames))
            per_frame = s.sample_rate // s.fps
            frames, audio = self._window(frames[:k], audio[: k * per_frame])
            return self.first_frames_context(frames, audio, lay.first_latent_frames_for(s, k))
        for path, mode, last in (
            (reference, "reference", False),
            (previous_shot, "previous_shot", True),
        ):
            if path:
                v, a = self.encode_tokens(*self._window(*self._read_clip(path), last=last))
                zeros_v[: s.video_tokens], zeros_a[: s.audio_tokens] = v, a
                return Context(mode=mode, video=zeros_v, audio=zeros_a)
        return Context()

    def first_frames_context(
        self, frames: np.ndarray, audio: np.ndarray, first_latents: int
    ) -> Context:
        s = self.spec
        v, a = self.encode_tokens(frames, audio)
        video = np.zeros((2 * s.video_tokens, s.video_features), np.float32)
        sound = np.zeros((2 * s.audio_tokens, s.audio_features), np.float32)
        video[s.video_tokens :], sound[s.audio_tokens :] = v, a
        return Context(mode="first_frames", first_latents=first_latents, video=video, audio=sound)

    # ------------------------------------------------------------------ sampling
    def _sampler(self, batch: int, sampler: SamplerConfig):
        key = (batch, sampler)
        if key in self._compiled:
            return self._compiled[key]
        s, graphdef = self.spec, self._graphdef
        n_v = 2 * s.video_tokens * s.video_features  # video elements first, then audio
        video_pos, audio_pos = lay.positions(s, 2 * batch)

        def unpack(x):  # [B, n_v + n_a] -> video [B, 2L, Fv], audio [B, 2A, Fa]
            b = x.shape[0]
            return (
                x[:, :n_v].reshape(b, 2 * s.video_tokens, s.video_features),
                x[:, n_v:].reshape(b, 2 * s.audio_tokens, s.audio_features),
            )

        def run(state, noise, fixed_values, fixed_mask, layout, caption):
            both = jax.tree.map(lambda a: jnp.concatenate([a, a], axis=0), layout)

            def velocity(x, t, captions):  # x [2B, n]
                # Merged inside the solver's loop body: NNX modules cannot cross trace levels.
                model = nnx.merge(graphdef, state, copy=True)
                video, audio = unpack(x)
                tt = jnp.full((x.shape[0],), t, jnp.float32)
                v_v, v_a = model(video, audio, both, video_pos, audio_pos, tt, captions)
                return jnp.concatenate(
                    [v_v.reshape(x.shape[0], -1), v_a.reshape(x.shape[0], -1)], 1
                )

            fn = samplers.guided(velocity, caption, jnp.zeros_like(caption), sampler.cfg_scale)
            solve = samplers.heun_sample if sampler.solver == "heun" else samplers.euler_sample
            x = solve(
                fn,
                noise,
                sampler.steps,
                shift=sampler.shift,
                fixed_mask=fixed_mask,
                fixed_values=fixed_values,
            )
            return unpack(x)

        self._compiled[key] = jax.jit(run)
        return self._compiled[key]

    def sample_window(
        self, captions: list[str], context: Context, key: jax.Array, sampler: SamplerConfig
    ) -> tuple[np.ndarray, np.ndarray]:
        """Normalised latents of one window per caption: (video [B, t, h, w, Z], audio [B, U, Y]).

        `key`: one key for the batch's noise, or one per row ([B]) for each row's own.
        """
        s, b = self.spec, len(captions)
        layout = lay.fixed_layout(s, b, context.mode, context.first_latents)
        clean_v = lay.context_mask(layout.video_type, layout.video_valid)  # [B, 2L]
        clean_a = lay.context_mask(layout.audio_type, layout.audio_valid)  # [B, 2A]
        fixed_mask = jnp.concatenate(
            [
                jnp.repeat(clean_v, s.video_features, axis=1),
                jnp.repeat(clean_a, s.audio_features, axis=1),
            ],
            axis=1,
        )  # [B, n] per element
        video_shape = (b, 2 * s.video_tokens, s.video_features)
        audio_shape = (b, 2 * s.audio_tokens, s.audio_features)
        given_v = np.zeros(video_shape, np.float32) if context.video is None else context.video
        given_a = np.zeros(audio_shape, np.float32) if context.audio is None else context.audio
        fixed_values = jnp.concatenate(  # [B, n]: one context for all rows, or one per row
            [
                jnp.broadcast_to(jnp.asarray(given_v), video_shape).reshape(b, -1),
                jnp.broadcast_to(jnp.asarray(given_a), audio_shape).reshape(b, -1),
            ],
            axis=1,
        )
        if key.ndim == 0:
            noise = jax.random.normal(key, fixed_values.shape, jnp.float32)  # [B, n]
        else:  # one key per row: a row's noise does not depend on the other rows
            row = fixed_values.shape[1:]
            noise = jax.vmap(lambda k: jax.random.normal(k, row, jnp.float32))(key)  # [B, n]
        caption = jnp.asarray(self.codec.tokenize(captions, truncate=self.truncate_prompts))
        video, audio = self._sampler(b, sampler)(
            self._state, noise, fixed_values, fixed_mask, layout, caption
        )
        video = lay.tokens_to_video(video[:, s.video_tokens :], s)
        audio = lay.tokens_to_audio(audio[:, s.audio_tokens :], s)
        return np.asarray(video), np.asarray(audio)

    def generate(
        self,
        captions: list[str],
        *,
        seconds: float | None = None,
        context: Context | None = None,
        seed: int | Sequence[int] = 0,
        sampler: SamplerConfig = SamplerConfig(),
        progress=None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """frames uint8 [B, round(seconds * fps), S, S, 3] and audio float32 [B, frames * spf].

        `seed`: one int for the batch, or one per caption (each row's noise its own; module
        docstring).
        """
        s = self.spec
        seconds = s.window_seconds if seconds is None else float(seconds)
        if seconds <= 0:
            raise ValueError(f"--seconds must be > 0, got {seconds}")
        total = max(1, round(seconds * s.fps))
        per_frame = s.sample_rate // s.fps
        overlap = self._overlap_frames()
        windows = self.windows_for(seconds)
        key = _noise_key(seed, len(captions))
        context = context or Context()
        frames_out, audio_out = [], []
        for w in range(windows):
            key, sub = _split(key)
            zv, za = self.sample_window(captions, context, sub, sampler)
            frames = self.codec.decode_video(zv)  # [B, W, S, S, 3]
            audio = self.codec.decode_audio(za)  # [B, W * spf]
            skip = 0 if w == 0 else overlap
            frames_out.append(frames[:, skip:])
            audio_out.append(audio[:, skip * per_frame :])
            if progress is not None:
                progress.update(1)
            if w + 1 < windows:  # continue from this window's last frames (and their sound)
                tail_frames = frames[:, -overlap:]
                tail_audio = audio[:, -overlap * per_frame :]
                contexts = [
                    self.first_frames_context(
                        *self._window(tail_frames[i], tail_audio[i]), CONTINUATION_LATENTS
                    )
                    for i in range(len(captions))
                ]
                context = stack_contexts(contexts)
        frames = np.concatenate(frames_out, axis=1)[:, :total]
        audio = np.concatenate(audio_out, axis=1)[:, : total * per_frame]
        return frames, audio

    def _overlap_frames(self) -> int:
        """Frames each continued window shares with the one before (its given first frames)."""
        return 1 + (CONTINUATION_LATENTS - 1) * self.spec.video_vae_config.time_factor

    def windows_for(self, seconds: float) -> int:
        """Windows sampled for `seconds` of output (the first, then continuations)."""
        s = self.spec
        total = max(1, round(seconds * s.fps))
        new_per_window = s.window_frames - self._overlap_frames()
        return 1 + max(0, math.ceil((total - s.window_frames) / new_per_window))


def _noise_key(seed: int | Sequence[int], rows: int) -> jax.Array:
    """One key for the batch (an int seed), or one key per row ([B], a seed per row)."""
    if isinstance(seed, (int, np.integer)):
        return jax.random.key(int(seed))
    seeds = [int(x) for x in seed]
    if len(seeds) != rows:
        raise ValueError(f"seed: give one int, or one per caption ({rows}); got {len(seeds)}")
    if any(not 0 <= x < 2**32 for x in seeds):
        raise ValueError(f"seed: a seed per row must be in [0, 2**32), got {seeds}")
    return jax.vmap(jax.random.key)(jnp.asarray(seeds, jnp.uint32))  # [B]


def _split(key: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(carried key, this window's key), row by row when `key` holds one per row."""
    pair = jax.random.split(key) if key.ndim == 0 else jax.vmap(jax.random.split)(key)
    return pair[..., 0], pair[..., 1]


def stack_contexts(contexts: list[Context]) -> Context:
    """Per-row contexts of one mode -> one Context whose arrays have a leading batch axis."""
    first = contexts[0]
    return Context(
        mode=first.mode,
        first_latents=first.first_latents,
        video=np.stack([c.video for c in contexts]),
        audio=np.stack([c.audio for c in contexts]),
    )
