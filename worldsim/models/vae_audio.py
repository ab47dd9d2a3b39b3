"""A 1D-convolutional audio VAE: log-mel [B, M, F] -> latents [B, M / time_factor, Z].

The audio counterpart of `vae_video.VideoVAE`, on the normalised log-mel spectrograms of
`worldsim.media.audio_features` (values roughly in [-1, 1]). As in the latent audio
diffusion models (AudioLDM, Liu et al. 2023, arXiv:2301.12503; Make-An-Audio, Huang et al.
2023, arXiv:2301.12661) the VAE compresses the spectrogram and a vocoder (here
`audio_features.GriffinLimVocoder`) turns decoded spectrograms back into audio. Unlike them
the convs are 1D along time, the F mel bins being the input channels: a 64-bin spectrogram
is small, and 1D convs keep it fast on CPU. Convs are centred (not causal): the audio
latents are made for a whole clip at once.

Frame counts: M = 4 mel frames per video frame (audio_features.MelConfig), so at the default
time_factor 4 there is exactly one audio latent per video frame: a 2 s clip at 16 fps has
128 mel frames and 32 latents. M must be divisible by time_factor.

Loss: mel L1 + kl_weight * KL(q(z|x) || N(0, I)) (`kl_divergence` from vae_video).

Local letters: F mel bins, t latent frames, Z latent channels, D conv channels, G norm
groups, E channels per group, k conv taps.
"""

import dataclasses
import math

import jax
import jax.numpy as jnp
from flax import nnx

from worldsim.models.params import annotated_param as _param
from worldsim.models.vae_video import VideoVAE, kl_divergence
from worldsim.parallel import shard

# LeCun normal, fan_in = k * D_in for [k, D_in, D_out] kernels (untruncated: see vae_video).
_init = nnx.initializers.variance_scaling(1.0, "fan_in", "normal")
_zeros = nnx.initializers.zeros_init()
_ones = nnx.initializers.ones_init()
_ACT = ("batch", None, None)  # activations [B, M, D]: only batch is sharded


