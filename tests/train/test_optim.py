"""Tests for worldsim.train.optim: schedule, clipping, accumulation, EMA, NaN guard."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from worldsim.train.optim import (
    BadStepCounter,
    TooManyBadSteps,
    all_finite,
    ema_update,
    guarded_update,
    make_optimizer,
    make_schedule,
)


def _params():
    return {"w": jnp.arange(6.0).reshape(2, 3) / 10, "b": jnp.ones((3,))}


def test_schedule_warmup_then_cosine_to_end_fraction():
    sched = make_schedule(1e-3, warmup_steps=10, total_steps=110, end_fraction=0.1)
    assert float(sched(0)) == 0.0
    np.testing.assert_allclose(float(sched(5)), 5e-4, rtol=1e-6)
    np.testing.assert_allclose(float(sched(10)), 1e-3, rtol=1e-6)
    np.testing.assert_allclose(float(sched(60)), 0.55e-3, rtol=1e-5)  # cosine midpoint
    np.testing.assert_allclose(float(sched(110)), 1e-4, rtol=1e-6)
    np.testing.assert_allclose(float(sched(1000)), 1e-4, rtol=1e-6)


def test_schedule_rejects_total_not_after_warmup():
    with pytest.raises(ValueError):
        make_schedule(1e-3, warmup_steps=10, total_steps=10)


def test_clipping_bounds_the_update():
    """A 1e6-norm gradient reaches Adam with norm <= grad_clip_norm, and the applied update
    stays bounded by the learning rate."""
    tx = make_optimizer(
        learning_rate=1e-2, warmup_steps=1, total_steps=10, weight_decay=0.0, grad_clip_norm=0.5
    )
    g = {"w": jnp.full((2, 3), 1e6), "b": jnp.full((3,), -1e6)}
    p = _params()
    state = tx.init(p)
    upd, state = tx.update(g, state, p)
    # After one step Adam's first moment is (1 - b1) * (gradient it saw).
    mu = optax.tree.get(state, "mu")
    np.testing.assert_allclose(float(optax.tree.norm(mu)), (1 - 0.9) * 0.5, rtol=1e-5)
    for _ in range(3):  # step 0 has lr 0 (warmup starts at 0); later steps move params
        upd, state = tx.update(g, state, p)
        p = optax.apply_updates(p, upd)
        assert float(optax.tree.max(jax.tree.map(jnp.abs, upd))) <= 1e-2 * 1.01
    assert np.all(np.isfinite(p["w"]))


@pytest.mark.parametrize("clip", [1e3, 0.05])  # clipping inactive / active on the mean grad
def test_grad_accumulation_k2_equals_one_step_on_mean_grad(clip):
    kw = dict(
        learning_rate=1e-1, warmup_steps=1, total_steps=20, weight_decay=0.1, grad_clip_norm=clip
    )
    tx_acc = make_optimizer(grad_accum_steps=2, **kw)
    tx_one = make_optimizer(grad_accum_steps=1, **kw)
    key1, key2 = jax.random.split(jax.random.key(0))
    p0 = _params()
    grads = []
    for i in range(4):  # two full optimizer steps (step 0 has lr 0; step 1 moves params)
        k = jax.random.fold_in(key1 if i % 2 else key2, i)
        grads.append(jax.tree.map(lambda x, k=k: jax.random.normal(k, x.shape), p0))

    p_acc, s_acc = p0, tx_acc.init(p0)
    for i, g in enumerate(grads):
        before = p_acc
        upd, s_acc = tx_acc.update(g, s_acc, p_acc)
        p_acc = optax.apply_updates(p_acc, upd)
        if i % 2 == 0:  # first micro-step: nothing applied yet
            jax.tree.map(np.testing.assert_array_equal, p_acc, before)

    p_one, s_one = p0, tx_one.init(p0)
    for g1, g2 in zip(grads[::2], grads[1::2], strict=True):
        mean = jax.tree.map(lambda a, b: (a + b) / 2, g1, g2)
        upd, s_one = tx_one.update(mean, s_one, p_one)
        p_one = optax.apply_updates(p_one, upd)

    assert not np.allclose(p_one["w"], p0["w"])  # the comparison is not vacuous
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7), p_acc, p_one)


def test_ema_update_math():
    ema = {"a": jnp.array([1.0, 2.0])}
    new = ema_update(ema, {"a": jnp.array([3.0, 6.0])}, 0.9)
    np.testing.assert_allclose(new["a"], [0.9 * 1 + 0.1 * 3, 0.9 * 2 + 0.1 * 6], rtol=1e-6)
    assert new["a"].dtype == jnp.float32
    # bf16 params, f32 EMA: EMA keeps its dtype.
    new = ema_update(ema, {"a": jnp.array([3.0, 6.0], jnp.bfloat16)}, 0.5)
    assert new["a"].dtype == jnp.float32
    np.testing.assert_allclose(new["a"], [2.0, 4.0])


def test_all_finite():
    assert bool(all_finite(jnp.float32(1.0), {"g": jnp.ones(3)}))
    assert not bool(all_finite(jnp.float32(jnp.nan), {"g": jnp.ones(3)}))
    assert not bool(all_finite(jnp.float32(1.0), {"g": jnp.array([1.0, jnp.inf])}))
    assert bool(all_finite({"step": jnp.int32(3)}))  # integer leaves are ignored


def _make_model_and_opt():
    model = nnx.Linear(3, 2, rngs=nnx.Rngs(0))
    tx = make_optimizer(
        learning_rate=1e-1, warmup_steps=1, total_steps=10, weight_decay=0.0, grad_clip_norm=1.0
    )
    return model, nnx.Optimizer(model, tx, wrt=nnx.Param)


def test_guarded_update_skips_nan_step_and_applies_finite_one_under_jit():
    model, opt = _make_model_and_opt()
    graphdef, state = nnx.split((model, opt))

    @jax.jit
    def step(state, x, y, scale):
        model, opt = nnx.merge(graphdef, state)

        def loss_fn(m):
            return jnp.mean((m(x) - y) ** 2) * scale  # scale=nan -> NaN loss and grads

        loss, grads = nnx.value_and_grad(loss_fn)(model)
        ok = all_finite(loss, grads)
        before = nnx.as_pure(nnx.state((model, opt)))
        opt.update(model, grads)
        after = nnx.as_pure(nnx.state((model, opt)))
        nnx.update((model, opt), guarded_update(before, after, ok))
        return nnx.state((model, opt)), ok

    x, y = jnp.ones((4, 3)), jnp.zeros((4, 2))
    leaves = lambda s: [np.asarray(a) for a in jax.tree.leaves(nnx.as_pure(s))]  # noqa: E731

    # Warm up one finite step so lr > 0 and Adam moments are non-zero.
    state, ok = step(state, x, y, 1.0)
    state, ok = step(state, x, y, 1.0)
    assert bool(ok)
    ref = leaves(state)

    bad, ok = step(state, x, y, jnp.nan)
    assert not bool(ok)
    for a, b in zip(leaves(bad), ref, strict=True):
        np.testing.assert_array_equal(a, b)  # params, mu, nu, counts, opt.step: unchanged

    good, ok = step(bad, x, y, 1.0)
    assert bool(ok)
    assert all(np.all(np.isfinite(a)) for a in leaves(good))
    model_good, opt_good = nnx.merge(graphdef, good)
    model_ref, _ = nnx.merge(graphdef, state)
    assert not np.allclose(model_good.kernel[...], model_ref.kernel[...])
    assert int(opt_good.step[...]) == 3


def test_apply_if_finite_gives_up_and_applies_nan_after_max_errors():
    """Documents why we do not use optax.apply_if_finite: after max_consecutive_errors it
    applies the non-finite update."""
    tx = optax.apply_if_finite(optax.sgd(0.1), max_consecutive_errors=2)
    p = {"w": jnp.ones(2)}
    s = tx.init(p)
    nan = {"w": jnp.full(2, jnp.nan)}
    for _ in range(2):
        u, s = tx.update(nan, s, p)
        p = optax.apply_updates(p, u)
        assert np.all(np.isfinite(p["w"]))
    u, s = tx.update(nan, s, p)
    p = optax.apply_updates(p, u)
    assert np.all(np.isnan(p["w"]))


def test_bad_step_counter_raises_after_k_consecutive_and_resets():
    messages = []
    c = BadStepCounter(3, log=messages.append)
    c.update(False, 1)
    c.update(False, 2)
    c.update(True, 3)  # resets
    assert c.consecutive == 0 and c.total == 2
    c.update(False, 4)
    c.update(False, 5)
    with pytest.raises(TooManyBadSteps, match="3 consecutive steps .*step 6"):
        c.update(False, 6)
    assert len(messages) == 5
    with pytest.raises(ValueError):
        BadStepCounter(0)
