"""Tests for the joint audio-video MM-DiT (tiny config, CPU)."""

import dataclasses
import functools
import math
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from worldsim.models import av_dit
from worldsim.models.av_dit import (
    PRESETS,
    AVDiT,
    flops_per_step,
    make_config,
    num_params,
)

FV, FA, DT = 8, 6, 12
TINY = make_config("tiny", video_features=FV, audio_features=FA, text_width=DT)
B, T, H, W, A, C = 2, 3, 2, 2, 8, 5
L = T * H * W
FIRST = H * W  # the first frame's tokens are clean context (type 1)


def _inputs(seed: int = 0) -> dict[str, np.ndarray]:
    r = np.random.RandomState(seed)
    frame, row, col = np.meshgrid(np.arange(T), np.arange(H), np.arange(W), indexing="ij")
    video_pos = np.stack([frame / 6.0, row, col], -1).reshape(L, 3)  # 6 latent frames / s
    video_type = np.zeros((B, L), np.int32)
    video_type[:, :FIRST] = 1
    text_mask = np.ones((B, C), bool)
    text_mask[0, 3:] = False  # row 0: two padding tokens
    return dict(
        video=r.randn(B, L, FV).astype(np.float32),
        video_pos=np.broadcast_to(video_pos, (B, L, 3)).astype(np.float32) + 0.0,
        video_type=video_type,
        audio=r.randn(B, A, FA).astype(np.float32),
        audio_pos=np.broadcast_to(np.arange(A) * 0.06, (B, A)).astype(np.float32) + 0.0,
        audio_type=np.zeros((B, A), np.int32),
        t=np.array([0.3, 0.8], np.float32),
        text=r.randn(B, C, DT).astype(np.float32),
        text_mask=text_mask,
        video_valid=np.ones((B, L), bool),
        audio_valid=np.ones((B, A), bool),
    )


@jax.jit
def _add_noise(state, scale):
    leaves, treedef = jax.tree.flatten(state)
    keys = jax.random.split(jax.random.key(1), len(leaves))
    noisy = [x + scale * jax.random.normal(k, x.shape) for x, k in zip(leaves, keys)]
    return jax.tree.unflatten(treedef, noisy)


def _perturbed(model: AVDiT, scale: float = 0.2) -> AVDiT:
    """Adds noise to every param so no zero-initialised branch is still closed."""
    nnx.update(model, _add_noise(nnx.state(model, nnx.Param), scale))
    return model


@functools.partial(jax.jit, static_argnums=0, static_argnames="scan")
def _apply(graphdef, state, inputs, scan=True):
    return nnx.merge(graphdef, state)(**inputs, scan=scan)


@pytest.fixture(scope="module")
def forward():
    """A jitted forward of a perturbed tiny model: compiled once for the shared shapes."""
    graphdef, state = nnx.split(_perturbed(AVDiT(TINY, rngs=nnx.Rngs(0))))
    return functools.partial(_apply, graphdef, state)


def _changed(a, b, atol=1e-4) -> bool:
    return float(jnp.max(jnp.abs(a - b))) > atol


def test_shapes_zero_init_and_gradient():
    # One layer: the property is per block, and a backward pass is slow to compile on CPU.
    graphdef, state = nnx.split(AVDiT(dataclasses.replace(TINY, depth=1), rngs=nnx.Rngs(0)))
    inputs = _inputs()
    target = np.random.RandomState(3).randn(B, L, FV).astype(np.float32)

    @jax.jit
    def loss_and_grad(state):
        def loss(state):
            v_blf, v_baf = nnx.merge(graphdef, state)(**inputs)
            mse = jnp.mean(jnp.square(v_blf - target)) + jnp.mean(jnp.square(v_baf - 1.0))
            return mse, (v_blf, v_baf)

        return jax.grad(loss, has_aux=True)(state)

    grads, (v_blf, v_baf) = loss_and_grad(state)
    assert v_blf.shape == (B, L, FV) and v_baf.shape == (B, A, FA)
    assert v_blf.dtype == jnp.float32 and v_baf.dtype == jnp.float32
    # adaLN-Zero: the initial velocity is exactly zero ...
    assert not np.any(np.asarray(v_blf)) and not np.any(np.asarray(v_baf))
    # ... yet the model is trainable: the zero-initialised output layers get gradient.
    assert float(jnp.abs(grads["video_out"]["out_df"][...]).max()) > 1e-3
    assert float(jnp.abs(grads["audio_out"]["out_df"][...]).max()) > 1e-3
    assert all(bool(jnp.all(jnp.isfinite(g))) for g in jax.tree.leaves(grads))


def test_joint_attention_audio_changes_video(forward):
    inputs = _inputs()
    v0, _ = forward(inputs)
    inputs["audio"] = inputs["audio"] + 1.0
    v1, _ = forward(inputs)
    assert _changed(v0[:, FIRST:], v1[:, FIRST:])  # target video tokens hear the audio


