"""Logical-axis rules: the one place that maps model axis names to mesh axes.

Model code annotates parameters (`nnx.with_partitioning(init, ("embed", "mlp"))`)
and activations (`shard(x, ("batch", "seq", "embed"))`) with *logical* names; the
rule table below, overridable from the config, decides which mesh axes those
become. Changing the parallelism strategy is then a config edit, never a model
edit (DESIGN.md, "Sharding by logical axes").
"""

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import flax.linen as nn
import jax
import numpy as np
from flax import nnx
from flax.core import spmd as flax_spmd
from jax.sharding import NamedSharding, PartitionSpec

from worldsim.parallel.mesh import MESH_AXES

MeshAxes = str | tuple[str, ...] | None
Rules = tuple[tuple[str, MeshAxes], ...]

# Order matters for activations: flax resolves rules by priority and never uses a
# mesh axis twice in one array, so for an activation ("batch", "seq", "embed")
# `batch` takes ("data", "fsdp") and `embed` stays replicated, while for a
# parameter ("embed", "mlp") `embed` is FSDP-sharded.
DEFAULT_RULES: Rules = (
    ("batch", ("data", "fsdp")),
    ("seq", "sequence"),  # video tokens L
    ("audio_seq", "sequence"),  # audio tokens A
    ("context_seq", None),  # conditioning tokens C: short, replicated
    ("embed", "fsdp"),  # width D
    ("heads", "tensor"),  # N
    ("kv", None),  # head dim K
    ("mlp", "tensor"),  # M
    ("vocab", "tensor"),
    ("layers", None),  # the scanned layer axis
)


def _as_mesh_axes(value: Any) -> MeshAxes:
    if value is None or isinstance(value, str):
        return value
    return tuple(value)  # lists come from ConfigDicts / command lines


def rules_from_config(
    mapping: Mapping[str, Any] | Iterable[tuple[str, Any]],
    mesh_axes: Sequence[str] = MESH_AXES,
) -> Rules:
    """Normalises a config's rule table and checks every mesh axis it names exists.

    Accepts a dict / ConfigDict (`{"batch": ["data", "fsdp"], ...}`) or a
    sequence of pairs (keeps priority order). A typo such as `"tensr"` would
    otherwise silently leave an axis replicated, so it raises, naming the rule.
    """
    items = mapping.items() if isinstance(mapping, Mapping) else mapping
    rules = []
    for logical, value in items:
        axes = _as_mesh_axes(value)
        named = (axes,) if isinstance(axes, str) else (axes or ())
        for axis in named:
            if axis not in mesh_axes:
                raise ValueError(
                    f"Rule {logical!r} -> {value!r} names mesh axis {axis!r}, "
                    f"which is not one of {tuple(mesh_axes)}."
                )
        rules.append((str(logical), axes))
    return tuple(rules)


def logical_to_spec(axes: Sequence[str | None], rules: Rules) -> PartitionSpec:
    """Logical names -> PartitionSpec, with flax's priority semantics.

    Example: ("batch", None, "embed") -> P(("data", "fsdp"), None, None) with the
    default rules (fsdp is already taken by batch).
    """
    return nn.logical_to_mesh_axes(tuple(axes), rules)


def shard(x: jax.Array, axes: Sequence[str | None]) -> jax.Array:
    """Constrains an activation's sharding by logical names (model code's only hook).

    Resolves against the rules of the enclosing `nnx.logical_axis_rules(...)` and
    the mesh of the enclosing `jax.set_mesh(...)`. Without a mesh or without
    rules (single-device unit tests) it is the identity, so models run unchanged
    off-mesh instead of being silently forced to replicate.
    """
    if len(axes) != x.ndim:
        raise ValueError(f"shard: {len(axes)} axis names {tuple(axes)} for shape {x.shape}.")
    if jax.sharding.get_abstract_mesh().empty or not flax_spmd.get_logical_axis_rules():
        return x
    return jax.lax.with_sharding_constraint(x, nn.logical_to_mesh_axes(tuple(axes)))


def batch_sharding(mesh: jax.sharding.Mesh, rules: Rules, ndim: int) -> NamedSharding:
    """Sharding of an `ndim`-dim batch leaf: leading axis is `batch`, rest replicated."""
    if ndim < 1:
        raise ValueError("A batch leaf needs a leading batch axis (ndim >= 1).")
    return NamedSharding(mesh, logical_to_spec(("batch",) + (None,) * (ndim - 1), rules))


def state_shardings(state: Any, mesh: jax.sharding.Mesh, rules: Rules | None = None) -> Any:
    """NamedShardings for an nnx state tree (e.g. `nnx.state((model, opt))`).

    `nnx.get_named_sharding` resolves logical names against the rules active at
    call time; passing `rules` makes that explicit so the result does not depend
    on the caller remembering the context manager.
    """
    if rules is None:
        return nnx.get_named_sharding(state, mesh)
    with nnx.logical_axis_rules(rules):
        return nnx.get_named_sharding(state, mesh)


def put_batch(batch: Any, mesh: jax.sharding.Mesh, rules: Rules) -> Any:
    """This process's slice of the batch -> global jax.Arrays sharded over `batch`.

    Each process loads only its own rows; `make_array_from_process_local_data`
    stitches them into one global array (global batch = local batch x processes
    when the batch axis spans all processes), identically on one or many hosts.
    """

    def put(leaf: Any) -> jax.Array:
        local = np.asarray(leaf)  # [B_local, ...]
        return jax.make_array_from_process_local_data(
            batch_sharding(mesh, rules, local.ndim), local
        )  # [B_global, ...]

    return jax.tree.map(put, batch)
