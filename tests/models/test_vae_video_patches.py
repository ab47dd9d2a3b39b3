"""The video VAE's space-to-depth patches (`patch_size`) and the 64x64 CPU presets."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from worldsim.models.vae_video import (
    PRESETS,
    VideoVAE,
    VideoVAEConfig,
    depth_to_space,
    num_params,
    space_to_depth,
)


def test_space_to_depth_is_lossless_and_local():
    x = jnp.arange(2 * 3 * 8 * 8 * 3, dtype=jnp.float32).reshape(2, 3, 8, 8, 3)
    y = space_to_depth(x, 2)
    assert y.shape == (2, 3, 4, 4, 12)
    np.testing.assert_array_equal(depth_to_space(y, 2), x)
    # Latent pixel (0, 1) holds exactly the 2x2 patch at rows 0-1, columns 2-3.
    np.testing.assert_array_equal(y[0, 0, 0, 1].reshape(2, 2, 3), x[0, 0, 0:2, 2:4])


@pytest.mark.parametrize("name, grid", [("cpu64", (5, 16, 16, 8)), ("cpu64-z16", (5, 16, 16, 16))])
def test_cpu64_presets_on_17_frames_of_64x64(name, grid):
    """eval_shape only: 17 frames of 64x64 -> the latent grid, and back to the input shape."""
    config = PRESETS[name]
    abstract = nnx.eval_shape(lambda: VideoVAE(config, rngs=nnx.Rngs(0)))
    graphdef, state = nnx.split(abstract)
    video = jax.ShapeDtypeStruct((1, 17, 64, 64, 3), jnp.float32)
    mean, _ = jax.eval_shape(lambda s, v: nnx.merge(graphdef, s).encode(v), state, video)
    recon = jax.eval_shape(lambda s, z: nnx.merge(graphdef, s).decode(z), state, mean)
    assert mean.shape == (1, *grid) == config.latent_shape(video.shape)
    assert recon.shape == video.shape
    assert num_params(abstract) < 200_000


def test_patched_vae_round_trips_a_tiny_clip():
    config = VideoVAEConfig(
        channels=8, channel_mults=(1, 2), num_res_blocks=1, latent_channels=4,
        time_factor=2, space_factor=4, patch_size=2,
    )  # fmt: skip
    model = VideoVAE(config, rngs=nnx.Rngs(0))
    video = jax.random.uniform(jax.random.key(0), (1, 5, 16, 16, 3), minval=-1, maxval=1)
    mean, _ = model.encode(video)
    assert mean.shape == (1, 3, 4, 4, 4)
    assert model.decode(mean).shape == video.shape


def test_bad_patch_sizes_raise_clearly():
    with pytest.raises(ValueError, match="patch_size must be a power of two"):
        VideoVAEConfig(patch_size=3)
    with pytest.raises(ValueError, match="must divide space_factor"):
        VideoVAEConfig(space_factor=2, patch_size=4)
    with pytest.raises(ValueError, match="downsampling levels after patch_size"):
        VideoVAEConfig(channel_mults=(1, 2), time_factor=2, space_factor=8, patch_size=2)
