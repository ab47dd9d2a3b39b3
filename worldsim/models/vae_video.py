"""A causal 3D-convolutional video VAE: pixels [B, T, H, W, 3] -> latents [B, t, h, w, Z].

In the spirit of the "causal video VAEs" of MAGVIT-v2 (Yu et al. 2023,
arXiv:2310.05737), CogVideoX (Yang et al. 2024, arXiv:2408.06072) and LTX-Video
(HaCohen et al. 2024, arXiv:2501.00103): every 3D conv pads only on the *past*
side in time (replicating the first frame), so the first frame is encoded on its
own (an image is a 1-frame video) and each further latent frame summarises the
next `time_factor` frames, seeing nothing later. Normalisation is per frame
(GroupNorm statistics over H, W and the group's channels, never over T), which
keeps the causality exact. The decoder is causal as well.

Frame counts: T = 1 + k * time_factor  ->  t = 1 + k, and h = H / space_factor,
w = W / space_factor. Latent frame i depends only on input frames 0 .. i * time_factor.

Patches. With patch_size p > 1 the first log2(p) of the space_factor halvings are a
lossless space-to-depth ([H, W, 3] -> [H/p, W/p, 3 p^2]) before the first conv, and the
decoder ends with the inverse (depth-to-space), as LTX-Video's VAE patchifies its input
(HaCohen et al. 2024, 4x4) and the Cosmos tokenizer its Haar wavelet (arXiv:2501.03575):
the convs then run at H/p, W/p, which is what makes 64x64 frames affordable on a CPU,
and no pixel is averaged away before the network has seen it (the simulator's objects
are a few pixels wide).

Loss: reconstruction (L1 or MSE) + kl_weight * KL(q(z|x) || N(0, I)). Perceptual
(LPIPS) and adversarial (GAN) terms, which the papers above add for sharpness,
are out of scope: off by default because they are not built yet.

Local letters: t h w latent frames / grid, Z latent channels, D conv channels,
G norm groups, E channels per group.
"""

import dataclasses
import math

import jax
import jax.numpy as jnp
from flax import nnx

from worldsim.models.params import annotated_param as _param
from worldsim.parallel import shard

# LeCun normal, fan_in = kt * kh * kw * D_in for DHWIO kernels. Untruncated: the truncated
# sampler's erfinv costs ~1 s of XLA CPU compile per distinct kernel shape at init.
_init = nnx.initializers.variance_scaling(1.0, "fan_in", "normal")
_zeros = nnx.initializers.zeros_init()
_ones = nnx.initializers.ones_init()
_ACT = ("batch", None, None, None, None)  # activations [B, T, H, W, D]: only batch is sharded