@dataclasses.dataclass(frozen=True)
class AudioVAEConfig:
    channels: int = 128  # D of the first level
    channel_mults: tuple[int, ...] = (1, 2, 4)  # D per level = channels * mult
    num_res_blocks: int = 2  # per level, encoder and decoder
    latent_channels: int = 8  # Z
    time_factor: int = 4  # M compression (power of two, 1 = none)
    n_mels: int = 64  # F, the input channels

    def __post_init__(self):
        f, levels = self.time_factor, len(self.channel_mults) - 1
        if f < 1 or f & (f - 1):
            raise ValueError(f"time_factor must be a power of two, got {f}")
        if f.bit_length() - 1 > levels:
            raise ValueError(
                f"time_factor {f} needs {f.bit_length() - 1} downsampling levels but "
                f"channel_mults {self.channel_mults} gives {levels}"
            )

    @property
    def time_levels(self) -> int:
        return self.time_factor.bit_length() - 1

    def latent_shape(self, mel_shape: tuple[int, ...]) -> tuple[int, int, int]:
        """[B, M, F] -> [B, M / time_factor, Z]; raises a clear error on a bad shape."""
        if len(mel_shape) != 3 or mel_shape[-1] != self.n_mels:
            raise ValueError(f"mel must be [B, M, {self.n_mels}], got shape {tuple(mel_shape)}")
        b, m, _ = mel_shape
        if m < 1 or m % self.time_factor:
            raise ValueError(
                f"M={m} mel frames must be a positive multiple of time_factor ({self.time_factor})"
            )
        return (b, m // self.time_factor, self.latent_channels)


PRESETS: dict[str, AudioVAEConfig] = {
    # Unit tests. 60,352 parameters.
    "tiny": AudioVAEConfig(channels=16, channel_mults=(1, 2, 2), num_res_blocks=1),
    # 2 s clips: [128, 64] log-mel -> [32, 8] latents. 843,280 parameters.
    "small": AudioVAEConfig(channels=64, channel_mults=(1, 2, 2), num_res_blocks=1),
    "default": AudioVAEConfig(),  # as "small", wider and deeper. 12,831,952 parameters.
}


class Conv1d(nnx.Module):
    """Centred 1D conv over [B, M, D] (zero padding); stride 2 halves an even M."""

    def __init__(
        self,
        d_in: int,
        d_out: int,
        *,
        kernel: int = 3,
        stride: int = 1,
        axes: tuple[str | None, str | None] = ("embed", "mlp"),  # logical names of D_in, D_out
        zero_init: bool = False,
        rngs: nnx.Rngs,
    ):
        self.kernel, self.stride = kernel, stride
        init = _zeros if zero_init else _init
        self.kernel_kdd = _param(rngs, init, (kernel, d_in, d_out), (None, *axes))
        self.bias_d = _param(rngs, _zeros, (d_out,), (axes[1],))

    def __call__(self, x_bmd: jax.Array) -> jax.Array:
        pad = (self.kernel - 1) // 2
        y = jax.lax.conv_general_dilated(
            x_bmd,
            self.kernel_kdd[...].astype(x_bmd.dtype),
            window_strides=(self.stride,),
            padding=((pad, self.kernel - 1 - pad),),
            dimension_numbers=("NWC", "WIO", "NWC"),
        )  # [B, M / stride, D_out]
        return y + self.bias_d[...].astype(y.dtype)


class GroupNorm(nnx.Module):
    """GroupNorm with statistics over time and the group's channels (M, E)."""

    def __init__(self, d: int, *, max_groups: int = 32, rngs: nnx.Rngs):
        self.groups = math.gcd(max_groups, d)  # G
        self.scale_d = _param(rngs, _ones, (d,), ("embed",))
        self.bias_d = _param(rngs, _zeros, (d,), ("embed",))

    def __call__(self, x_bmd: jax.Array) -> jax.Array:
        b, m, d = x_bmd.shape
        x = x_bmd.astype(jnp.float32).reshape(b, m, self.groups, -1)  # [B, M, G, E]
        mean = x.mean(axis=(1, 3), keepdims=True)
        var = x.var(axis=(1, 3), keepdims=True)
        x = ((x - mean) * jax.lax.rsqrt(var + 1e-6)).reshape(b, m, d)  # [B, M, D]
        return (x * self.scale_d[...] + self.bias_d[...]).astype(x_bmd.dtype)


class ResBlock(nnx.Module):
    """x + conv(silu(norm(conv(silu(norm(x)))))), with a 1-tap conv skip when D changes."""

    def __init__(self, d_in: int, d_out: int, *, rngs: nnx.Rngs):
        self.norm1 = GroupNorm(d_in, rngs=rngs)
        self.conv1 = Conv1d(d_in, d_out, rngs=rngs)
        self.norm2 = GroupNorm(d_out, rngs=rngs)
        # Zero-init the last conv: every block starts as the identity (as in vae_video).
        self.conv2 = Conv1d(d_out, d_out, axes=("mlp", "embed"), zero_init=True, rngs=rngs)
        skip = Conv1d(d_in, d_out, kernel=1, rngs=rngs) if d_in != d_out else None
        self.skip = nnx.data(skip)

    def __call__(self, x_bmd: jax.Array) -> jax.Array:
        h = self.conv1(jax.nn.silu(self.norm1(x_bmd)))
        h = self.conv2(jax.nn.silu(self.norm2(h)))
        skip = x_bmd if self.skip is None else self.skip(x_bmd)
        return shard(skip + h, _ACT)


class Downsample(nnx.Module):
    """Strided conv: M -> M / 2."""

    def __init__(self, d: int, *, rngs: nnx.Rngs):
        self.conv = Conv1d(d, d, stride=2, rngs=rngs)

    def __call__(self, x_bmd: jax.Array) -> jax.Array:
        return shard(self.conv(x_bmd), _ACT)


class Upsample(nnx.Module):
    """Nearest-neighbour upsampling then a conv: M -> 2M."""

    def __init__(self, d: int, *, rngs: nnx.Rngs):
        self.conv = Conv1d(d, d, rngs=rngs)

    def __call__(self, x_bmd: jax.Array) -> jax.Array:
        return shard(self.conv(jnp.repeat(x_bmd, 2, axis=1)), _ACT)  # [B, 2M, D]


class AudioVAE(nnx.Module):
    """Conv encoder -> diagonal Gaussian latents -> conv decoder, along time.

    Level i works at D = channels * channel_mults[i]; between levels i and i+1 the encoder
    halves M if i < log2(time_factor). The decoder mirrors it. No attention.
    """

    def __init__(self, config: AudioVAEConfig, *, rngs: nnx.Rngs):
        self.config = c = config
        dims = [c.channels * m for m in c.channel_mults]
        z, n = c.latent_channels, len(dims)

        self.enc_in = Conv1d(c.n_mels, dims[0], axes=(None, "mlp"), rngs=rngs)
        enc, d = [], dims[0]
        for i in range(n):
            for _ in range(c.num_res_blocks):
                enc.append(ResBlock(d, dims[i], rngs=rngs))
                d = dims[i]
            if i < min(n - 1, c.time_levels):
                enc.append(Downsample(d, rngs=rngs))
        enc.append(ResBlock(d, d, rngs=rngs))  # middle
        self.encoder = nnx.List(enc)
        self.enc_norm = GroupNorm(d, rngs=rngs)
        self.enc_out = Conv1d(d, 2 * z, axes=("embed", None), rngs=rngs)  # mean, logvar

        self.dec_in = Conv1d(z, d, axes=(None, "mlp"), rngs=rngs)
        dec = [ResBlock(d, d, rngs=rngs)]  # middle
        for i in reversed(range(n)):
            for _ in range(c.num_res_blocks):
                dec.append(ResBlock(d, dims[i], rngs=rngs))
                d = dims[i]
            if 0 < i <= c.time_levels:
                dec.append(Upsample(d, rngs=rngs))
        self.decoder = nnx.List(dec)
        self.dec_norm = GroupNorm(d, rngs=rngs)
        self.dec_out = Conv1d(d, c.n_mels, axes=("embed", None), rngs=rngs)

    def encode(self, mel: jax.Array) -> tuple[jax.Array, jax.Array]:
        """Log-mel [B, M, F] -> (mean, logvar), each [B, M / time_factor, Z]."""
        expected = self.config.latent_shape(mel.shape)
        x = shard(self.enc_in(mel.astype(self.enc_in.kernel_kdd.dtype)), _ACT)  # [B, M, D]
        for layer in self.encoder:
            x = layer(x)
        moments = self.enc_out(jax.nn.silu(self.enc_norm(x)))  # [B, t, 2Z]
        assert moments.shape[:-1] == expected[:-1], (moments.shape, expected)
        mean, logvar = jnp.split(moments, 2, axis=-1)  # [B, t, Z] each
        return mean, jnp.clip(logvar, -30.0, 20.0)  # as LDM: keeps exp(logvar) finite

    sample_latent = staticmethod(VideoVAE.sample_latent)  # z = mean + std * eps

    def decode(self, latents: jax.Array) -> jax.Array:
        """Latents [B, t, Z] -> log-mel [B, t * time_factor, F], unbounded."""
        z = self.config.latent_channels
        if latents.ndim != 3 or latents.shape[-1] != z:
            raise ValueError(f"latents must be [B, t, {z}], got shape {latents.shape}")
        x = shard(self.dec_in(latents.astype(self.dec_in.kernel_kdd.dtype)), _ACT)  # [B, t, D]
        for layer in self.decoder:
            x = layer(x)
        return self.dec_out(jax.nn.silu(self.dec_norm(x)))  # [B, M, F]

    def __call__(self, mel: jax.Array, key: jax.Array) -> tuple[jax.Array, ...]:
        """-> (reconstruction [B, M, F], mean, logvar [B, t, Z])."""
        mean, logvar = self.encode(mel)
        return self.decode(self.sample_latent(mean, logvar, key)), mean, logvar


def vae_loss(
    model: AudioVAE,
    mel: jax.Array,
    key: jax.Array,
    *,
    kl_weight: float = 1e-4,
) -> tuple[jax.Array, dict[str, jax.Array]]:
    """Mel L1 (mean over elements) + kl_weight * KL; mel is normalised log-mel [B, M, F]."""
    target = mel.astype(jnp.float32)
    with jax.named_scope("vae_forward"):
        reconstruction, mean, logvar = model(mel, key)
    with jax.named_scope("vae_loss"):
        mel_l1 = jnp.mean(jnp.abs(reconstruction.astype(jnp.float32) - target))
        kl = kl_divergence(mean, logvar)
        loss = mel_l1 + kl_weight * kl
    return loss, {"loss": loss, "mel_l1": mel_l1, "kl": kl}
