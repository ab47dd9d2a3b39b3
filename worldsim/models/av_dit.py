"""The joint audio-video diffusion transformer: an MM-DiT over video and audio latent tokens.

Video latent patches [B, L, Fv] and audio latent frames [B, A, Fa] are two token
streams with their own weights (SD3's MM-DiT, Esser et al. 2024, "Scaling Rectified
Flow Transformers for High-Resolution Image Synthesis", sec. 4) that meet in one
joint self-attention over [video; audio]. Every block then cross-attends to the
caption and runs a per-stream MLP. Conditioning on the flow time t and a pooled
caption vector enters through adaLN-Zero (DiT, Peebles & Xie 2023, "Scalable
Diffusion Models with Transformers", sec. 3.2), so every block starts as the
identity and the initial velocity is exactly zero.

Two contracts from DESIGN.md shape the attention:
  * Time in seconds. Video tokens get 3D RoPE (time, patch row, patch col); audio
    tokens rotate the *same* time channels with the *same* frequencies by their time
    in seconds (their spatial channels by 0, the identity). A video and an audio
    token at the same second share their temporal phase: sound stays on the frame,
    and shifting every time by a constant changes nothing.
  * In-context conditioning. Token type 0 is the noised target; types > 0 (first
    frames, reference clip, previous shot) are clean latents. Context tokens are
    modulated as at t = 0 and attend only to context tokens, so their outputs depend
    neither on t nor on the noised target (a sampler may cache them across ODE
    steps); target tokens attend to everything valid.

Local letters: F features per token (Fv video, Fa audio), S tokens of one stream
(L or A), J joint sequence L + A, E adaLN modulation width (6D in blocks, 2D in the
final layer), R conditioning rows
(2: at flow time t, and at t = 0), Q sinusoidal timestep features, P rotary pairs
(K/2), Y token types, G text width Dt.

Parameter counts (`num_params`, at Fv = 64, Fa = 64, Dt = 256; each layer holds
about 42 D^2: 2 streams x (adaLN 6 + attention 4 + cross-attention 2 + MLP 8) D^2,
plus the text keys / values 2 D^2):

| preset | width | depth | heads | params        |
|--------|-------|-------|-------|---------------|
| tiny   | 32    | 2     | 2     | 126,272       |
| cpu    | 64    | 2     | 4     | 434,560       |
| cpu-m  | 96    | 4     | 4     | 1,704,128     |
| S      | 256   | 12    | 4     | 33,701,504    |
| B      | 512   | 12    | 8     | 134,115,456   |
| L      | 768   | 18    | 12    | 449,992,832   |
| XL     | 1152  | 20    | 16    | 1,123,162,112 |
"""

import dataclasses
import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from worldsim.models.frame_predictor import REMAT_POLICIES
from worldsim.models.params import annotated_param as _param
from worldsim.parallel import shard

_init = nnx.initializers.lecun_normal()
_small = nnx.initializers.normal(0.02)
_zeros = nnx.initializers.zeros_init()
_ones = nnx.initializers.ones_init()

TIMESTEP_FEATURES = 256  # Q, DiT's frequency_embedding_size
# The finest time step the temporal RoPE must resolve: 20 ms, a typical audio-latent
# hop (e.g. 16 kHz audio, hop 320). Video latent frames are coarser.
ROPE_FINEST_SECONDS = 0.02


