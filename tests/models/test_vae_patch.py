"""The linear patch VAE: exact patching, causality in time, shapes, and that it learns."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from worldsim.models import vae_patch
from worldsim.models.vae_video import vae_loss

CONFIG = vae_patch.PRESETS["patch_tiny"]  # 4x4 pixels x 2 frames -> 8 latents


def _video(t=9, size=16, seed=0):
    return jax.random.uniform(jax.random.key(seed), (2, t, size, size, 3), minval=-1, maxval=1)


def test_patches_round_trip_exactly_with_frame_zero_alone():
    video = _video()
    x = vae_patch.to_patches(video, CONFIG)  # [2, 5, 4, 4, 96]
    assert x.shape == (2, 5, 4, 4, 96)
    np.testing.assert_array_equal(vae_patch.from_patches(x, CONFIG), video)


def test_shapes_and_clear_errors():
    model = vae_patch.PatchVAE(CONFIG, rngs=nnx.Rngs(0))
    mean, logvar = model.encode(_video())
    assert mean.shape == logvar.shape == CONFIG.latent_shape((2, 9, 16, 16, 3)) == (2, 5, 4, 4, 8)
    assert model.decode(mean).shape == (2, 9, 16, 16, 3)
    with pytest.raises(ValueError, match="1 \\+ k \\* time_factor"):
        model.encode(_video(t=8))
    with pytest.raises(ValueError, match="divisible by space_factor"):
        model.encode(_video(size=18))


def test_a_latent_frame_sees_no_later_frame():
    model = vae_patch.PatchVAE(CONFIG, rngs=nnx.Rngs(0))
    video = _video()
    later = video.at[:, 5:].set(0.0)  # frames 5.. changed: latent frames 3.. may change
    a, _ = model.encode(video)
    b, _ = model.encode(later)
    np.testing.assert_array_equal(a[:, :3], b[:, :3])  # frames 0, 1-2, 3-4
    assert not np.array_equal(a[:, 3:], b[:, 3:])


def test_it_learns_a_flat_scene_with_a_small_object():
    """A 2x2 red square moving over grey: a few hundred steps reconstruct it."""
    frames = np.full((8, 9, 16, 16, 3), 0.4, np.float32)
    rng = np.random.default_rng(0)
    for b in range(8):
        r, c = rng.integers(0, 14, 2)
        for t in range(9):
            frames[b, t, r : r + 2, (c + t) % 14 : (c + t) % 14 + 2] = (0.9, -0.8, -0.8)
    video = jnp.asarray(frames)
    model = vae_patch.PatchVAE(CONFIG, rngs=nnx.Rngs(0))
    opt = nnx.Optimizer(model, optax.adam(1e-2), wrt=nnx.Param)

    @nnx.jit
    def step(model, opt, key):
        def loss(m):
            return vae_loss(m, video, key, kl_weight=1e-6, recon="mse", foreground_weight=10.0)

        (value, metrics), grads = nnx.value_and_grad(loss, has_aux=True)(model)
        opt.update(model, grads)
        return metrics

    first = step(model, opt, jax.random.key(0))
    for i in range(300):
        last = step(model, opt, jax.random.key(i + 1))
    # The floor: the grey background alone, the object dropped (what the conv VAE did).
    background = float(10 * np.log10(4.0 / np.mean((frames - 0.4) ** 2)))
    print(
        f"psnr {float(first['psnr']):.1f} -> {float(last['psnr']):.1f} dB; "
        f"background alone {background:.1f} dB"
    )
    assert float(last["psnr"]) > background + 3.0
