"""Rectified-flow objective: conventions, masking, in-context inputs, caption dropout."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from worldsim.diffusion import (
    drop_captions,
    flow_matching_loss,
    interpolate,
    noised_inputs,
    sample_timesteps,
    token_timesteps,
    velocity_target,
)

B, L, F = 2, 6, 3


def _data(seed=0):
    k0, k1, k2 = jax.random.split(jax.random.key(seed), 3)
    x0 = jax.random.normal(k0, (B, L, F))
    noise = jax.random.normal(k1, (B, L, F))
    v = jax.random.normal(k2, (B, L, F))
    return x0, noise, v


def test_interpolate_endpoints_are_data_and_noise():
    x0, noise, _ = _data()
    np.testing.assert_array_equal(interpolate(x0, noise, jnp.zeros(B)), x0)
    np.testing.assert_array_equal(interpolate(x0, noise, jnp.ones(B)), noise)
    # Per-example t broadcasts over trailing dims.
    x_t = interpolate(x0, noise, jnp.array([0.0, 1.0]))
    np.testing.assert_array_equal(x_t[0], x0[0])
    np.testing.assert_array_equal(x_t[1], noise[1])


def test_velocity_target_is_time_derivative_of_path():
    x0, noise, _ = _data()
    t = jnp.array([0.3, 0.8])
    _, dx_dt = jax.jvp(lambda s: interpolate(x0, noise, s), (t,), (jnp.ones(B),))
    np.testing.assert_allclose(dx_dt, velocity_target(x0, noise), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("mean", [-1.0, 0.0, 0.7])
def test_logit_normal_timesteps_in_open_interval_with_median_sigmoid_mean(mean):
    t = sample_timesteps(jax.random.key(1), (20_000,), mean=mean, std=1.0)
    assert t.shape == (20_000,)
    assert bool(jnp.all((t > 0) & (t < 1)))
    assert abs(float(jnp.median(t)) - float(jax.nn.sigmoid(mean))) < 0.02


def test_loss_is_plain_mse_when_every_token_is_a_target():
    x0, noise, v = _data()
    mse = jnp.mean(jnp.square(v - (noise - x0)))
    np.testing.assert_allclose(flow_matching_loss(v, x0, noise), mse, rtol=1e-6)
    all_true = jnp.ones((B, L), bool)
    np.testing.assert_allclose(flow_matching_loss(v, x0, noise, all_true), mse, rtol=1e-6)


def test_loss_ignores_context_tokens_and_averages_over_targets():
    x0, noise, v = _data()
    target = jnp.zeros((B, L), bool).at[:, 2:].set(True)  # first 2 tokens = context
    base = flow_matching_loss(v, x0, noise, target)

    bumped_context = v.at[:, :2].add(100.0)
    np.testing.assert_array_equal(flow_matching_loss(bumped_context, x0, noise, target), base)

    bumped_target = v.at[0, 3, 1].add(1.0)
    assert abs(float(flow_matching_loss(bumped_target, x0, noise, target) - base)) > 1e-3

    # Mean over target elements only (not diluted by the masked zeros).
    expected = jnp.mean(jnp.square(v - (noise - x0))[:, 2:])
    np.testing.assert_allclose(base, expected, rtol=1e-6)


def test_loss_with_no_target_is_finite_zero():
    x0, noise, v = _data()
    assert float(flow_matching_loss(v, x0, noise, jnp.zeros((B, L), bool))) == 0.0


def test_noised_inputs_keeps_context_clean_and_timestep_zero():
    x0, noise, _ = _data()
    context = jnp.zeros((B, L), bool).at[0, :2].set(True).at[1, :4].set(True)
    t = jnp.array([0.5, 0.9])
    x_in, t_tok = noised_inputs(x0, noise, t, context)
    assert x_in.shape == (B, L, F) and t_tok.shape == (B, L)
    np.testing.assert_array_equal(x_in[0, :2], x0[0, :2])
    np.testing.assert_array_equal(x_in[1, :4], x0[1, :4])
    np.testing.assert_allclose(x_in[0, 2:], interpolate(x0, noise, t)[0, 2:])
    np.testing.assert_allclose(x_in[1, 4:], 0.1 * x0[1, 4:] + 0.9 * noise[1, 4:], rtol=1e-5)
    np.testing.assert_array_equal(t_tok, jnp.where(context, 0.0, t[:, None]))
    np.testing.assert_array_equal(token_timesteps(t, context), t_tok)


def test_drop_captions_replaces_whole_rows():
    tokens = jnp.arange(1, 1 + 1000 * 5, dtype=jnp.int32).reshape(1000, 5)  # no zeros
    out, dropped = drop_captions(jax.random.key(3), tokens, 0.5)
    assert out.shape == tokens.shape and out.dtype == tokens.dtype
    assert dropped.shape == (1000,)
    out, dropped, tokens_np = np.asarray(out), np.asarray(dropped), np.asarray(tokens)
    assert 400 < dropped.sum() < 600
    assert np.all(out[dropped] == 0)
    np.testing.assert_array_equal(out[~dropped], tokens_np[~dropped])

    none, d0 = drop_captions(jax.random.key(3), tokens, 0.0)
    np.testing.assert_array_equal(none, tokens)
    assert not bool(d0.any())
    all_, d1 = drop_captions(jax.random.key(3), tokens, 1.0, null_token=-1)
    assert bool(jnp.all(all_ == -1)) and bool(d1.all())
