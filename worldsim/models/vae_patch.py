"""A linear space-time patch VAE: pixels [B, T, H, W, 3] -> latents [B, t, h, w, Z], no convs.

Each patch of q frames x p x p pixels is one vector of P = q p^2 3 values; one linear map
sends it to the mean and log-variance of Z latents, another brings Z latents back: a
probabilistic PCA (Tipping & Bishop 1999) trained with the VAE loss of
`vae_video.vae_loss` (foreground-weighted L1 + a small KL). The simulator's scenes are
flat colour with objects a few pixels wide, which a linear code of small patches keeps
and a small conv net does not learn to in a CPU budget: on the 64x64 clips, PCA of 4x4x2
patches with Z = 24 reconstructs at 38.7 dB (foreground error 0.026 in [-1, 1] units)
where the causal conv VAE "cpu64" (0.11M params, 600 steps) reached 23 dB and blurred the
balls away (benchmarks/RESULTS.md, "A linear patch autoencoder").

Causal, as `vae_video.VideoVAE`: latent frame 0 is frame 0 alone (repeated to fill its
patch), latent frame i >= 1 covers frames q (i - 1) + 1 .. q i, so T = 1 + k q frames
give t = 1 + k latent frames, h = H / p, w = W / p, and a latent frame depends on no
later frame. Decoding latent frame 0 gives its patch's last frame.

Local letters: t h w latent grid, Z latent channels, P values per patch.
"""

import dataclasses
import math

import jax
import jax.numpy as jnp
from flax import nnx

from worldsim.models.params import annotated_param as _param
from worldsim.models.vae_video import causal_latent_shape, sample_latent

_zeros = nnx.initializers.zeros_init()
INITIAL_LOGVAR = -10.0


def _logvar_bias(z: int):
    def init(key, shape, dtype=jnp.float32):
        return jnp.concatenate([jnp.zeros((z,), dtype), jnp.full((z,), INITIAL_LOGVAR, dtype)])

    return init


@dataclasses.dataclass(frozen=True)
class PatchVAEConfig:
    patch: int = 4  # p: pixels per patch side (H and W compression)
    frames: int = 2  # q: frames per patch (T compression)
    latent_channels: int = 24  # Z

    def __post_init__(self):
        if self.patch < 1 or self.frames < 1 or self.latent_channels < 1:
            raise ValueError(f"patch, frames and latent_channels must be >= 1, got {self}")

    @property
    def time_factor(self) -> int:
        return self.frames

    @property
    def space_factor(self) -> int:
        return self.patch

    @property
    def values_per_patch(self) -> int:  # P
        return self.frames * self.patch * self.patch * 3

    def latent_shape(self, video_shape: tuple[int, ...]) -> tuple[int, int, int, int, int]:
        """[B, T, H, W, 3] -> [B, t, h, w, Z]; raises a clear error on a bad shape."""
        return causal_latent_shape(self, video_shape)


PRESETS: dict[str, PatchVAEConfig] = {
    # The 2-core CPU recipe at 64x64 (experiments/cpu_physics.py): 17 frames -> [9, 16, 16, 24].
    "patch4x2": PatchVAEConfig(patch=4, frames=2, latent_channels=24),
    # As "patch4x2" with 32 latents per patch (PCA: 41.1 dB instead of 38.7).
    "patch4x2z32": PatchVAEConfig(patch=4, frames=2, latent_channels=32),
    # Unit tests: 16x16 frames -> [t, 4, 4, 8].
    "patch_tiny": PatchVAEConfig(patch=4, frames=2, latent_channels=8),
}


def to_patches(video: jax.Array, config: PatchVAEConfig) -> jax.Array:
    """[B, T, H, W, 3] (T = 1 + k q) -> [B, t, h, w, P]; frame 0 repeated to fill its patch."""
    q, p = config.frames, config.patch
    b, _, h, w, c = video.shape
    video = jnp.concatenate([jnp.repeat(video[:, :1], q, axis=1), video[:, 1:]], axis=1)
    t = video.shape[1] // q
    x = video.reshape(b, t, q, h // p, p, w // p, p, c)  # [B, t, q, h, p, w, p, 3]
    x = x.transpose(0, 1, 3, 5, 2, 4, 6, 7)  # [B, t, h, w, q, p, p, 3]
    return x.reshape(b, t, h // p, w // p, config.values_per_patch)


def from_patches(x: jax.Array, config: PatchVAEConfig) -> jax.Array:
    """[B, t, h, w, P] -> [B, 1 + (t - 1) q, H, W, 3] (latent frame 0 -> its last frame)."""
    q, p = config.frames, config.patch
    b, t, h, w, _ = x.shape
    x = x.reshape(b, t, h, w, q, p, p, 3).transpose(0, 1, 4, 2, 5, 3, 6, 7)
    video = x.reshape(b, t * q, h * p, w * p, 3)  # [B, t q, H, W, 3]
    return video[:, q - 1 :]


class PatchVAE(nnx.Module):
    """Linear patch encoder -> diagonal Gaussian latents -> linear patch decoder."""

    def __init__(self, config: PatchVAEConfig, *, rngs: nnx.Rngs):
        self.config = c = config
        p, z = c.values_per_patch, c.latent_channels
        init = nnx.initializers.variance_scaling(1.0, "fan_in", "normal")
        self.enc_pz = _param(rngs, init, (p, 2 * z), (None, None))  # mean, logvar
        # logvar starts at -10 (std 0.007): the decoder first learns from the means, as a
        # plain autoencoder, instead of from latents drowned in unit noise.
        self.enc_bias = _param(rngs, _logvar_bias(z), (2 * z,), (None,))
        self.dec_zp = _param(rngs, init, (z, p), (None, None))
        self.dec_bias = _param(rngs, _zeros, (p,), (None,))

    def encode(self, video: jax.Array) -> tuple[jax.Array, jax.Array]:
        """Video in [-1, 1], [B, T, H, W, 3] -> (mean, logvar), each [B, t, h, w, Z]."""
        self.config.latent_shape(video.shape)
        x = to_patches(video.astype(jnp.float32), self.config)  # [B, t, h, w, P]
        moments = jnp.einsum("BthwP,PZ->BthwZ", x, self.enc_pz[...]) + self.enc_bias[...]
        mean, logvar = jnp.split(moments, 2, axis=-1)  # [B, t, h, w, Z] each
        return mean, jnp.clip(logvar, -30.0, 20.0)

    sample_latent = staticmethod(sample_latent)

    def decode(self, latents: jax.Array) -> jax.Array:
        """Latents [B, t, h, w, Z] -> video [B, 1 + (t - 1) q, h p, w p, 3] (unbounded)."""
        z = self.config.latent_channels
        if latents.ndim != 5 or latents.shape[-1] != z:
            raise ValueError(f"latents must be [B, t, h, w, {z}], got shape {latents.shape}")
        x = jnp.einsum("BthwZ,ZP->BthwP", latents.astype(jnp.float32), self.dec_zp[...])
        return from_patches(x + self.dec_bias[...], self.config)

    def __call__(self, video: jax.Array, key: jax.Array) -> tuple[jax.Array, ...]:
        """-> (reconstruction [B, T, H, W, 3], mean, logvar [B, t, h, w, Z])."""
        mean, logvar = self.encode(video)
        return self.decode(self.sample_latent(mean, logvar, key)), mean, logvar


def num_params(config: PatchVAEConfig) -> int:
    p, z = config.values_per_patch, config.latent_channels
    return math.prod((p, 2 * z)) + 2 * z + z * p + p