@dataclasses.dataclass(frozen=True, kw_only=True)
class AVDiTConfig:
    width: int  # D
    depth: int
    heads: int  # N
    mlp_ratio: int = 4  # M = mlp_ratio * D
    video_features: int  # Fv, features per video token (patchified latent)
    audio_features: int  # Fa, features per audio token
    text_width: int  # Dt, width of the text embeddings given to the model
    num_token_types: int = 4  # 0 noised target, 1 first frames, 2 reference clip, 3 previous shot
    rope_max_seconds: float = 64.0  # longest time span the temporal RoPE resolves
    rope_grid: int = 64  # largest patch row / col index
    remat: str = "none"  # rematerialisation of each scanned block: none | full | dots
    scan_layers: bool = True  # False: a Python loop over layers (same params, same maths)

    def __post_init__(self):
        for name in ("width", "depth", "heads", "mlp_ratio", "video_features", "audio_features"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.text_width < 1 or self.num_token_types < 1 or self.rope_grid < 1:
            raise ValueError("text_width, num_token_types and rope_grid must be >= 1")
        if self.width % self.heads:
            raise ValueError(f"width {self.width} not divisible by heads {self.heads}")
        if self.head_dim % 8:
            raise ValueError(
                f"head dim K = width / heads = {self.head_dim} must be divisible by 8: RoPE "
                "gives time K/2 channels and patch rows and cols K/4 each, in rotated pairs"
            )
        if self.rope_max_seconds <= ROPE_FINEST_SECONDS:
            raise ValueError(
                f"rope_max_seconds {self.rope_max_seconds} must exceed the finest time "
                f"step {ROPE_FINEST_SECONDS} s"
            )
        if self.remat not in REMAT_POLICIES:
            raise ValueError(f"remat {self.remat!r} not one of {tuple(REMAT_POLICIES)}")

    @property
    def head_dim(self) -> int:  # K
        return self.width // self.heads

    @property
    def mlp_width(self) -> int:  # M
        return self.mlp_ratio * self.width


# Presets fix the transformer; the feature sizes come from the VAEs and the text
# encoder, so `make_config` adds them. S / B / L / XL follow DiT's ladder in total
# parameters (~30M / 130M / 450M / 1B+), with narrower widths since every layer
# holds two streams.
PRESETS: dict[str, dict[str, int]] = {
    "tiny": dict(width=32, depth=2, heads=2),  # unit tests
    "cpu": dict(width=64, depth=2, heads=4),  # the 2-core CPU demo
    "cpu-m": dict(width=96, depth=4, heads=4),  # the 2-core CPU recipe (cpu_physics.py)
    "S": dict(width=256, depth=12, heads=4),
    "B": dict(width=512, depth=12, heads=8),
    "L": dict(width=768, depth=18, heads=12),
    "XL": dict(width=1152, depth=20, heads=16),
}


def make_config(
    preset: str, *, video_features: int, audio_features: int, text_width: int, **overrides: Any
) -> AVDiTConfig:
    """A named preset plus the feature sizes of the latents and text; `overrides` win."""
    if preset not in PRESETS:
        raise ValueError(f"preset {preset!r} not one of {tuple(PRESETS)}")
    kwargs = dict(PRESETS[preset], **overrides)
    return AVDiTConfig(
        video_features=video_features,
        audio_features=audio_features,
        text_width=text_width,
        **kwargs,
    )


def _layer_norm(x: jax.Array) -> jax.Array:
    """LayerNorm without affine (adaLN supplies scale and shift); fp32 statistics."""
    x32 = x.astype(jnp.float32)
    mean = x32.mean(-1, keepdims=True)
    var = x32.var(-1, keepdims=True)
    return ((x32 - mean) * jax.lax.rsqrt(var + 1e-6)).astype(x.dtype)


def _rms_norm(x: jax.Array, scale: jax.Array) -> jax.Array:
    """QK-norm (as in SD3, Esser et al. 2024): keeps attention logits bounded in bf16."""
    x32 = x.astype(jnp.float32)
    y = x32 * jax.lax.rsqrt(jnp.mean(jnp.square(x32), -1, keepdims=True) + 1e-6)
    return (y * scale.astype(jnp.float32)).astype(x.dtype)


def _modulate(x: jax.Array, shift: jax.Array, scale: jax.Array) -> jax.Array:
    return x * (1 + scale) + shift


def rope_frequencies(config: AVDiTConfig) -> jax.Array:
    """Angular frequencies [P] of the rotary pairs: K/4 time (rad/s), K/8 rows, K/8 cols.

    Periods are geometric between a quarter turn per finest step (4 x 20 ms in time,
    4 patches in space) and twice the longest span (2 * rope_max_seconds,
    2 * rope_grid), where the slowest pair turns by at most pi: offsets within the
    span never alias on it.
    """
    k = config.head_dim

    def omega(count: int, finest: float, span: float) -> jax.Array:
        periods = jnp.geomspace(4 * finest, 2 * span, count)
        return 2 * jnp.pi / periods

    return jnp.concatenate(
        [
            omega(k // 4, ROPE_FINEST_SECONDS, config.rope_max_seconds),
            omega(k // 8, 1.0, config.rope_grid),
            omega(k // 8, 1.0, config.rope_grid),
        ]
    )  # [P]


def _rope_angles(pos_bj3: jax.Array, freqs_p: jax.Array) -> jax.Array:
    """Positions (seconds, row, col) [B, J, 3] -> rotation angles [B, J, P], in fp32."""
    k4 = freqs_p.shape[0] // 2  # K/4 time pairs, then K/8 rows and K/8 cols
    k8 = k4 // 2
    axis_p = np.repeat([0, 1, 2], [k4, k8, k8])  # which position each pair rotates by
    return pos_bj3.astype(jnp.float32)[..., axis_p] * freqs_p  # [B, J, P]


def _rope(x_bjnk: jax.Array, cos_bjp: jax.Array, sin_bjp: jax.Array) -> jax.Array:
    """Rotates channel pairs (i, i + K/2) by the angles (Su et al. 2021, RoFormer)."""
    x = x_bjnk.astype(jnp.float32)
    x1, x2 = jnp.split(x, 2, axis=-1)  # [B, J, N, P] each
    cos, sin = cos_bjp[:, :, None], sin_bjp[:, :, None]  # [B, J, 1, P]
    y = jnp.concatenate([x1 * cos - x2 * sin, x2 * cos + x1 * sin], axis=-1)
    return y.astype(x_bjnk.dtype)  # [B, J, N, K]


def _timestep_embedding(t_br: jax.Array) -> jax.Array:
    """Sinusoidal features [B, R, Q] of flow time in [0, 1], scaled x1000 as in SD3."""
    half = TIMESTEP_FEATURES // 2
    freqs = jnp.exp(-math.log(10000.0) * jnp.arange(half, dtype=jnp.float32) / half)
    args = 1000.0 * t_br.astype(jnp.float32)[..., None] * freqs  # [B, R, Q/2]
    return jnp.concatenate([jnp.cos(args), jnp.sin(args)], axis=-1)  # [B, R, Q]


def _select_rows(x_bre: jax.Array, is_ctx_bs: jax.Array) -> jax.Array:
    """Per-token choice between the two conditioning rows: t (targets) or 0 (context)."""
    return jnp.where(is_ctx_bs[..., None], x_bre[:, 1:2], x_bre[:, 0:1])  # [B, S, E]


class Stream(nnx.Module):
    """One modality's weights in one block; streams meet only inside attention (MM-DiT)."""

    def __init__(self, width: int, heads: int, mlp_width: int, *, rngs: nnx.Rngs):
        d, n, m = width, heads, mlp_width
        k = d // n
        # adaLN-Zero (DiT sec. 3.2): zero modulation -> zero gates -> identity block.
        # The 6D output is tensor-sharded like an MLP up-projection.
        self.adaln_de = _param(rngs, _zeros, (d, 6 * d), ("embed", "mlp"))
        self.adaln_e = _param(rngs, _zeros, (6 * d,), ("mlp",))
        self.q_dnk = _param(rngs, _init, (d, n, k), ("embed", "heads", "kv"))
        self.k_dnk = _param(rngs, _init, (d, n, k), ("embed", "heads", "kv"))
        self.v_dnk = _param(rngs, _init, (d, n, k), ("embed", "heads", "kv"))
        self.q_norm_k = _param(rngs, _ones, (k,), ("kv",))
        self.k_norm_k = _param(rngs, _ones, (k,), ("kv",))
        self.o_nkd = _param(rngs, _init, (n, k, d), ("heads", "kv", "embed"))
        # Text cross-attention; the output projection is zero-initialised so the branch
        # starts closed (PixArt-alpha, Chen et al. 2023).
        self.cq_dnk = _param(rngs, _init, (d, n, k), ("embed", "heads", "kv"))
        self.co_nkd = _param(rngs, _zeros, (n, k, d), ("heads", "kv", "embed"))
        self.fc1_dm = _param(rngs, _init, (d, m), ("embed", "mlp"))
        self.fc1_m = _param(rngs, _zeros, (m,), ("mlp",))
        self.fc2_md = _param(rngs, _init, (m, d), ("mlp", "embed"))
        self.fc2_d = _param(rngs, _zeros, (d,), ("embed",))

    def modulation(self, c_brd: jax.Array, is_ctx_bs: jax.Array) -> list[jax.Array]:
        """Six per-token [B, S, D]: shift, scale, gate for attention, then for the MLP."""
        mod_bre = jnp.einsum("BRD,DE->BRE", c_brd, self.adaln_de[...]) + self.adaln_e[...]
        return jnp.split(_select_rows(mod_bre, is_ctx_bs), 6, axis=-1)  # 6 x [B, S, D]

    def qkv(self, h_bsd: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
        q_bsnk = jnp.einsum("BSD,DNK->BSNK", h_bsd, self.q_dnk[...])
        k_bsnk = jnp.einsum("BSD,DNK->BSNK", h_bsd, self.k_dnk[...])
        v_bsnk = jnp.einsum("BSD,DNK->BSNK", h_bsd, self.v_dnk[...])
        return _rms_norm(q_bsnk, self.q_norm_k[...]), _rms_norm(k_bsnk, self.k_norm_k[...]), v_bsnk

    def cross(
        self, x_bsd: jax.Array, k_bcnk: jax.Array, v_bcnk: jax.Array, mask_b11c: jax.Array
    ) -> jax.Array:
        q_bsnk = jnp.einsum("BSD,DNK->BSNK", _layer_norm(x_bsd), self.cq_dnk[...])
        a_bsnk = jax.nn.dot_product_attention(q_bsnk, k_bcnk, v_bcnk, mask=mask_b11c)
        return x_bsd + jnp.einsum("BSNK,NKD->BSD", a_bsnk, self.co_nkd[...])

    def mlp(self, x_bsd: jax.Array, shift: jax.Array, scale: jax.Array, gate: jax.Array):
        h_bsd = _modulate(_layer_norm(x_bsd), shift, scale)
        h_bsm = jax.nn.gelu(jnp.einsum("BSD,DM->BSM", h_bsd, self.fc1_dm[...]) + self.fc1_m[...])
        return x_bsd + gate * (jnp.einsum("BSM,MD->BSD", h_bsm, self.fc2_md[...]) + self.fc2_d[...])


class BlockInputs(NamedTuple):
    """What every block reads besides the two streams (the same for all layers)."""

    c_brd: jax.Array  # SiLU(conditioning) rows at t and at 0 [B, R, D]
    video_ctx_bl: jax.Array  # bool: type > 0 [B, L]
    audio_ctx_ba: jax.Array  # bool: type > 0 [B, A]
    cos_bjp: jax.Array  # RoPE [B, J, P], fp32
    sin_bjp: jax.Array
    self_mask_b1jj: jax.Array  # bool [B, 1, J, J]: query may attend to key
    text_bcd: jax.Array  # projected caption [B, C, D]
    text_mask_b11c: jax.Array  # bool [B, 1, 1, C + 1], the null slot always valid


class Block(nnx.Module):
    """Joint self-attention over [video; audio] -> text cross-attention -> MLP, per stream."""

    def __init__(self, config: AVDiTConfig, *, rngs: nnx.Rngs):
        d, n, k, m = config.width, config.heads, config.head_dim, config.mlp_width
        self.video = Stream(d, n, m, rngs=rngs)
        self.audio = Stream(d, n, m, rngs=rngs)
        # Text keys / values, shared by both streams; plus one learned always-valid
        # slot so an all-padding (null) caption still has a key to attend to.
        self.ck_dnk = _param(rngs, _init, (d, n, k), ("embed", "heads", "kv"))
        self.cv_dnk = _param(rngs, _init, (d, n, k), ("embed", "heads", "kv"))
        self.null_k_nk = _param(rngs, _small, (n, k), ("heads", "kv"))
        self.null_v_nk = _param(rngs, _small, (n, k), ("heads", "kv"))

    def __call__(
        self, x_bld: jax.Array, x_bad: jax.Array, inp: BlockInputs
    ) -> tuple[jax.Array, jax.Array]:
        num_video = x_bld.shape[1]
        mod_v = self.video.modulation(inp.c_brd, inp.video_ctx_bl)  # 6 x [B, L, D]
        mod_a = self.audio.modulation(inp.c_brd, inp.audio_ctx_ba)  # 6 x [B, A, D]

        # Joint self-attention: one softmax over the L + A keys.
        qv, kv, vv = self.video.qkv(_modulate(_layer_norm(x_bld), mod_v[0], mod_v[1]))
        qa, ka, va = self.audio.qkv(_modulate(_layer_norm(x_bad), mod_a[0], mod_a[1]))
        q_bjnk = _rope(jnp.concatenate([qv, qa], axis=1), inp.cos_bjp, inp.sin_bjp)
        k_bjnk = _rope(jnp.concatenate([kv, ka], axis=1), inp.cos_bjp, inp.sin_bjp)
        v_bjnk = jnp.concatenate([vv, va], axis=1)  # [B, J, N, K]
        a_bjnk = jax.nn.dot_product_attention(q_bjnk, k_bjnk, v_bjnk, mask=inp.self_mask_b1jj)
        o_bld = jnp.einsum("BLNK,NKD->BLD", a_bjnk[:, :num_video], self.video.o_nkd[...])
        o_bad = jnp.einsum("BANK,NKD->BAD", a_bjnk[:, num_video:], self.audio.o_nkd[...])
        x_bld = shard(x_bld + mod_v[2] * o_bld, ("batch", "seq", "embed"))
        x_bad = shard(x_bad + mod_a[2] * o_bad, ("batch", "audio_seq", "embed"))

        # Text cross-attention.
        b = x_bld.shape[0]
        k_bcnk = jnp.einsum("BCD,DNK->BCNK", inp.text_bcd, self.ck_dnk[...])
        v_bcnk = jnp.einsum("BCD,DNK->BCNK", inp.text_bcd, self.cv_dnk[...])
        null_k = jnp.broadcast_to(
            self.null_k_nk[...].astype(k_bcnk.dtype), (b, 1) + k_bcnk.shape[2:]
        )
        null_v = jnp.broadcast_to(
            self.null_v_nk[...].astype(v_bcnk.dtype), (b, 1) + v_bcnk.shape[2:]
        )
        k_bcnk = jnp.concatenate([k_bcnk, null_k], axis=1)  # [B, C + 1, N, K]
        v_bcnk = jnp.concatenate([v_bcnk, null_v], axis=1)  # [B, C + 1, N, K]
        x_bld = self.video.cross(x_bld, k_bcnk, v_bcnk, inp.text_mask_b11c)
        x_bad = self.audio.cross(x_bad, k_bcnk, v_bcnk, inp.text_mask_b11c)

        x_bld = self.video.mlp(x_bld, *mod_v[3:])
        x_bad = self.audio.mlp(x_bad, *mod_a[3:])
        return shard(x_bld, ("batch", "seq", "embed")), shard(
            x_bad, ("batch", "audio_seq", "embed")
        )


class FinalLayer(nnx.Module):
    """adaLN (shift, scale) + linear to features, both zero-initialised (DiT sec. 3.2)."""

    def __init__(self, width: int, features: int, *, rngs: nnx.Rngs):
        d = width
        self.adaln_de = _param(rngs, _zeros, (d, 2 * d), ("embed", "mlp"))
        self.adaln_e = _param(rngs, _zeros, (2 * d,), ("mlp",))
        self.out_df = _param(rngs, _zeros, (d, features), ("embed", None))
        self.out_f = _param(rngs, _zeros, (features,), (None,))

    def __call__(self, x_bsd: jax.Array, c_brd: jax.Array, is_ctx_bs: jax.Array) -> jax.Array:
        mod_bre = jnp.einsum("BRD,DE->BRE", c_brd, self.adaln_de[...]) + self.adaln_e[...]
        shift, scale = jnp.split(_select_rows(mod_bre, is_ctx_bs), 2, axis=-1)  # [B, S, D]
        h_bsd = _modulate(_layer_norm(x_bsd), shift, scale)
        return jnp.einsum("BSD,DF->BSF", h_bsd, self.out_df[...]) + self.out_f[...]


class AVDiT(nnx.Module):
    """Joint audio-video MM-DiT predicting flow-matching velocities for both modalities."""

    def __init__(self, config: AVDiTConfig, *, rngs: nnx.Rngs):
        self.config = c = config
        d, fv, fa, g = c.width, c.video_features, c.audio_features, c.text_width
        self.video_in_fd = _param(rngs, _init, (fv, d), (None, "embed"))
        self.video_in_d = _param(rngs, _zeros, (d,), ("embed",))
        self.audio_in_fd = _param(rngs, _init, (fa, d), (None, "embed"))
        self.audio_in_d = _param(rngs, _zeros, (d,), ("embed",))
        self.video_type_yd = _param(rngs, _small, (c.num_token_types, d), (None, "embed"))
        self.audio_type_yd = _param(rngs, _small, (c.num_token_types, d), (None, "embed"))
        # Timestep MLP (DiT's TimestepEmbedder, normal(0.02) init) and pooled caption.
        self.t_fc1_qd = _param(rngs, _small, (TIMESTEP_FEATURES, d), (None, "embed"))
        self.t_fc1_d = _param(rngs, _zeros, (d,), ("embed",))
        self.t_fc2_dd = _param(rngs, _small, (d, d), (None, "embed"))
        self.t_fc2_d = _param(rngs, _zeros, (d,), ("embed",))
        self.pool_gd = _param(rngs, _init, (g, d), (None, "embed"))
        self.pool_d = _param(rngs, _zeros, (d,), ("embed",))
        # Caption tokens -> width D, the keys / values of every block's cross-attention.
        self.text_gd = _param(rngs, _init, (g, d), (None, "embed"))
        self.text_d = _param(rngs, _zeros, (d,), ("embed",))

        @nnx.split_rngs(splits=c.depth)
        @nnx.vmap(in_axes=(0,), out_axes=0, transform_metadata={nnx.PARTITION_NAME: "layers"})
        def make_blocks(rngs: nnx.Rngs) -> Block:
            return Block(c, rngs=rngs)

        self.blocks = make_blocks(rngs)  # every param has a leading [depth] "layers" axis
        self.video_out = FinalLayer(d, fv, rngs=rngs)
        self.audio_out = FinalLayer(d, fa, rngs=rngs)

    def __call__(
        self,
        video: jax.Array,
        video_pos: jax.Array,
        video_type: jax.Array,
        audio: jax.Array,
        audio_pos: jax.Array,
        audio_type: jax.Array,
        t: jax.Array,
        text: jax.Array,
        text_mask: jax.Array,
        video_valid: jax.Array | None = None,
        audio_valid: jax.Array | None = None,
        *,
        scan: bool | None = None,
    ) -> tuple[jax.Array, jax.Array]:
        """Velocities (v_video [B, L, Fv], v_audio [B, A, Fa]) in float32.

        video [B, L, Fv]; video_pos [B, L, 3] (seconds, patch row, patch col);
        audio [B, A, Fa]; audio_pos [B, A] seconds; *_type [B, L] / [B, A] int token
        types; t [B] flow time of the target tokens; text [B, C, Dt] with text_mask
        [B, C] (False = padding, a row may be all False); *_valid [B, L] / [B, A]:
        False tokens are never attended to (None = all valid). Compute runs in the
        parameters' dtype (bf16 when the trainer casts them); norms, softmax and
        RoPE in fp32. `scan=False` runs the stacked layer params in a Python loop
        (tests, FLOP counts); default `config.scan_layers`.
        """
        c = self.config
        scan = c.scan_layers if scan is None else scan
        b, num_video, num_audio = video.shape[0], video.shape[1], audio.shape[1]
        expect = {
            "video": (video.shape, (b, num_video, c.video_features)),
            "video_pos": (video_pos.shape, (b, num_video, 3)),
            "video_type": (video_type.shape, (b, num_video)),
            "audio": (audio.shape, (b, num_audio, c.audio_features)),
            "audio_pos": (audio_pos.shape, (b, num_audio)),
            "audio_type": (audio_type.shape, (b, num_audio)),
            "t": (t.shape, (b,)),
            "text": (text.shape, (b, text.shape[1], c.text_width)),
            "text_mask": (text_mask.shape, text.shape[:2]),
        }
        for name, (got, want) in expect.items():
            if tuple(got) != want:
                raise ValueError(f"{name} has shape {tuple(got)}, expected {want}")
        if video_valid is None:
            video_valid = jnp.ones((b, num_video), bool)
        if audio_valid is None:
            audio_valid = jnp.ones((b, num_audio), bool)
        dtype = self.video_in_fd.dtype  # activations follow the parameters' dtype

        # Tokens -> width D, plus a learned per-modality type embedding.
        x_bld = jnp.einsum("BLF,FD->BLD", video.astype(dtype), self.video_in_fd[...])
        x_bld = x_bld + self.video_in_d[...] + jnp.take(self.video_type_yd[...], video_type, 0)
        x_bld = shard(x_bld, ("batch", "seq", "embed"))
        x_bad = jnp.einsum("BAF,FD->BAD", audio.astype(dtype), self.audio_in_fd[...])
        x_bad = x_bad + self.audio_in_d[...] + jnp.take(self.audio_type_yd[...], audio_type, 0)
        x_bad = shard(x_bad, ("batch", "audio_seq", "embed"))

        # Conditioning rows: flow time t for targets, 0 for clean context; plus the
        # masked mean of the caption, so captions steer the modulation too.
        t_br = jnp.stack([t.astype(jnp.float32), jnp.zeros((b,), jnp.float32)], axis=1)
        h_brd = jnp.einsum(
            "BRQ,QD->BRD", _timestep_embedding(t_br).astype(dtype), self.t_fc1_qd[...]
        )
        h_brd = jax.nn.silu(h_brd + self.t_fc1_d[...])
        c_brd = h_brd @ self.t_fc2_dd[...] + self.t_fc2_d[...]  # [B, R, D]
        text = text.astype(dtype)
        keep_bc = text_mask.astype(dtype)
        count_b = jnp.maximum(keep_bc.sum(1), 1)
        pooled_bg = jnp.einsum("BCG,BC->BG", text, keep_bc) / count_b[:, None]
        pooled_bd = jnp.einsum("BG,GD->BD", pooled_bg, self.pool_gd[...]) + self.pool_d[...]
        c_brd = jax.nn.silu(c_brd + pooled_bd[:, None])  # [B, R, D]

        text_bcd = jnp.einsum("BCG,GD->BCD", text, self.text_gd[...]) + self.text_d[...]
        text_bcd = shard(_layer_norm(text_bcd), ("batch", "context_seq", "embed"))
        text_keep = jnp.concatenate([text_mask.astype(bool), jnp.ones((b, 1), bool)], axis=1)

        # RoPE on one seconds axis: audio is (seconds, 0, 0), the spatial pairs unrotated.
        zeros_ba = jnp.zeros_like(audio_pos, jnp.float32)
        audio_pos_ba3 = jnp.stack([audio_pos.astype(jnp.float32), zeros_ba, zeros_ba], -1)
        pos_bj3 = jnp.concatenate([video_pos.astype(jnp.float32), audio_pos_ba3], axis=1)
        angles_bjp = _rope_angles(pos_bj3, rope_frequencies(c))

        # Targets attend to every valid key; context tokens only to valid context keys.
        video_ctx, audio_ctx = video_type > 0, audio_type > 0
        is_ctx_bj = jnp.concatenate([video_ctx, audio_ctx], axis=1)
        valid_bj = jnp.concatenate([video_valid, audio_valid], axis=1).astype(bool)
        self_mask_bjj = valid_bj[:, None, :] & (~is_ctx_bj[:, :, None] | is_ctx_bj[:, None, :])

        inp = BlockInputs(
            c_brd=c_brd,
            video_ctx_bl=video_ctx,
            audio_ctx_ba=audio_ctx,
            cos_bjp=jnp.cos(angles_bjp),
            sin_bjp=jnp.sin(angles_bjp),
            self_mask_b1jj=self_mask_bjj[:, None],
            text_bcd=text_bcd,
            text_mask_b11c=text_keep[:, None, None, :],
        )

        if scan:

            def body(carry: tuple[jax.Array, jax.Array], block: Block):
                return block(*carry, inp)

            if c.remat != "none":
                body = nnx.remat(body, policy=REMAT_POLICIES[c.remat])
            x_bld, x_bad = nnx.scan(
                body,
                in_axes=(nnx.Carry, 0),
                out_axes=nnx.Carry,
                transform_metadata={nnx.PARTITION_NAME: "layers"},
            )((x_bld, x_bad), self.blocks)
        else:
            graphdef, state = nnx.split(self.blocks)
            for i in range(c.depth):
                block = nnx.merge(graphdef, jax.tree.map(lambda a, i=i: a[i], state))
                x_bld, x_bad = block(x_bld, x_bad, inp)

        v_blf = self.video_out(x_bld, c_brd, video_ctx)
        v_baf = self.audio_out(x_bad, c_brd, audio_ctx)
        return v_blf.astype(jnp.float32), v_baf.astype(jnp.float32)


def num_params(config: AVDiTConfig) -> int:
    """Parameter count from abstract shapes (`nnx.eval_shape` allocates nothing)."""
    abstract = nnx.eval_shape(lambda: AVDiT(config, rngs=nnx.Rngs(0)))
    return sum(math.prod(x.shape) for x in jax.tree.leaves(nnx.state(abstract, nnx.Param)))


def flops_per_step(
    config: AVDiTConfig, batch_size: int, video_tokens: int, audio_tokens: int, text_tokens: int
) -> float:
    """Analytic training FLOPs of one forward + backward pass (forward x 3).

    Matmuls: 6 * (weights a row passes through) * rows, counted per kind of row:
    each video / audio token passes its stream's input and output projections and,
    per layer, QKVO 4D^2 + cross-attention Q/O 2D^2 + MLP 2DM; each text token the
    text projection and, per layer, the shared text K/V 2D^2; each example's two
    conditioning rows the timestep MLP, per-layer adaLN (2 streams x 6D^2) and the
    final adaLN (2 streams x 2D^2), and one pooled caption row. Biases, norms and
    RoPE are ignored. Attention: scores and weighted sum, 2 matmuls of 2 * q * k * D
    flops each per layer (x3 for training) over J = L + A joint keys and C + 1 text
    keys; the context mask is not exploited by the dense kernel, so J^2 is counted.
    """
    c = config
    d, m, depth = c.width, c.mlp_width, c.depth
    per_stream_layer = 4 * d * d + 2 * d * d + 2 * d * m
    video = 2 * c.video_features * d + depth * per_stream_layer
    audio = 2 * c.audio_features * d + depth * per_stream_layer
    text = c.text_width * d + depth * 2 * d * d
    cond_row = TIMESTEP_FEATURES * d + d * d + depth * 2 * 6 * d * d + 2 * 2 * d * d
    per_example = (
        video_tokens * video + audio_tokens * audio + text_tokens * text
        + 2 * cond_row + c.text_width * d
    )  # fmt: skip
    joint = video_tokens + audio_tokens
    attention = 12 * depth * d * (joint * joint + joint * (text_tokens + 1))
    return float(batch_size * (6 * per_example + attention))
