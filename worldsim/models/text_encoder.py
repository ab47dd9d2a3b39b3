"""A small bidirectional transformer that turns caption ids into context tokens.

ids int32 [B, C] (from `data_pipelines.tokenizer`; 0 is padding) -> token embedding +
learned positions -> `depth` pre-LN blocks whose attention ignores padding keys ->
final LayerNorm -> embeddings [B, C, D] and the mask [B, C] of real tokens, which the
world model's cross-attention uses to ignore padding in turn.

Trained from scratch with the world model: captions here are short and templated, so a
frozen pretrained encoder (T5 in Imagen, Saharia et al. 2022) would be mostly unused
capacity. An all-padding row is the null caption of classifier-free guidance (Ho &
Salimans 2022); it has no real key to attend to, so `key_mask` lets such rows attend to
every position instead of producing a fully masked softmax.
"""

import dataclasses

import jax
import jax.numpy as jnp
from flax import nnx

from worldsim.models.frame_predictor import LayerNorm
from worldsim.models.params import annotated_param as _param
from worldsim.parallel import shard

PAD_ID = 0  # data_pipelines.tokenizer.PAD_ID (the model does not import the data package)

_init = nnx.initializers.lecun_normal()
_zeros = nnx.initializers.zeros_init()
_embed_init = nnx.initializers.normal(0.02)  # token and position tables: small normal (GPT-2)


@dataclasses.dataclass(frozen=True)
class TextEncoderConfig:
    vocab_size: int = 256  # >= the tokenizer's vocab_size
    max_len: int = 32  # C (max; positional table size)
    width: int = 32  # D
    depth: int = 2
    heads: int = 2  # N
    mlp_ratio: int = 4  # M = mlp_ratio * D

    def __post_init__(self):
        if self.width % self.heads:
            raise ValueError(f"width {self.width} not divisible by heads {self.heads}")

    @property
    def head_dim(self) -> int:  # K
        return self.width // self.heads

    @property
    def mlp_width(self) -> int:  # M
        return self.mlp_ratio * self.width


PRESETS: dict[str, TextEncoderConfig] = {
    "tiny": TextEncoderConfig(),
    "small": TextEncoderConfig(max_len=48, width=256, depth=4, heads=4),
    "base": TextEncoderConfig(max_len=64, width=512, depth=6, heads=8),
}


def key_mask(mask_bc: jax.Array) -> jax.Array:
    """[B, C] real-token mask -> [B, 1, 1, C] attention mask over keys.

    A row with no real token (the null caption) attends to every position: its output
    is then a fixed learnable function of the padding embedding, finite, instead of a
    softmax over nothing.
    """
    empty_b1 = ~mask_bc.any(-1, keepdims=True)  # [B, 1]
    return (mask_bc | empty_b1)[:, None, None, :]  # [B, 1, 1, C]


class Block(nnx.Module):
    """Pre-LN transformer block over context tokens: x + Attn(LN(x)); x + MLP(LN(x))."""

    def __init__(self, width: int, heads: int, mlp_width: int, *, rngs: nnx.Rngs):
        d, n, k, m = width, heads, width // heads, mlp_width
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

    def __call__(self, x_bcd: jax.Array, mask: jax.Array) -> jax.Array:
        """x [B, C, D]; mask [B, 1, 1, C] over keys (see `key_mask`)."""
        h_bcd = self.ln1(x_bcd)
        q_bcnk = jnp.einsum("BCD,DNK->BCNK", h_bcd, self.q_dnk[...])
        k_bcnk = jnp.einsum("BCD,DNK->BCNK", h_bcd, self.k_dnk[...])
        v_bcnk = jnp.einsum("BCD,DNK->BCNK", h_bcd, self.v_dnk[...])
        a_bcnk = jax.nn.dot_product_attention(q_bcnk, k_bcnk, v_bcnk, mask=mask)
        x_bcd = x_bcd + jnp.einsum("BCNK,NKD->BCD", a_bcnk, self.o_nkd[...])
        x_bcd = shard(x_bcd, ("batch", "context_seq", "embed"))
        h_bcd = self.ln2(x_bcd)
        h_bcm = jax.nn.gelu(jnp.einsum("BCD,DM->BCM", h_bcd, self.fc1_dm[...]) + self.fc1_m[...])
        x_bcd = x_bcd + jnp.einsum("BCM,MD->BCD", h_bcm, self.fc2_md[...]) + self.fc2_d[...]
        return shard(x_bcd, ("batch", "context_seq", "embed"))


class TextEncoder(nnx.Module):
    """Caption ids [B, C] -> (context embeddings [B, C, D], real-token mask [B, C])."""

    def __init__(self, config: TextEncoderConfig, *, rngs: nnx.Rngs):
        self.config = c = config
        self.embed_vd = _param(rngs, _embed_init, (c.vocab_size, c.width), ("vocab", "embed"))
        self.pos_cd = _param(rngs, _embed_init, (c.max_len, c.width), (None, "embed"))
        self.blocks = nnx.List(
            [Block(c.width, c.heads, c.mlp_width, rngs=rngs) for _ in range(c.depth)]
        )
        self.ln_f = LayerNorm(c.width, rngs=rngs)

    def __call__(self, tokens: jax.Array) -> tuple[jax.Array, jax.Array]:
        """int32 [B, C] (C <= max_len, 0 = padding) -> (float [B, C, D], bool [B, C]).

        Outputs at padding positions are finite but meaningless; consumers mask them out
        with the returned mask (through `key_mask` when a row may be all padding).
        """
        c = self.config
        num_tokens = tokens.shape[1]
        if num_tokens > c.max_len:
            raise ValueError(f"{num_tokens} tokens > config.max_len {c.max_len}")
        mask_bc = tokens != PAD_ID  # [B, C]
        # Activations follow the parameters' dtype (bf16 compute when the trainer casts).
        x_bcd = jnp.take(self.embed_vd[...], tokens, axis=0)  # [B, C, D]
        x_bcd = x_bcd + self.pos_cd[:num_tokens]
        x_bcd = shard(x_bcd, ("batch", "context_seq", "embed"))
        mask = key_mask(mask_bc)  # [B, 1, 1, C]
        for block in self.blocks:
            x_bcd = block(x_bcd, mask)
        x_bcd = self.ln_f(x_bcd)
        return shard(x_bcd, ("batch", "context_seq", "embed")), mask_bc


def num_params(config: TextEncoderConfig) -> int:
    """Parameter count of `TextEncoder(config)`, from shapes only (allocates nothing)."""
    model = nnx.eval_shape(lambda: TextEncoder(config, rngs=nnx.Rngs(0)))
    return sum(x.size for x in jax.tree.leaves(nnx.state(model, nnx.Param)))