def test_text_conditions_and_padding_is_ignored(forward):
    inputs = _inputs()
    v0, a0 = forward(inputs)
    padded = dict(inputs, text=inputs["text"].copy())
    padded["text"][0, 3:] = 100.0  # row 0's padding positions
    v1, a1 = forward(padded)
    np.testing.assert_array_equal(v0, v1)
    np.testing.assert_array_equal(a0, a1)
    real = dict(inputs, text=inputs["text"].copy())
    real["text"][0, :3] += 1.0  # row 0's real caption tokens
    v2, a2 = forward(real)
    assert _changed(v0[0], v2[0]) and _changed(a0[0], a2[0])
    np.testing.assert_array_equal(v0[1], v2[1])  # the other example is untouched


def test_null_caption_is_finite_and_differs(forward):
    inputs = _inputs()
    null = dict(inputs, text_mask=np.zeros((B, C), bool))
    v0, a0 = forward(inputs)
    v1, a1 = forward(null)
    assert np.all(np.isfinite(v1)) and np.all(np.isfinite(a1))
    assert _changed(v0, v1)


def test_invalid_tokens_are_not_attended(forward):
    inputs = _inputs()
    inputs["video_valid"][:, 7] = False
    inputs["audio_valid"][:, 2] = False
    v0, a0 = forward(inputs)
    changed = dict(inputs, video=inputs["video"].copy(), audio=inputs["audio"].copy())
    changed["video"][:, 7] += 5.0
    changed["audio"][:, 2] += 5.0
    v1, a1 = forward(changed)
    keep_v, keep_a = np.arange(L) != 7, np.arange(A) != 2
    np.testing.assert_allclose(v0[:, keep_v], v1[:, keep_v], atol=1e-6)
    np.testing.assert_allclose(a0[:, keep_a], a1[:, keep_a], atol=1e-6)
    assert _changed(v0[:, 7], v1[:, 7])  # the token's own output still follows its input


def test_time_is_one_shared_relative_axis(forward):
    inputs = _inputs()
    v0, a0 = forward(inputs)
    shifted = dict(
        inputs, video_pos=inputs["video_pos"].copy(), audio_pos=inputs["audio_pos"] + 2.5
    )
    shifted["video_pos"][..., 0] += 2.5
    v1, a1 = forward(shifted)
    np.testing.assert_allclose(v0, v1, atol=2e-4 * float(np.abs(v0).max()))
    np.testing.assert_allclose(a0, a1, atol=2e-4 * float(np.abs(a0).max()))
    # Moving only the audio by 0.3 s desynchronises it: the video must notice.
    v2, _ = forward(dict(inputs, audio_pos=inputs["audio_pos"] + 0.3))
    assert _changed(v0[:, FIRST:], v2[:, FIRST:], atol=1e-2 * float(np.abs(v0).max()))


def test_token_type_embedding_matters(forward):
    inputs = _inputs()
    v0, _ = forward(inputs)
    # Types 1 and 2 are both clean context (same t = 0 row, same mask): only the
    # type embedding differs.
    as_reference = dict(inputs, video_type=np.where(inputs["video_type"] == 1, 2, 0))
    v1, _ = forward(as_reference)
    assert _changed(v0[:, :FIRST], v1[:, :FIRST])
    as_target = dict(inputs, video_type=np.zeros_like(inputs["video_type"]))
    v2, _ = forward(as_target)
    assert _changed(v0[:, :FIRST], v2[:, :FIRST])


def test_context_tokens_ignore_t_and_targets(forward):
    inputs = _inputs()
    inputs["audio_type"][:, :3] = 3  # some audio context too
    v0, a0 = forward(inputs)
    v1, a1 = forward(dict(inputs, t=np.array([0.9, 0.1], np.float32)))
    noisier = dict(inputs, video=inputs["video"].copy(), audio=inputs["audio"].copy())
    noisier["video"][:, FIRST:] += 3.0
    noisier["audio"][:, 3:] += 3.0
    v2, a2 = forward(noisier)
    for v, a in ((v1, a1), (v2, a2)):
        np.testing.assert_allclose(v0[:, :FIRST], v[:, :FIRST], atol=1e-6)
        np.testing.assert_allclose(a0[:, :3], a[:, :3], atol=1e-6)
        assert _changed(v0[:, FIRST:], v[:, FIRST:]) and _changed(a0[:, 3:], a[:, 3:])


def test_scan_matches_loop(forward):
    inputs = _inputs()
    for got, want in zip(forward(inputs), forward(inputs, scan=False)):
        np.testing.assert_allclose(got, want, atol=1e-5)