@dataclasses.dataclass(frozen=True)
class VideoVAEConfig:
    channels: int = 64  # D of the first level
    channel_mults: tuple[int, ...] = (1, 2, 4, 4)  # D per level = channels * mult
    num_res_blocks: int = 2  # per level, encoder and decoder
    latent_channels: int = 16  # Z
    time_factor: int = 4  # T compression (power of two, 1 = none)
    space_factor: int = 8  # H and W compression (power of two), patch_size included
    patch_size: int = 1  # of it, by space-to-depth before the first conv (power of two)

    def __post_init__(self):
        levels = len(self.channel_mults) - 1  # downsampling steps available
        for name in ("time_factor", "space_factor", "patch_size"):
            f = getattr(self, name)
            if f < 1 or f & (f - 1):
                raise ValueError(f"{name} must be a power of two, got {f}")
        if self.space_factor % self.patch_size:
            raise ValueError(
                f"patch_size {self.patch_size} must divide space_factor {self.space_factor}"
            )
        for name, f in (("time_factor", self.time_factor), ("space_factor", self.space_factor)):
            need = self.time_levels if name == "time_factor" else self.space_levels
            if need > levels:
                patched = f" after patch_size {self.patch_size}" if name != "time_factor" else ""
                raise ValueError(
                    f"{name} {f} needs {need} downsampling levels{patched} but "
                    f"channel_mults {self.channel_mults} gives {levels}"
                )

    @property
    def time_levels(self) -> int:
        return self.time_factor.bit_length() - 1

    @property
    def space_levels(self) -> int:
        """Strided (conv) halvings of H and W: space_factor / patch_size."""
        return (self.space_factor // self.patch_size).bit_length() - 1

    def latent_shape(self, video_shape: tuple[int, ...]) -> tuple[int, int, int, int, int]:
        """[B, T, H, W, 3] -> [B, t, h, w, Z]; raises a clear error on a bad shape."""
        return causal_latent_shape(self, video_shape)


def causal_latent_shape(config, video_shape: tuple[int, ...]) -> tuple[int, int, int, int, int]:
    """[B, T, H, W, 3] -> [B, t, h, w, Z] for any causal video VAE config (`time_factor`,
    `space_factor`, `latent_channels`): frame 0 alone, then time_factor frames per latent."""
    if len(video_shape) != 5 or video_shape[-1] != 3:
        raise ValueError(f"video must be [B, T, H, W, 3], got shape {tuple(video_shape)}")
    b, t, h, w, _ = video_shape
    tf, sf = config.time_factor, config.space_factor
    if t < 1 or (t - 1) % tf:
        raise ValueError(f"T={t} frames: need T = 1 + k * time_factor ({tf}), e.g. {1 + tf}")
    if h % sf or w % sf:
        raise ValueError(f"H, W = {h}, {w} must be divisible by space_factor {sf}")
    return (b, 1 + (t - 1) // tf, h // sf, w // sf, config.latent_channels)


def sample_latent(mean: jax.Array, logvar: jax.Array, key: jax.Array) -> jax.Array:
    """Reparameterised z = mean + std * eps, eps ~ N(0, I)."""
    eps = jax.random.normal(key, mean.shape, mean.dtype)
    return mean + jnp.exp(0.5 * logvar) * eps


PRESETS: dict[str, VideoVAEConfig] = {
    # Unit tests: 16x16 frames, 4x time and space compression.
    "tiny": VideoVAEConfig(
        channels=8, channel_mults=(1, 2, 2), num_res_blocks=1, latent_channels=4, space_factor=4
    ),
    # The 2-core CPU demo: 32x32 frames -> latents [5, 16, 16, 8] per 17 frames. Objects
    # are 1-3 px at this size: 4x space compression lost them all, 2x keeps them.
    "cpu": VideoVAEConfig(
        channels=8, channel_mults=(1, 2, 2), num_res_blocks=1, latent_channels=8, space_factor=2
    ),
    # The 2-core CPU recipe at the clips' own 64x64 (experiments/cpu_physics.py): 2x2
    # patches, then the "cpu" network: 17 frames -> latents [5, 16, 16, 8]. ~2.2e10 FLOP
    # per batch-4 training step (two windows per clip), as "cpu" at 32x32.
    "cpu64": VideoVAEConfig(
        channels=8,
        channel_mults=(1, 2, 2),
        num_res_blocks=1,
        latent_channels=8,
        space_factor=4,
        patch_size=2,
    ),
    # As "cpu64", twice the latent channels: [5, 16, 16, 16] per 17 frames.
    "cpu64-z16": VideoVAEConfig(
        channels=8,
        channel_mults=(1, 2, 2),
        num_res_blocks=1,
        latent_channels=16,
        space_factor=4,
        patch_size=2,
    ),
    # As "cpu64", 2x time compression instead of 4x: [9, 16, 16, 8] per 17 frames
    # (~2.6e10 FLOP per batch-4 step): a ball moves ~10 px in 4 frames.
    "cpu64-t2": VideoVAEConfig(
        channels=8,
        channel_mults=(1, 2, 2),
        num_res_blocks=1,
        latent_channels=8,
        time_factor=2,
        space_factor=4,
        patch_size=2,
    ),
    # 64x64 clips at 16 fps: 33 frames (~2 s) -> latents [9, 8, 8, 8].
    "small": VideoVAEConfig(channels=32, num_res_blocks=1, latent_channels=8),
    "default": VideoVAEConfig(),  # 64x64 clips at 16 fps -> [9, 8, 8, 16] per 33 frames
}


def num_params(model: nnx.Module) -> int:
    """Number of parameter scalars (works on `nnx.eval_shape` models too)."""
    return sum(math.prod(v.shape) for v in jax.tree.leaves(nnx.state(model, nnx.Param)))


def space_to_depth(x_bthwd: jax.Array, p: int) -> jax.Array:
    """[B, T, H, W, D] -> [B, T, H/p, W/p, p * p * D]: each p x p patch becomes channels."""
    if p == 1:
        return x_bthwd
    b, t, h, w, d = x_bthwd.shape
    x = x_bthwd.reshape(b, t, h // p, p, w // p, p, d)  # [B, T, H/p, p, W/p, p, D]
    x = x.transpose(0, 1, 2, 4, 3, 5, 6)  # [B, T, H/p, W/p, p, p, D]
    return x.reshape(b, t, h // p, w // p, p * p * d)  # [B, T, H/p, W/p, p p D]


def depth_to_space(x_bthwd: jax.Array, p: int) -> jax.Array:
    """The inverse of `space_to_depth`: [B, T, H, W, p * p * D] -> [B, T, p H, p W, D]."""
    if p == 1:
        return x_bthwd
    b, t, h, w, e = x_bthwd.shape
    x = x_bthwd.reshape(b, t, h, w, p, p, e // (p * p))  # [B, T, H, W, p, p, D]
    x = x.transpose(0, 1, 2, 4, 3, 5, 6)  # [B, T, H, p, W, p, D]
    return x.reshape(b, t, h * p, w * p, e // (p * p))  # [B, T, pH, pW, D]


class CausalConv3d(nnx.Module):
    """3D conv over [B, T, H, W, D]; time padded on the past side only (first frame repeated).

    With stride s_t in time, T = 1 + k * s_t frames give 1 + k outputs, and output j
    sees input frames (j * s_t - (kt - 1)) .. j * s_t (clamped to frame 0).
    """

    def __init__(
        self,
        d_in: int,
        d_out: int,
        *,
        kernel: tuple[int, int, int] = (3, 3, 3),
        stride: tuple[int, int, int] = (1, 1, 1),
        axes: tuple[str | None, str | None] = ("embed", "mlp"),  # logical names of D_in, D_out
        zero_init: bool = False,
        rngs: nnx.Rngs,
    ):
        self.kernel, self.stride = kernel, stride
        init = _zeros if zero_init else _init
        self.kernel_thwdd = _param(rngs, init, (*kernel, d_in, d_out), (None, None, None, *axes))
        self.bias_d = _param(rngs, _zeros, (d_out,), (axes[1],))

    def __call__(self, x_bthwd: jax.Array) -> jax.Array:
        kt, kh, kw = self.kernel
        past = jnp.repeat(x_bthwd[:, :1], kt - 1, axis=1)  # [B, kt-1, H, W, D]
        x_bthwd = jnp.concatenate([past, x_bthwd], axis=1)  # [B, kt-1+T, H, W, D]
        # A 3D conv as kt 2D convs over time-shifted frames, summed: the same maths, and
        # ~3.5x faster forward + backward than XLA:CPU's 3D conv (benchmarks/RESULTS.md).
        st, sh, sw = self.stride
        b, t_in, h, w, d = x_bthwd.shape
        t_out = (t_in - kt) // st + 1
        kernel = self.kernel_thwdd[...].astype(x_bthwd.dtype)
        y = None
        for i in range(kt):
            frames = x_bthwd[:, i : i + st * (t_out - 1) + 1 : st]  # [B, T', H, W, D]
            y_i = jax.lax.conv_general_dilated(
                frames.reshape(b * t_out, h, w, d),
                kernel[i],
                window_strides=(sh, sw),
                padding=((kh // 2, kh // 2), (kw // 2, kw // 2)),
                dimension_numbers=("NHWC", "HWIO", "NHWC"),
            )  # [B * T', H', W', D_out]
            y = y_i if y is None else y + y_i
        y = y.reshape(b, t_out, *y.shape[1:])  # [B, T', H', W', D_out]
        return y + self.bias_d[...].astype(y.dtype)


class FrameGroupNorm(nnx.Module):
    """GroupNorm with statistics per frame (over H, W, E), so it never mixes time."""

    def __init__(self, d: int, *, max_groups: int = 32, rngs: nnx.Rngs):
        self.groups = math.gcd(max_groups, d)  # G
        self.scale_d = _param(rngs, _ones, (d,), ("embed",))
        self.bias_d = _param(rngs, _zeros, (d,), ("embed",))

    def __call__(self, x_bthwd: jax.Array) -> jax.Array:
        b, t, h, w, d = x_bthwd.shape
        x = x_bthwd.astype(jnp.float32).reshape(b, t, h, w, self.groups, -1)  # [B, T, H, W, G, E]
        mean = x.mean(axis=(2, 3, 5), keepdims=True)
        var = x.var(axis=(2, 3, 5), keepdims=True)
        x = ((x - mean) * jax.lax.rsqrt(var + 1e-6)).reshape(b, t, h, w, d)  # [B, T, H, W, D]
        return (x * self.scale_d[...] + self.bias_d[...]).astype(x_bthwd.dtype)


class ResBlock(nnx.Module):
    """x + conv(silu(norm(conv(silu(norm(x)))))), with a 1x1x1 conv skip when D changes."""

    def __init__(self, d_in: int, d_out: int, *, rngs: nnx.Rngs):
        self.norm1 = FrameGroupNorm(d_in, rngs=rngs)
        self.conv1 = CausalConv3d(d_in, d_out, rngs=rngs)
        self.norm2 = FrameGroupNorm(d_out, rngs=rngs)
        # Zero-init the last conv so every block starts as the identity (Goyal et al.
        # 2017, arXiv:1706.02677; "Fixup", Zhang et al. 2019): stable deep residual nets.
        self.conv2 = CausalConv3d(d_out, d_out, axes=("mlp", "embed"), zero_init=True, rngs=rngs)
        skip = CausalConv3d(d_in, d_out, kernel=(1, 1, 1), rngs=rngs) if d_in != d_out else None
        self.skip = nnx.data(skip)

    def __call__(self, x_bthwd: jax.Array) -> jax.Array:
        h = self.conv1(jax.nn.silu(self.norm1(x_bthwd)))
        h = self.conv2(jax.nn.silu(self.norm2(h)))
        skip = x_bthwd if self.skip is None else self.skip(x_bthwd)
        return shard(skip + h, _ACT)


class Downsample(nnx.Module):
    """Strided causal conv: T = 1 + 2k -> 1 + k (if `time`), H, W -> H/2, W/2 (if `space`)."""

    def __init__(self, d: int, *, time: bool, space: bool, rngs: nnx.Rngs):
        st, ss = (2 if time else 1), (2 if space else 1)
        self.conv = CausalConv3d(d, d, stride=(st, ss, ss), rngs=rngs)

    def __call__(self, x_bthwd: jax.Array) -> jax.Array:
        return shard(self.conv(x_bthwd), _ACT)


class Upsample(nnx.Module):
    """Nearest-neighbour upsampling then a causal conv: 1 + k -> 1 + 2k frames, 2x H, W.

    The first frame is not repeated (it stands for one input frame), later ones are
    repeated twice, so output frames 2i-1 and 2i come from frame i: still causal.
    """

    def __init__(self, d: int, *, time: bool, space: bool, rngs: nnx.Rngs):
        self.time, self.space = time, space
        self.conv = CausalConv3d(d, d, rngs=rngs)

    def __call__(self, x_bthwd: jax.Array) -> jax.Array:
        if self.time:
            rest = jnp.repeat(x_bthwd[:, 1:], 2, axis=1)  # [B, 2(T-1), H, W, D]
            x_bthwd = jnp.concatenate([x_bthwd[:, :1], rest], axis=1)  # [B, 2T-1, H, W, D]
        if self.space:
            x_bthwd = jnp.repeat(jnp.repeat(x_bthwd, 2, axis=2), 2, axis=3)  # [B, T, 2H, 2W, D]
        return shard(self.conv(x_bthwd), _ACT)


class VideoVAE(nnx.Module):
    """Causal conv encoder -> diagonal Gaussian latents -> causal conv decoder.

    Level i works at D = channels * channel_mults[i]; between levels i and i+1 the
    encoder halves T - 1 if i < log2(time_factor) and H, W if i < log2(space_factor)
    (time first, as CogVideoX: the early, wide levels are the expensive ones). The
    decoder mirrors it. No attention: the receptive field comes from the convs.
    """

    def __init__(self, config: VideoVAEConfig, *, rngs: nnx.Rngs):
        self.config = c = config
        dims = [c.channels * m for m in c.channel_mults]
        z, n = c.latent_channels, len(dims)

        pixels = 3 * c.patch_size**2  # channels after space-to-depth
        self.enc_in = CausalConv3d(pixels, dims[0], axes=(None, "mlp"), rngs=rngs)
        enc, d = [], dims[0]
        for i in range(n):
            for _ in range(c.num_res_blocks):
                enc.append(ResBlock(d, dims[i], rngs=rngs))
                d = dims[i]
            time, space = i < c.time_levels, i < c.space_levels
            if i < n - 1 and (time or space):
                enc.append(Downsample(d, time=time, space=space, rngs=rngs))
        enc.append(ResBlock(d, d, rngs=rngs))  # middle
        self.encoder = nnx.List(enc)
        self.enc_norm = FrameGroupNorm(d, rngs=rngs)
        self.enc_out = CausalConv3d(d, 2 * z, axes=("embed", None), rngs=rngs)  # mean, logvar

        self.dec_in = CausalConv3d(z, d, axes=(None, "mlp"), rngs=rngs)
        dec = [ResBlock(d, d, rngs=rngs)]  # middle
        for i in reversed(range(n)):
            for _ in range(c.num_res_blocks):
                dec.append(ResBlock(d, dims[i], rngs=rngs))
                d = dims[i]
            time, space = i - 1 < c.time_levels, i - 1 < c.space_levels
            if i > 0 and (time or space):
                dec.append(Upsample(d, time=time, space=space, rngs=rngs))
        self.decoder = nnx.List(dec)
        self.dec_norm = FrameGroupNorm(d, rngs=rngs)
        self.dec_out = CausalConv3d(d, pixels, axes=("embed", None), rngs=rngs)

    def encode(self, video: jax.Array) -> tuple[jax.Array, jax.Array]:
        """Video in [-1, 1], [B, T, H, W, 3] -> (mean, logvar), each [B, t, h, w, Z]."""
        expected = self.config.latent_shape(video.shape)
        video = space_to_depth(video, self.config.patch_size)  # [B, T, H/p, W/p, 3p^2]
        x = shard(self.enc_in(video.astype(self.enc_in.kernel_thwdd.dtype)), _ACT)
        for layer in self.encoder:
            x = layer(x)
        moments = self.enc_out(jax.nn.silu(self.enc_norm(x)))  # [B, t, h, w, 2Z]
        assert moments.shape[:-1] == expected[:-1], (moments.shape, expected)
        mean, logvar = jnp.split(moments, 2, axis=-1)  # [B, t, h, w, Z] each
        return mean, jnp.clip(logvar, -30.0, 20.0)  # as LDM: keeps exp(logvar) finite

    sample_latent = staticmethod(sample_latent)

    def decode(self, latents: jax.Array) -> jax.Array:
        """Latents [B, t, h, w, Z] -> video [B, 1 + (t-1) * time_factor, h * sf, w * sf, 3]."""
        z = self.config.latent_channels
        if latents.ndim != 5 or latents.shape[-1] != z:
            raise ValueError(f"latents must be [B, t, h, w, {z}], got shape {latents.shape}")
        x = shard(self.dec_in(latents.astype(self.dec_in.kernel_thwdd.dtype)), _ACT)
        for layer in self.decoder:
            x = layer(x)
        x = self.dec_out(jax.nn.silu(self.dec_norm(x)))  # [B, T, H/p, W/p, 3p^2], unbounded
        return depth_to_space(x, self.config.patch_size)  # [B, T, H, W, 3]

    def __call__(self, video: jax.Array, key: jax.Array) -> tuple[jax.Array, ...]:
        """-> (reconstruction [B, T, H, W, 3], mean, logvar [B, t, h, w, Z])."""
        mean, logvar = self.encode(video)
        return self.decode(self.sample_latent(mean, logvar, key)), mean, logvar


def kl_divergence(mean: jax.Array, logvar: jax.Array) -> jax.Array:
    """KL(N(mean, exp(logvar)) || N(0, I)), averaged over all elements."""
    mean, logvar = mean.astype(jnp.float32), logvar.astype(jnp.float32)
    return 0.5 * jnp.mean(jnp.square(mean) + jnp.exp(logvar) - 1.0 - logvar)


def psnr(reconstruction: jax.Array, target: jax.Array) -> jax.Array:
    """PSNR in dB for signals in [-1, 1] (peak-to-peak 2); the reconstruction is clipped."""
    err = jnp.clip(reconstruction.astype(jnp.float32), -1.0, 1.0) - target.astype(jnp.float32)
    return 10.0 * jnp.log10(4.0 / jnp.maximum(jnp.mean(jnp.square(err)), 1e-10))


def vae_loss(
    model: VideoVAE,
    batch_video: jax.Array,
    key: jax.Array,
    *,
    kl_weight: float,
    recon: str = "l1",
    foreground_weight: float = 0.0,
) -> tuple[jax.Array, dict[str, jax.Array]]:
    """recon (L1 or MSE, weighted mean over elements) + kl_weight * KL; video in [-1, 1].

    foreground_weight: pixels that differ from their frame's median colour (the
    background, in mostly-flat scenes such as the simulator's) weigh 1 + this much in
    the reconstruction term. Simulated objects cover ~1% of a frame: with a plain mean,
    a small VAE first learns the background and drops them. The weights are
    normalised, so on busy footage (most pixels "foreground") the term is unchanged.
    Perceptual and adversarial terms: not built (see the module docstring).
    """
    if recon not in ("l1", "mse"):
        raise ValueError(f"recon must be 'l1' or 'mse', got {recon!r}")
    target = batch_video.astype(jnp.float32)
    with jax.named_scope("vae_forward"):
        reconstruction, mean, logvar = model(batch_video, key)
    with jax.named_scope("vae_loss"):
        err = reconstruction.astype(jnp.float32) - target
        per_element = jnp.abs(err) if recon == "l1" else jnp.square(err)  # [B, T, H, W, 3]
        if foreground_weight:
            background = jnp.median(target, axis=(2, 3), keepdims=True)  # [B, T, 1, 1, 3]
            distinct = jnp.max(jnp.abs(target - background), axis=-1, keepdims=True) > 0.1
            weight = 1.0 + foreground_weight * distinct.astype(jnp.float32)  # [B, T, H, W, 1]
            rec = jnp.mean(weight * per_element) / jnp.mean(weight)
        else:
            rec = jnp.mean(per_element)
        kl = kl_divergence(mean, logvar)
        loss = rec + kl_weight * kl
    return loss, {"loss": loss, "recon": rec, "kl": kl, "psnr": psnr(reconstruction, target)}
