"""Latents <-> tokens, and where each token sits: its time, its type, whether it is a target.

The transformer sees one sequence per modality made of two slots (DESIGN.md:
conditioning is in-context):

    video: [context slot: L tokens] [target window: L tokens]     -> [B, 2L, Fv]
    audio: [context slot: A tokens] [target window: A tokens]     -> [B, 2A, Fa]

Token types (`TYPE_*`): 0 noised target; 1 first frames given (clean tokens *inside*
the target window); 2 reference clip ("cameo"); 3 previous shot. Types 2 and 3 fill
the context slot, placed on the time axis before the target
(`WorldSpec.previous_shot_offset_s`); with neither, the slot is masked out of
attention. One mechanism, four features: text-to-video, first frames (I2V and
continuation), cameo and multi-shot.

Training samples a context mode per example (`sample_layout`) so one checkpoint
serves them all; generation builds the layout the user asked for
(`fixed_layout`). The loss covers type-0 valid tokens only (`target_mask`).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
from einops import rearrange

from worldsim.world.spec import WorldSpec

TYPE_TARGET, TYPE_FIRST_FRAMES, TYPE_REFERENCE, TYPE_PREVIOUS_SHOT = 0, 1, 2, 3
MODE_NAMES = ("none", "first_frames", "reference", "previous_shot")  # index = context mode


# ----------------------------------------------------------------------------- tokens


def video_to_tokens(latents: jax.Array, patch: tuple[int, int, int]) -> jax.Array:
    """[B, t, h, w, Z] -> [B, L, Fv], tokens in (t, h, w) order."""
    pt, ph, pw = patch
    return rearrange(
        latents, "B (t pt) (h ph) (w pw) Z -> B (t h w) (pt ph pw Z)", pt=pt, ph=ph, pw=pw
    )


def tokens_to_video(tokens: jax.Array, spec: WorldSpec) -> jax.Array:
    """[B, L, Fv] -> [B, t, h, w, Z]."""
    t, h, w = spec.video_latent_grid
    pt, ph, pw = spec.video_patch
    return rearrange(
        tokens,
        "B (t h w) (pt ph pw Z) -> B (t pt) (h ph) (w pw) Z",
        t=t // pt,
        h=h // ph,
        w=w // pw,
        pt=pt,
        ph=ph,
        pw=pw,
    )


def audio_to_tokens(latents: jax.Array, patch: int) -> jax.Array:
    """[B, U, Y] -> [B, A, Fa]."""
    return rearrange(latents, "B (A p) Y -> B A (p Y)", p=patch)


def tokens_to_audio(tokens: jax.Array, spec: WorldSpec) -> jax.Array:
    """[B, A, Fa] -> [B, U, Y]."""
    return rearrange(tokens, "B A (p Y) -> B (A p) Y", p=spec.audio_patch)


# ----------------------------------------------------------------------------- layout


@dataclasses.dataclass(frozen=True)
class Layout:
    """Per-token bookkeeping for the two-slot sequence (arrays, so it crosses jit)."""

    video_type: jax.Array  # int32 [B, 2L]
    audio_type: jax.Array  # int32 [B, 2A]
    video_valid: jax.Array  # bool [B, 2L]
    audio_valid: jax.Array  # bool [B, 2A]


jax.tree_util.register_dataclass(
    Layout, data_fields=["video_type", "audio_type", "video_valid", "audio_valid"], meta_fields=[]
)


def positions(spec: WorldSpec, batch: int) -> tuple[np.ndarray, np.ndarray]:
    """(video [B, 2L, 3], audio [B, 2A]) positions: context slot first, then the target."""
    slot = spec.previous_shot_offset_s
    video = np.concatenate([spec.video_positions(slot), spec.video_positions()], axis=0)
    audio = np.concatenate([spec.audio_positions(slot), spec.audio_positions()], axis=0)
    return (
        np.broadcast_to(video, (batch, *video.shape)).copy(),
        np.broadcast_to(audio, (batch, *audio.shape)).copy(),
    )


def _layout(spec: WorldSpec, mode: jax.Array, first_latents: jax.Array) -> Layout:
    """The layout of each row from its context mode [B] and first-frame count [B].

    first_latents: how many leading latent frames of the target are given (mode 1);
    audio tokens whose mel frames saw only sound of those frames are given too (the
    STFT windows reach past a token's own interval: `spec.audio_token_reach_times`), so
    a token whose window would reach into the padding after the given frames is generated.
    """
    tf = spec.video_vae_config.time_factor
    frame = jnp.asarray(spec.video_token_latent_frame())  # [L]
    given_video = (mode[:, None] == 1) & (frame[None, :] < first_latents[:, None])  # [B, L]
    # Latent frames 0..k-1 cover frames 0 .. (k-1) * tf, i.e. up to time ((k-1) tf + 1) / fps.
    given_until_s = ((first_latents - 1) * tf + 1) / spec.fps  # [B]
    audio_reach_s = jnp.asarray(spec.audio_token_reach_times())  # [A]
    given_audio = (mode[:, None] == 1) & (audio_reach_s[None, :] <= given_until_s[:, None] + 1e-6)

    slot_type = jnp.where(  # [B]; an unused slot is padding (masked out), typed 0
        mode == 2, TYPE_REFERENCE, jnp.where(mode == 3, TYPE_PREVIOUS_SHOT, TYPE_TARGET)
    )
    slot_valid = mode >= 2  # [B]
    b, n_l, n_a = mode.shape[0], spec.video_tokens, spec.audio_tokens
    video_type = jnp.concatenate(
        [
            jnp.broadcast_to(slot_type[:, None], (b, n_l)),
            jnp.where(given_video, TYPE_FIRST_FRAMES, TYPE_TARGET),
        ],
        axis=1,
    ).astype(jnp.int32)
    audio_type = jnp.concatenate(
        [
            jnp.broadcast_to(slot_type[:, None], (b, n_a)),
            jnp.where(given_audio, TYPE_FIRST_FRAMES, TYPE_TARGET),
        ],
        axis=1,
    ).astype(jnp.int32)
    ones_l, ones_a = jnp.ones((b, n_l), bool), jnp.ones((b, n_a), bool)
    return Layout(
        video_type=video_type,
        audio_type=audio_type,
        video_valid=jnp.concatenate([jnp.broadcast_to(slot_valid[:, None], (b, n_l)), ones_l], 1),
        audio_valid=jnp.concatenate([jnp.broadcast_to(slot_valid[:, None], (b, n_a)), ones_a], 1),
    )


def sample_layout(
    key: jax.Array, spec: WorldSpec, batch: int, mode_probs: tuple[float, ...]
) -> tuple[Layout, jax.Array]:
    """A random context mode per row (probabilities over `MODE_NAMES`) -> (layout, mode [B])."""
    k_mode, k_first = jax.random.split(key)
    probs = jnp.asarray(mode_probs, jnp.float32)
    mode = jax.random.choice(k_mode, len(MODE_NAMES), (batch,), p=probs / probs.sum())
    t = spec.video_latent_grid[0]
    first = jax.random.randint(k_first, (batch,), 1, max(t, 2))  # 1 .. t-1 latent frames given
    return _layout(spec, mode, first), mode


def fixed_layout(spec: WorldSpec, batch: int, mode: str, first_latents: int = 1) -> Layout:
    """The layout for generation: one mode for every row."""
    index = MODE_NAMES.index(mode)
    return _layout(
        spec, jnp.full((batch,), index, jnp.int32), jnp.full((batch,), first_latents, jnp.int32)
    )


def context_mask(type_: jax.Array, valid: jax.Array) -> jax.Array:
    """True where a token is clean context or padding (not noised, no loss)."""
    return (type_ != TYPE_TARGET) | ~valid


def target_mask(type_: jax.Array, valid: jax.Array) -> jax.Array:
    """True where a token is a noised target: the only positions the loss sees."""
    return (type_ == TYPE_TARGET) & valid


def first_latent_frames_for(spec: WorldSpec, num_frames: int) -> int:
    """Latent frames fully determined by the first `num_frames` video frames (causal VAE)."""
    tf = spec.video_vae_config.time_factor
    if num_frames < 1:
        raise ValueError(f"--init-frames must be >= 1, got {num_frames}")
    return min(1 + (num_frames - 1) // tf, spec.video_latent_grid[0])
