"""Rectified-flow (flow-matching) training objective.

Convention (Liu et al. 2022, "Flow Straight and Fast"; Esser et al. 2024, "SD3"):
  x_t = (1 - t) * x0 + t * noise,   t in [0, 1],  t = 0 data, t = 1 noise,
and the model predicts the velocity v = d x_t / dt = noise - x0.

Conditioning is in-context (DESIGN.md): first frames, a reference clip and the
previous shot are clean tokens placed before the noised targets. A boolean mask
[B, L] marks them; they enter the model un-noised with timestep 0 and the loss
covers target tokens only.

Shapes use the house alphabet (B batch, L tokens, C caption/context tokens);
local letter F = latent features per token.
"""

import jax
import jax.numpy as jnp


def sample_timesteps(
    key: jax.Array, shape: tuple[int, ...], *, mean: float = 0.0, std: float = 1.0
) -> jax.Array:
    """Logit-normal timesteps sigmoid(mean + std * N(0, 1)), strictly inside (0, 1).

    SD3 (Esser et al. 2024, sec. 3.1) found this beats uniform t: it spends training
    on intermediate noise levels, where predicting the velocity is hardest.
    """
    return jax.nn.sigmoid(mean + std * jax.random.normal(key, shape))


def _expand(t: jax.Array, x: jax.Array) -> jax.Array:
    """Right-pads t ([], [B] or [B, L]) with unit dims so it broadcasts against x."""
    t = jnp.asarray(t, x.dtype)
    return t.reshape(t.shape + (1,) * (x.ndim - t.ndim))


def interpolate(x0: jax.Array, noise: jax.Array, t: jax.Array) -> jax.Array:
    """x_t = (1 - t) x0 + t noise; t is [] / [B] / [B, L], broadcast over trailing dims."""
    t = _expand(t, x0)
    return (1 - t) * x0 + t * noise


def velocity_target(x0: jax.Array, noise: jax.Array) -> jax.Array:
    """d x_t / dt = noise - x0: constant along each straight path."""
    return noise - x0


def token_timesteps(t: jax.Array, context_mask: jax.Array) -> jax.Array:
    """Per-token timesteps [B, L] from t ([] or [B]): t for targets, 0 for context.

    Used at training time by `noised_inputs` and at sampling time by a model's
    velocity function, so both see the same timestep layout.
    """
    t = jnp.broadcast_to(jnp.asarray(t, jnp.float32).reshape(-1, 1), context_mask.shape)
    return jnp.where(context_mask, 0.0, t)  # [B, L]


def noised_inputs(
    x0: jax.Array, noise: jax.Array, t: jax.Array, context_mask: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """Model input: context tokens clean (x0), target tokens at x_t.

    Args:
      x0: clean latents [B, L, F]. noise: [B, L, F]. t: [B].
      context_mask: bool [B, L], True = clean context token.
    Returns:
      (x_in [B, L, F], per-token timesteps [B, L]; 0 on context tokens).
    """
    x_t = interpolate(x0, noise, t)  # [B, L, F]
    x_in = jnp.where(context_mask[..., None], x0, x_t)  # [B, L, F]
    return x_in, token_timesteps(t, context_mask)


def flow_matching_loss(
    predicted_velocity: jax.Array,
    x0: jax.Array,
    noise: jax.Array,
    target_mask: jax.Array | None = None,
) -> jax.Array:
    """Mean squared velocity error over target tokens only.

    Args:
      predicted_velocity, x0, noise: [B, L, F].
      target_mask: bool [B, L]; True = target token, False = clean context token.
        None counts every token.
    Returns:
      scalar float32: sum of masked squared error / (number of target tokens * F).
      0 if there is no target token.
    """
    err = predicted_velocity.astype(jnp.float32) - velocity_target(x0, noise).astype(jnp.float32)
    sq = jnp.square(err)  # [B, L, F]
    if target_mask is None:
        return jnp.mean(sq)
    weight = target_mask.astype(jnp.float32)  # [B, L]
    total = jnp.einsum("BLF,BL->", sq, weight)
    count = jnp.sum(weight) * sq.shape[-1]
    return total / jnp.maximum(count, 1.0)


def drop_captions(
    key: jax.Array, caption_tokens: jax.Array, drop_prob: float, null_token: int = 0
) -> tuple[jax.Array, jax.Array]:
    """Classifier-free guidance training (Ho & Salimans 2022): drop whole captions.

    Each row of `caption_tokens` ([B, C], or [B, C, ...] embeddings) is replaced by
    `null_token` with probability `drop_prob`, so one network learns both the
    conditional and the unconditional velocity.

    Returns:
      (tokens with the same shape and dtype, dropped bool [B]).
    """
    batch = caption_tokens.shape[0]
    dropped = jax.random.bernoulli(key, drop_prob, (batch,))  # [B]
    mask = dropped.reshape((batch,) + (1,) * (caption_tokens.ndim - 1))
    null = jnp.asarray(null_token, caption_tokens.dtype)
    return jnp.where(mask, null, caption_tokens), dropped