def test_nnx_jit_bf16_and_remat(forward):
    inputs = _inputs()
    ref = forward(inputs)
    model = _perturbed(AVDiT(TINY, rngs=nnx.Rngs(0)))  # same init, same noise as `forward`
    # bf16 compute (the trainer casts the params): float32 outputs close to fp32.
    graphdef, state = nnx.split(model)
    bf16 = nnx.merge(graphdef, jax.tree.map(lambda x: x.astype(jnp.bfloat16), state))
    for got, want in zip(nnx.jit(lambda m, x: m(**x))(bf16, inputs), ref):
        assert got.dtype == jnp.float32 and bool(jnp.all(jnp.isfinite(got)))
        assert float(jnp.abs(got - want).max()) < 0.1 * float(jnp.abs(want).max())
    # Every remat policy traces through scan + grad (shapes only: compiling is slow).
    for policy in ("full", "dots"):
        graphdef, state = nnx.split(
            AVDiT(dataclasses.replace(TINY, remat=policy), rngs=nnx.Rngs(0))
        )

        def loss(state, graphdef=graphdef):
            v_blf, v_baf = nnx.merge(graphdef, state)(**inputs)
            return jnp.sum(v_blf**2) + jnp.sum(v_baf**2)

        grads = jax.eval_shape(jax.grad(loss), state)
        assert jax.tree.structure(grads) == jax.tree.structure(state)


def test_params_annotated_and_stacked():
    model = AVDiT(TINY, rngs=nnx.Rngs(0))
    for path, var in nnx.to_flat_state(nnx.state(model, nnx.Param)):
        axes = var.get_metadata().get("out_sharding")
        assert axes is not None and len(axes) == var[...].ndim, path
    for path, var in nnx.to_flat_state(nnx.state(model.blocks, nnx.Param)):
        assert var[...].shape[0] == TINY.depth, path
        assert var.get_metadata()["out_sharding"][0] == "layers", path


def test_config_validation():
    with pytest.raises(ValueError, match="divisible by 8"):
        make_config("tiny", video_features=4, audio_features=4, text_width=4, heads=8)  # K = 4
    with pytest.raises(ValueError, match="remat"):
        make_config("tiny", video_features=4, audio_features=4, text_width=4, remat="some")
    with pytest.raises(ValueError, match="preset"):
        make_config("XXL", video_features=4, audio_features=4, text_width=4)


def test_preset_param_counts_match_docstring():
    rows = re.findall(
        r"^\| ([\w-]+) +\| (\d+) +\| (\d+) +\| (\d+) +\| ([\d,]+) +\|$", av_dit.__doc__, re.M
    )
    assert {r[0] for r in rows} == set(PRESETS)
    for name, width, depth, heads, count in rows:
        cfg = make_config(name, video_features=64, audio_features=64, text_width=256)
        assert (cfg.width, cfg.depth, cfg.heads) == (int(width), int(depth), int(heads)), name
        assert num_params(cfg) == int(count.replace(",", "")), name
    # The DiT-like ladder: ~30M / 130M / 450M / 1B+.
    counts = {r[0]: int(r[4].replace(",", "")) for r in rows}
    assert 25e6 < counts["S"] < 40e6 and 110e6 < counts["B"] < 150e6
    assert 400e6 < counts["L"] < 500e6 and counts["XL"] > 1e9


def test_flops_per_step_matches_manual_count_and_xla():
    b, ct = 2, C
    got = flops_per_step(TINY, b, L, A, ct)
    # Manual count from the real param shapes: each matmul weight times the rows
    # that pass through it, x6 for forward + backward.
    abstract = nnx.eval_shape(lambda: AVDiT(TINY, rngs=nnx.Rngs(0)))
    rows = {"video": L, "audio": A}  # per example
    matmul = 0
    for path, var in nnx.to_flat_state(nnx.state(abstract, nnx.Param)):
        name, shape = str(path[-1]), var.shape
        if len(shape) - (path[0] == "blocks") < 2:
            continue  # biases, norm scales, null slots
        size = math.prod(shape)
        if path[0] == "blocks":
            if name.startswith("null"):
                continue  # learned text slots, concatenated
            elif name.startswith("adaln"):
                matmul += size * 2  # two conditioning rows
            elif name in ("ck_dnk", "cv_dnk"):
                matmul += size * ct
            else:
                matmul += size * rows[path[1]]
        elif name.endswith("_type_yd"):
            continue  # a gather, not a matmul
        elif name.startswith(("video", "audio")):
            matmul += size * rows[name.split("_")[0]]
        elif path[0] in ("video_out", "audio_out"):
            matmul += size * (2 if name.startswith("adaln") else rows[path[0].split("_")[0]])
        elif name.startswith("t_fc"):
            matmul += size * 2
        elif name == "text_gd":
            matmul += size * ct
        else:
            assert name == "pool_gd", name
            matmul += size
    j, d = L + A, TINY.width
    attention = TINY.depth * 3 * 4 * d * (j * j + j * (ct + 1))
    assert got == pytest.approx(b * (6 * matmul + attention), rel=1e-9)
    assert flops_per_step(TINY, 2 * b, L, A, ct) == pytest.approx(2 * got)

    # XLA's count of the forward (unrolled loop) is within 25% of a third of it;
    # the rest is elementwise work the analytic count ignores.
    model = AVDiT(TINY, rngs=nnx.Rngs(0))
    graphdef, state = nnx.split(model)
    fwd = jax.jit(lambda s, x: nnx.merge(graphdef, s)(**x, scan=False))
    cost = fwd.lower(state, _inputs()).compile().cost_analysis()
    cost = cost[0] if isinstance(cost, list | tuple) else cost
    assert cost["flops"] == pytest.approx(got / 3, rel=0.25)
