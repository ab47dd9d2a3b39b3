"""TextEncoder: shapes, padding is invisible to real tokens, finite null caption, gradients."""

import contextlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import worldsim.parallel
from worldsim.models.text_encoder import PRESETS, TextEncoder, TextEncoderConfig, num_params

TINY = TextEncoderConfig(vocab_size=64, max_len=16, width=32, depth=2, heads=2)


@contextlib.contextmanager
def _mesh():
    mesh = worldsim.parallel.make_mesh({"data": -1})
    with jax.set_mesh(mesh), nnx.logical_axis_rules(worldsim.parallel.DEFAULT_RULES):
        yield


@pytest.fixture(scope="module")
def model():
    with _mesh():
        yield TextEncoder(TINY, rngs=nnx.Rngs(0))


@nnx.jit
def _forward(model: TextEncoder, tokens: jax.Array) -> tuple[jax.Array, jax.Array]:
    return model(tokens)


def _ids(rows: list[list[int]], max_len: int = TINY.max_len) -> np.ndarray:
    out = np.zeros((len(rows), max_len), np.int32)  # [B, C], 0 = padding
    for i, row in enumerate(rows):
        out[i, : len(row)] = row
    return out


def test_shapes_dtypes_and_mask(model):
    tokens = _ids([[5, 6, 7, 3], [9, 3]])
    emb, mask = _forward(model, tokens)
    assert emb.shape == (2, TINY.max_len, TINY.width) and emb.dtype == jnp.float32
    np.testing.assert_array_equal(mask, tokens != 0)
    assert _forward(model, tokens[:, :6])[0].shape == (2, 6, TINY.width)  # shorter C than max_len
    with pytest.raises(ValueError, match="max_len"):
        model(np.zeros((1, TINY.max_len + 1), np.int32))


def test_padding_does_not_change_real_positions(model):
    caption = [5, 6, 7, 8, 3]
    short, _ = _forward(model, _ids([caption], max_len=6))
    long, _ = _forward(model, _ids([caption], max_len=16))
    np.testing.assert_allclose(short[0, :5], long[0, :5], atol=1e-5)
    # Batch-mates of other lengths do not leak in either.
    batched, _ = _forward(model, _ids([caption, [9, 10, 11, 12, 13, 14, 15, 3], []]))
    np.testing.assert_allclose(batched[0, :5], long[0, :5], atol=1e-5)


def test_null_caption_is_finite_and_distinct(model):
    emb, mask = _forward(model, _ids([[], [3], [5, 6, 3]]))  # null, empty caption (EOS only), real
    assert not mask[0].any() and bool(jnp.isfinite(emb).all())
    assert float(jnp.abs(emb[0, 0] - emb[1, 0]).max()) > 1e-3


def test_different_captions_give_different_embeddings(model):
    emb, _ = _forward(model, _ids([[5, 6, 7, 3], [5, 9, 7, 3]]))
    assert float(jnp.abs(emb[0, :4] - emb[1, :4]).max()) > 1e-3


def test_gradient_reaches_every_parameter(model):
    tokens = _ids([[5, 6, 7, 3], []])

    def loss(m):
        emb, mask = m(tokens)
        return jnp.sum(jnp.where(mask[..., None], emb, 0.0) ** 2) + jnp.sum(emb[1] ** 2)

    grads = nnx.jit(nnx.grad(loss))(model)
    norms = {
        jax.tree_util.keystr(path): float(jnp.abs(g).max())
        for path, g in jax.tree_util.tree_leaves_with_path(nnx.state(grads, nnx.Param))
    }
    assert all(np.isfinite(v) for v in norms.values())
    dead = [k for k, v in norms.items() if v == 0.0]
    assert dead == [], dead
    # Only ids that occur get gradient in the embedding table.
    g_vd = nnx.state(grads, nnx.Param)["embed_vd"][...]
    assert float(jnp.abs(g_vd[40]).max()) == 0.0 and float(jnp.abs(g_vd[5]).max()) > 0.0


def test_num_params_matches_the_model_and_presets_build_abstractly(model):
    real = sum(x.size for x in jax.tree.leaves(nnx.state(model, nnx.Param)))
    assert num_params(TINY) == real
    d, m = TINY.width, TINY.mlp_width
    per_block = 4 * d * d + 2 * d * m + m + d + 4 * d  # qkvo, mlp, biases, two norms
    assert real == (TINY.vocab_size + TINY.max_len) * d + TINY.depth * per_block + 2 * d
    for config in PRESETS.values():
        assert num_params(config) > 0
