"""Parallelism helpers: mesh, logical-axis rules, multi-process start-up.

The only package (besides configs) that names mesh axes; models speak logical
axis names and call `shard`.
"""

from worldsim.parallel.distributed import is_main_process, maybe_initialize
from worldsim.parallel.mesh import MESH_AXES, make_mesh, resolve_mesh_shape
from worldsim.parallel.rules import (
    DEFAULT_RULES,
    Rules,
    batch_sharding,
    logical_to_spec,
    put_batch,
    rules_from_config,
    shard,
    state_shardings,
)

__all__ = [
    "DEFAULT_RULES",
    "MESH_AXES",
    "Rules",
    "batch_sharding",
    "is_main_process",
    "logical_to_spec",
    "make_mesh",
    "maybe_initialize",
    "put_batch",
    "resolve_mesh_shape",
    "rules_from_config",
    "shard",
    "state_shardings",
]
