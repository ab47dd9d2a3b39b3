"""ODE samplers for rectified flow: integrate dx/dt = v(x, t) from t = 1 (noise) to 0.

Time runs backwards, so each step is x <- x + (t_next - t) * v with t_next < t.
The loops are `jax.lax.fori_loop`s: the velocity function is traced once (Euler)
or twice (Heun) whatever `num_steps` is, so compile time does not grow with steps.

In-context conditioning at sampling time: tokens with `fixed_mask` True are held
at `fixed_values` before every model call and in the output, mirroring
`flow_matching.noised_inputs` at training time. The velocity function receives a
scalar t; a model wrapper that needs per-token timesteps builds them with
`flow_matching.token_timesteps(t, fixed_mask)`.

Shapes: x [B, L, F] (any shape works); fixed_mask bool [B, L].
"""

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

VelocityFn = Callable[[jax.Array, jax.Array], jax.Array]  # (x_t, t scalar) -> v


def time_grid(num_steps: int, shift: float = 1.0) -> jax.Array:
    """num_steps + 1 decreasing times from 1 to 0.

    shift > 1 spends more steps at high noise, t' = shift t / (1 + (shift - 1) t)
    (SD3, Esser et al. 2024, eq. 23); useful for large latents, where more
    signal survives a given noise level. shift = 1 is a uniform grid.
    """
    t = jnp.linspace(1.0, 0.0, num_steps + 1)
    return shift * t / (1.0 + (shift - 1.0) * t)


def _clamp(x: jax.Array, fixed_mask: jax.Array | None, fixed_values: jax.Array | None):
    """Holds context tokens at their clean values."""
    if fixed_mask is None:
        return x
    mask = fixed_mask.reshape(fixed_mask.shape + (1,) * (x.ndim - fixed_mask.ndim))
    return jnp.where(mask, fixed_values, x)


def _check_fixed(fixed_mask, fixed_values):
    if (fixed_mask is None) != (fixed_values is None):
        raise ValueError("give both fixed_mask and fixed_values, or neither")


def euler_sample(
    velocity_fn: VelocityFn,
    noise: jax.Array,
    num_steps: int,
    *,
    shift: float = 1.0,
    fixed_mask: jax.Array | None = None,
    fixed_values: jax.Array | None = None,
) -> jax.Array:
    """First-order Euler from x_1 = noise to x_0; num_steps model calls."""
    _check_fixed(fixed_mask, fixed_values)
    ts = time_grid(num_steps, shift).astype(noise.dtype)

    def step(i, x):
        t, t_next = ts[i], ts[i + 1]
        x = x + (t_next - t) * velocity_fn(x, t)
        return _clamp(x, fixed_mask, fixed_values)

    x = _clamp(noise, fixed_mask, fixed_values)
    return jax.lax.fori_loop(0, num_steps, step, x)


def heun_sample(
    velocity_fn: VelocityFn,
    noise: jax.Array,
    num_steps: int,
    *,
    shift: float = 1.0,
    fixed_mask: jax.Array | None = None,
    fixed_values: jax.Array | None = None,
) -> jax.Array:
    """Heun's second-order method (trapezoidal predictor-corrector), 2 num_steps - 1 calls.

    As in EDM (Karras et al. 2022, alg. 1), the final step to t = 0 is plain Euler:
    the velocity at t = 0 is not needed and, for a point-mass-like data
    distribution, is singular there.
    """
    _check_fixed(fixed_mask, fixed_values)
    ts = time_grid(num_steps, shift).astype(noise.dtype)

    def step(i, x):
        t, t_next = ts[i], ts[i + 1]
        d = velocity_fn(x, t)
        x_pred = _clamp(x + (t_next - t) * d, fixed_mask, fixed_values)
        d_next = velocity_fn(x_pred, t_next)
        x = x + (t_next - t) * 0.5 * (d + d_next)
        return _clamp(x, fixed_mask, fixed_values)

    x = _clamp(noise, fixed_mask, fixed_values)
    x = jax.lax.fori_loop(0, num_steps - 1, step, x)
    t, t_next = ts[num_steps - 1], ts[num_steps]
    x = x + (t_next - t) * velocity_fn(x, t)
    return _clamp(x, fixed_mask, fixed_values)


def cfg_velocity(
    velocity_fn_cond: VelocityFn, velocity_fn_uncond: VelocityFn, scale: float
) -> VelocityFn:
    """Classifier-free guidance (Ho & Salimans 2022): v = v_u + scale * (v_c - v_u).

    scale = 1 is the conditional model, 0 the unconditional one, > 1 extrapolates
    away from the unconditional velocity (sharper caption adherence, less
    diversity). Note: some papers write (1 + w); here scale = 1 + w.
    """

    def fn(x, t):
        v_u = velocity_fn_uncond(x, t)
        return v_u + scale * (velocity_fn_cond(x, t) - v_u)

    return fn


def guided(
    velocity_fn: Callable[[jax.Array, jax.Array, Any], jax.Array],
    cond: Any,
    uncond: Any,
    scale: float,
) -> VelocityFn:
    """CFG for a model `velocity_fn(x, t, caption) -> v`, in ONE batched call.

    The conditional and unconditional halves are concatenated on the batch axis
    ([2B, ...]), so the model runs once per step at twice the batch instead of
    twice; `cond` and `uncond` are pytrees with matching shapes and leading dim B.
    Same result as `cfg_velocity` with two closures.
    """
    caption = jax.tree.map(lambda c, u: jnp.concatenate([c, u], axis=0), cond, uncond)

    def fn(x, t):
        v = velocity_fn(jnp.concatenate([x, x], axis=0), t, caption)  # [2B, ...]
        v_c, v_u = jnp.split(v, 2, axis=0)
        return v_u + scale * (v_c - v_u)

    return fn
