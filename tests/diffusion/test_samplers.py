"""ODE samplers: time direction, accuracy order, guidance, fixed context, jit."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from worldsim.diffusion import cfg_velocity, euler_sample, guided, heun_sample, time_grid

B, L, F = 2, 5, 3
SAMPLERS = [euler_sample, heun_sample]


def _noise(seed=0, shape=(B, L, F)):
    return jax.random.normal(jax.random.key(seed), shape)


def _point_mass_velocity(x_star):
    # Data = the single point x*. x_t = (1-t) x* + t n  =>  n = (x_t - (1-t) x*) / t,
    # v = n - x* = (x_t - x*) / t. Singular at t = 0, which no sampler may evaluate.
    return lambda x, t: (x - x_star) / t


def _gaussian_velocity(mu, s):
    # Data N(mu, s^2) per element, noise N(0, 1): v = E[n - x0 | x_t] is linear,
    # v = -mu + Cov(n - x0, x_t) / Var(x_t) * (x_t - E x_t), with
    # Cov = t - (1-t) s^2, Var = (1-t)^2 s^2 + t^2, E x_t = (1-t) mu.
    def v(x, t):
        var = (1 - t) ** 2 * s**2 + t**2
        return -mu + (t - (1 - t) * s**2) / var * (x - (1 - t) * mu)

    return v


def test_time_grid_runs_from_noise_to_data():
    for shift in (1.0, 3.0):
        ts = time_grid(8, shift)
        assert ts.shape == (9,)
        assert float(ts[0]) == pytest.approx(1.0) and float(ts[-1]) == 0.0
        assert bool(jnp.all(jnp.diff(ts) < 0))
    # shift > 1 spends more of the grid at high noise.
    assert bool(jnp.all(time_grid(8, 3.0)[1:-1] > time_grid(8, 1.0)[1:-1]))
    np.testing.assert_allclose(time_grid(4, 3.0)[2], 3 * 0.5 / (1 + 2 * 0.5), rtol=1e-6)


@pytest.mark.parametrize("sampler", SAMPLERS)
@pytest.mark.parametrize("num_steps,shift", [(1, 1.0), (3, 1.0), (7, 3.0)])
def test_point_mass_is_reached_exactly(sampler, num_steps, shift):
    x_star = _noise(seed=1) * 2.0 + 1.0
    out = sampler(_point_mass_velocity(x_star), _noise(), num_steps, shift=shift)
    np.testing.assert_allclose(out, x_star, rtol=1e-5, atol=1e-5)


def test_heun_beats_euler_and_both_converge_on_gaussian():
    mu, s = 2.0, 0.3
    v = _gaussian_velocity(mu, s)
    noise = _noise(shape=(4, 8, 2))
    exact = mu + s * noise  # the flow map of 1-D Gaussians matches quantiles

    def err(sampler, n):
        return float(jnp.max(jnp.abs(sampler(v, noise, n) - exact)))

    e8, e32 = err(euler_sample, 8), err(euler_sample, 32)
    h8, h32 = err(heun_sample, 8), err(heun_sample, 32)
    assert h8 < 0.5 * e8
    assert e32 < 0.35 * e8  # first order: ~1/4
    assert h32 < 0.1 * h8  # second order: ~1/16
    assert h32 < 5e-3


def test_cfg_scale_one_is_conditional_and_zero_unconditional():
    x = _noise()
    v_c = lambda x, t: 2.0 * x + t  # noqa: E731
    v_u = lambda x, t: -x  # noqa: E731
    t = jnp.float32(0.4)
    np.testing.assert_allclose(cfg_velocity(v_c, v_u, 1.0)(x, t), v_c(x, t), rtol=1e-6)
    np.testing.assert_allclose(cfg_velocity(v_c, v_u, 0.0)(x, t), v_u(x, t), rtol=1e-6)
    np.testing.assert_allclose(
        cfg_velocity(v_c, v_u, 3.0)(x, t), v_u(x, t) + 3.0 * (v_c(x, t) - v_u(x, t)), rtol=1e-5
    )


def test_guided_batches_cond_and_uncond_in_one_call():
    calls = []

    def model(x, t, caption):  # caption [B, C]
        calls.append(x.shape)
        return x * jnp.mean(caption, axis=1)[:, None, None] + t

    x, t = _noise(), jnp.float32(0.7)
    cond, uncond = jnp.array([[1.0, 3.0], [2.0, 2.0]]), jnp.zeros((B, 2))
    for scale in (0.0, 1.0, 4.0):
        want = cfg_velocity(
            lambda x, t: model(x, t, cond), lambda x, t: model(x, t, uncond), scale
        )(x, t)
        calls.clear()
        np.testing.assert_allclose(guided(model, cond, uncond, scale)(x, t), want, rtol=1e-6)
        assert calls == [(2 * B, L, F)]


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_fixed_context_tokens_are_held_and_seen_by_the_model(sampler):
    fixed_mask = jnp.zeros((B, L), bool).at[:, :2].set(True)
    fixed_values = _noise(seed=5)

    def v(x, t):  # mixes tokens, so targets depend on the context values
        return x - jnp.mean(x, axis=1, keepdims=True) + jnp.sin(x) * t

    noise = _noise()
    run = functools.partial(sampler, v, num_steps=4, fixed_mask=fixed_mask)
    out = run(noise, fixed_values=fixed_values)
    np.testing.assert_array_equal(out[:, :2], fixed_values[:, :2])
    # The noise under context tokens is never used: context is clean from the first call.
    out2 = run(noise.at[:, :2].set(123.0), fixed_values=fixed_values)
    np.testing.assert_array_equal(out2, out)
    # ...but the context values are: targets change when the context changes.
    out3 = run(noise, fixed_values=fixed_values.at[:, :2].add(1.0))
    assert float(jnp.max(jnp.abs(out3[:, 2:] - out[:, 2:]))) > 1e-3


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_samplers_jit_deterministic_and_not_unrolled(sampler):
    traces = []

    def v(x, t):
        traces.append(1)
        return x * jnp.cos(t) - 0.5

    noise = _noise()
    for n in (2, 9):
        traces.clear()
        jitted = jax.jit(functools.partial(sampler, v, num_steps=n, shift=2.0))
        a, b = jitted(noise), jitted(noise)
        # Traced once, not once per step (Heun: two calls in the loop body + final Euler).
        assert len(traces) == (1 if sampler is euler_sample else 3)
        np.testing.assert_array_equal(a, b)
        np.testing.assert_allclose(a, sampler(v, noise, n, shift=2.0), rtol=1e-5, atol=1e-6)
