"""Tests for the FramePredictor stand-in model (CPU, 1-device mesh)."""

import contextlib

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

import worldsim.parallel
from worldsim.models import PRESETS, FramePredictor, flops_per_step, loss_fn

TINY = PRESETS["tiny"]


@contextlib.contextmanager
def _mesh():
    mesh = worldsim.parallel.make_mesh({"data": -1})
    with jax.set_mesh(mesh), nnx.logical_axis_rules(worldsim.parallel.DEFAULT_RULES):
        yield


@pytest.fixture
def model():
    with _mesh():
        yield FramePredictor(TINY, rngs=nnx.Rngs(0))


def _frames(seed=0, b=2, t=TINY.num_frames, s=TINY.frame_size):
    return np.random.RandomState(seed).randint(0, 256, (b, t, s, s, 3)).astype(np.uint8)


def test_output_shapes(model):
    with _mesh():
        out = model(_frames())
        p = TINY.patches_per_frame
        assert out.shape == (2, TINY.num_frames * p, TINY.patch_dim)
        loss, metrics = loss_fn(model, {"frames": _frames()})
        assert loss.shape == () and np.isfinite(loss) and set(metrics) == {"loss", "rmse"}


def test_causal_by_frame(model):
    frames = _frames()
    changed = frames.copy()
    changed[:, -1] = 255 - changed[:, -1]
    with _mesh():
        a, b = model(frames), model(changed)
    split = (TINY.num_frames - 1) * TINY.patches_per_frame
    np.testing.assert_allclose(a[:, :split], b[:, :split], atol=1e-6)
    assert np.abs(a[:, split:] - b[:, split:]).max() > 1e-3  # last frame does see itself


def test_scan_matches_loop_and_layer_axis(model):
    with _mesh():
        np.testing.assert_allclose(model(_frames()), model(_frames(), scan=False), atol=1e-5)
    for path, var in nnx.to_flat_state(nnx.state(model.blocks, nnx.Param)):
        assert var[...].shape[0] == TINY.depth, path
        assert var.get_metadata()["out_sharding"][0] == "layers", path


def test_every_param_annotated(model):
    for path, var in nnx.to_flat_state(nnx.state(model, nnx.Param)):
        axes = var.get_metadata().get("out_sharding")
        assert axes is not None and len(axes) == var[...].ndim, path


def test_loss_decreases_with_adamw(model):
    frames = jnp.asarray(_frames(seed=1, b=4))
    with _mesh():
        opt = nnx.Optimizer(model, optax.adamw(3e-3, weight_decay=0.01), wrt=nnx.Param)

        @nnx.jit
        def step(model, opt, frames):
            (loss, _), grads = nnx.value_and_grad(loss_fn, has_aux=True)(model, frames)
            opt.update(model, grads)
            return loss

        losses = [float(step(model, opt, frames)) for _ in range(30)]
    assert losses[-1] < 0.7 * losses[0], losses


def test_eval_shape_big_preset_param_count():
    cfg = PRESETS["base"]
    with _mesh():
        abstract = nnx.eval_shape(lambda: FramePredictor(cfg, rngs=nnx.Rngs(0)))
    leaves = jax.tree.leaves(nnx.state(abstract, nnx.Param))
    assert all(isinstance(x, jax.ShapeDtypeStruct) for x in leaves)
    n = sum(int(np.prod(x.shape)) for x in leaves)
    d, m = cfg.width, cfg.mlp_width
    per_layer = 4 * d * d + 2 * d * m + m + 5 * d
    expected = (
        cfg.depth * per_layer
        + 2 * cfg.patch_dim * d
        + d
        + cfg.patch_dim
        + 2 * d
        + cfg.num_frames * cfg.patches_per_frame * d
    )
    assert n == expected and n > 80_000_000


def test_flops_per_step():
    f1, f4 = flops_per_step(TINY, 1), flops_per_step(TINY, 4)
    assert f1 > 0 and f4 == pytest.approx(4 * f1)
    assert flops_per_step(PRESETS["base"], 1) > f1
