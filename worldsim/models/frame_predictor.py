"""A small causal video transformer that predicts the next frame's patches.

A stand-in model for testing the training engine before the world model
exists: frames [B, T, H, W, 3] uint8 -> patch tokens [B, L=T*P, D] -> `depth`
pre-LN transformer blocks (scanned) with causal-by-frame attention -> per-token
prediction of the *next* frame's patch at the same position.

Local letters: P patches per frame, F patch features (patch * patch * 3).
"""

import dataclasses
from typing import Any

import einops
import jax
import jax.numpy as jnp
from flax import nnx

from worldsim.models.params import annotated_param as _param
from worldsim.parallel import shard

_init = nnx.initializers.lecun_normal()
_zeros = nnx.initializers.zeros_init()
_ones = nnx.initializers.ones_init()


# What each scanned block keeps for the backward pass. "full" saves nothing and
# recomputes the block (least memory); "dots" saves matmul outputs without a batch
# dimension (MaxText's default trade-off); "none" saves everything (fastest).
REMAT_POLICIES: dict[str, Any] = {
    "none": None,
    "full": jax.checkpoint_policies.nothing_saveable,
    "dots": jax.checkpoint_policies.dots_with_no_batch_dims_saveable,
}


@dataclasses.dataclass(frozen=True)
class FramePredictorConfig:
    frame_size: int = 16  # H == W, pixels
    patch: int = 4
    width: int = 32  # D
    depth: int = 2
    heads: int = 2  # N
    mlp_ratio: int = 4  # M = mlp_ratio * D
    num_frames: int = 4  # T (max; positional table size)
    remat: str = "none"  # rematerialisation of each scanned block: none | full | dots
    scan_layers: bool = True  # False: a Python loop over layers (same params, same maths)

    def __post_init__(self):
        if self.frame_size % self.patch:
            raise ValueError(f"frame_size {self.frame_size} not divisible by patch {self.patch}")
        if self.width % self.heads:
            raise ValueError(f"width {self.width} not divisible by heads {self.heads}")
        if self.remat not in REMAT_POLICIES:
            raise ValueError(f"remat {self.remat!r} not one of {tuple(REMAT_POLICIES)}")

    @property
    def patches_per_frame(self) -> int:  # P
        return (self.frame_size // self.patch) ** 2

    @property
    def patch_dim(self) -> int:  # F
        return self.patch * self.patch * 3

    @property
    def head_dim(self) -> int:  # K
        return self.width // self.heads

    @property
    def mlp_width(self) -> int:  # M
        return self.mlp_ratio * self.width


PRESETS: dict[str, FramePredictorConfig] = {
    "tiny": FramePredictorConfig(),
    "small": FramePredictorConfig(
        frame_size=64, patch=8, width=256, depth=6, heads=4, num_frames=16
    ),
    # The default CPU run (experiments/tiny_cpu.py): 8 frames of 32x32, 128 tokens.
    "cpu": FramePredictorConfig(frame_size=32, patch=8, width=64, depth=2, heads=4, num_frames=8),
    "base": FramePredictorConfig(
        frame_size=128, patch=8, width=768, depth=12, heads=12, num_frames=16
    ),
    # ~1.0B parameters (12 * D^2 * depth): the pod dry-run config.
    "1b": FramePredictorConfig(
        frame_size=128, patch=8, width=2048, depth=20, heads=16, num_frames=16, remat="full"
    ),
}


def patchify(frames: jax.Array, patch: int) -> jax.Array:
    """uint8 [B, T, H, W, 3] -> float patches [B, T*P, F] in [-1, 1]."""
    x = frames.astype(jnp.float32) / 127.5 - 1.0
    return einops.rearrange(
        x, "B T (h p) (w q) c -> B (T h w) (p q c)", p=patch, q=patch
    )  # [B, L, F]


def frame_causal_mask(num_tokens: int, patches_per_frame: int) -> jax.Array:
    """[1, 1, L, L] bool: query token may attend to keys of its own and earlier frames."""
    frame = jnp.arange(num_tokens) // patches_per_frame  # [L]
    return (frame[:, None] >= frame[None, :])[None, None]  # [1, 1, L, L]


class LayerNorm(nnx.Module):
    def __init__(self, width: int, *, rngs: nnx.Rngs):
        self.scale_d = _param(rngs, _ones, (width,), ("embed",))
        self.bias_d = _param(rngs, _zeros, (width,), ("embed",))

    def __call__(self, x_bld: jax.Array) -> jax.Array:
        x = x_bld.astype(jnp.float32)  # statistics in fp32 even under bf16 compute
        mean = x.mean(-1, keepdims=True)
        var = x.var(-1, keepdims=True)
        y = (x - mean) * jax.lax.rsqrt(var + 1e-6) * self.scale_d[...] + self.bias_d[...]
        return y.astype(x_bld.dtype)


class Block(nnx.Module):
    """Pre-LN transformer block: x + Attn(LN(x)); x + MLP(LN(x))."""

    def __init__(self, config: FramePredictorConfig, *, rngs: nnx.Rngs):
        d, n, k, m = config.width, config.heads, config.head_dim, config.mlp_width
        self.ln1 = LayerNorm(d, rngs=rngs)
        self.q_dnk = _param(rngs, _init, (d, n, k), ("embed", "heads", "kv"))
        self.k_dnk = _param(rngs, _init, (d, n, k), ("embed", "heads", "kv"))
        self.v_dnk = _param(rngs, _init, (d, n, k), ("embed", "heads", "kv"))
        self.o_nkd = _param(rngs, _init, (n, k, d), ("heads", "kv", "embed"))
        self.ln2 = LayerNorm(d, rngs=rngs)
        self.fc1_dm = _param(rngs, _init, (d, m), ("embed", "mlp"))
        self.fc1_m = _param(rngs, _zeros, (m,), ("mlp",))
        self.fc2_md = _param(rngs, _init, (m, d), ("mlp", "embed"))
        self.fc2_d = _param(rngs, _zeros, (d,), ("embed",))

    def __call__(self, x_bld: jax.Array, mask: jax.Array) -> jax.Array:
        h_bld = self.ln1(x_bld)
        q_blnk = jnp.einsum("BLD,DNK->BLNK", h_bld, self.q_dnk[...])
        k_blnk = jnp.einsum("BLD,DNK->BLNK", h_bld, self.k_dnk[...])
        v_blnk = jnp.einsum("BLD,DNK->BLNK", h_bld, self.v_dnk[...])
        a_blnk = jax.nn.dot_product_attention(q_blnk, k_blnk, v_blnk, mask=mask)
        x_bld = x_bld + jnp.einsum("BLNK,NKD->BLD", a_blnk, self.o_nkd[...])
        x_bld = shard(x_bld, ("batch", "seq", "embed"))
        h_bld = self.ln2(x_bld)
        h_blm = jax.nn.gelu(jnp.einsum("BLD,DM->BLM", h_bld, self.fc1_dm[...]) + self.fc1_m[...])
        x_bld = x_bld + jnp.einsum("BLM,MD->BLD", h_blm, self.fc2_md[...]) + self.fc2_d[...]
        return shard(x_bld, ("batch", "seq", "embed"))


class FramePredictor(nnx.Module):
    """Causal transformer over patch tokens; token l predicts the next frame's patch l."""

    def __init__(self, config: FramePredictorConfig, *, rngs: nnx.Rngs):
        self.config = config
        c = config
        self.embed_fd = _param(rngs, _init, (c.patch_dim, c.width), (None, "embed"))
        self.embed_d = _param(rngs, _zeros, (c.width,), ("embed",))
        # Small-normal learned positions, one per (frame, patch) slot.
        pos_init = nnx.initializers.normal(0.02)
        self.pos_ld = _param(
            rngs, pos_init, (c.num_frames * c.patches_per_frame, c.width), (None, "embed")
        )

        @nnx.split_rngs(splits=c.depth)
        @nnx.vmap(in_axes=(0,), out_axes=0, transform_metadata={nnx.PARTITION_NAME: "layers"})
        def make_blocks(rngs: nnx.Rngs) -> Block:
            return Block(c, rngs=rngs)

        self.blocks = make_blocks(rngs)  # every param has a leading [depth] "layers" axis
        self.ln_f = LayerNorm(c.width, rngs=rngs)
        self.head_df = _param(rngs, _init, (c.width, c.patch_dim), ("embed", None))
        self.head_f = _param(rngs, _zeros, (c.patch_dim,), (None,))

    def __call__(self, frames: jax.Array, *, scan: bool | None = None) -> jax.Array:
        """uint8 [B, T, H, W, 3] -> predicted next-frame patches [B, T*P, F] (in [-1, 1] units).

        `scan=False` runs the same stacked layer params in a Python loop (tests, and
        FLOP counts: XLA counts a scanned body once); default `config.scan_layers`.
        """
        c = self.config
        scan = c.scan_layers if scan is None else scan
        t = frames.shape[1]
        if t > c.num_frames:
            raise ValueError(f"{t} frames > config.num_frames {c.num_frames}")
        # Activations follow the parameters' dtype (bf16 compute when the trainer casts).
        x_blf = patchify(frames, c.patch).astype(self.embed_fd.dtype)  # [B, L, F]
        num_tokens = x_blf.shape[1]
        x_bld = jnp.einsum("BLF,FD->BLD", x_blf, self.embed_fd[...]) + self.embed_d[...]
        x_bld = x_bld + self.pos_ld[:num_tokens]
        x_bld = shard(x_bld, ("batch", "seq", "embed"))
        mask = frame_causal_mask(num_tokens, c.patches_per_frame)  # [1, 1, L, L]

        if scan:

            def body(h_bld: jax.Array, block: Block) -> jax.Array:
                return block(h_bld, mask)

            if c.remat != "none":
                body = nnx.remat(body, policy=REMAT_POLICIES[c.remat])
            x_bld = nnx.scan(
                body,
                in_axes=(nnx.Carry, 0),
                out_axes=nnx.Carry,
                transform_metadata={nnx.PARTITION_NAME: "layers"},
            )(x_bld, self.blocks)
        else:
            graphdef, state = nnx.split(self.blocks)
            for i in range(c.depth):
                block = nnx.merge(graphdef, jax.tree.map(lambda a, i=i: a[i], state))
                x_bld = block(x_bld, mask)

        x_bld = self.ln_f(x_bld)
        return jnp.einsum("BLD,DF->BLF", x_bld, self.head_df[...]) + self.head_f[...]


def loss_fn(model: FramePredictor, batch: Any) -> tuple[jax.Array, dict[str, jax.Array]]:
    """Next-frame MSE. `batch`: {"frames": uint8 [B, T, H, W, 3]} or the array itself.

    Inputs frames 0..T-2; targets the patches of frames 1..T-1 (shift by one frame).
    """
    frames = batch["frames"] if isinstance(batch, dict) else batch
    pred_blf = model(frames[:, :-1]).astype(jnp.float32)  # [B, (T-1)*P, F]
    target_blf = patchify(frames[:, 1:], model.config.patch)  # [B, (T-1)*P, F]
    loss = jnp.mean(jnp.square(pred_blf - target_blf))
    return loss, {"loss": loss, "rmse": jnp.sqrt(loss)}


def flops_per_step(config: FramePredictorConfig, batch_size: int) -> float:
    """Analytic training FLOPs of one `loss_fn` + backward step (forward x 3).

    6 * N_matmul * tokens, with N_matmul the parameters that enter matmuls
    (patch embed, per-layer QKVO 4*D^2 and MLP 2*D*M, output head; norms, biases
    and positions ignored) and tokens = B * (T-1) * P (what `loss_fn` feeds);
    plus attention scores and the weighted sum, 2 matmuls of 2*L^2*D flops each
    per layer and sequence, times 3 for training: 12 * depth * B * L^2 * D. The
    causal mask is not exploited by the dense kernel, so the full L^2 is counted.
    """
    c = config
    d, m = c.width, c.mlp_width
    n_matmul = c.depth * (4 * d * d + 2 * d * m) + 2 * c.patch_dim * d
    seq = (c.num_frames - 1) * c.patches_per_frame  # L
    tokens = batch_size * seq
    attention = 12 * c.depth * batch_size * seq * seq * d
    return float(6 * n_matmul * tokens + attention)
