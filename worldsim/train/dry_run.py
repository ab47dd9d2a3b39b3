"""`worldsim train --dry-run --topology v5p-512`: does this config fit that pod?

Compiles the *real* sharded train step (the same `jit_train_step` the trainer runs,
same shardings, same donation) for a TPU slice on this CPU-only machine and prints
per-chip memory and FLOPs. Nothing is allocated: the state and the batch are
`jax.ShapeDtypeStruct`s carrying their shardings.

FLOPs: XLA's `cost_analysis()` counts a scanned layer body once. When the task can
build an unrolled variant, the 1- and 2-layer unrolled steps are compiled too and
the count is extrapolated linearly to the real depth (`scan_corrected_flops`); the
analytic FLOPs of the task are printed beside it as a check.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx
from jax.sharding import NamedSharding, PartitionSpec

from worldsim.parallel import make_mesh, rules_from_config
from worldsim.parallel.topology import (
    CompileReport,
    compile_report,
    format_report,
    parse_slice,
    scan_corrected_flops,
    topology_devices,
)
from worldsim.train.settings import RunSettings, validate
from worldsim.train.step import abstract_train_state, jit_train_step
from worldsim.train.tasks import Task
from worldsim.train.trainer import batch_shardings, make_tx, step_config


def _abstract_step(settings: RunSettings, task: Task, mesh, rules) -> tuple[Any, tuple, int]:
    """(jitted step, abstract args, parameter count) for `task` on `mesh`."""
    tx = make_tx(settings.train)
    graphdef, abstract_state, shardings = abstract_train_state(
        task.make_model, tx, settings.seed, settings.train.param_dtype, mesh
    )
    global_batch = settings.data.batch_size
    batch_sh = batch_shardings(task, mesh, rules, global_batch)
    abstract_batch = {
        name: jax.ShapeDtypeStruct(shape.shape, shape.dtype, sharding=batch_sh[name])
        for name, shape in task.batch_shapes(global_batch).items()
    }
    step = jax.ShapeDtypeStruct((), jnp.int32, sharding=NamedSharding(mesh, PartitionSpec()))
    jitted = jit_train_step(step_config(settings, task, graphdef, tx), shardings, batch_sh)
    num_params = sum(math.prod(x.shape) for x in jax.tree.leaves(abstract_state["params"]))
    return jitted, (abstract_state, abstract_batch, step), num_params


def dry_run(
    config: Any, task: Task, topology: str, *, correct_scan_flops: bool = True
) -> CompileReport:
    """Compiles the train step of `task` with the engine fields of `config` for the TPU
    slice `topology` and prints a report."""
    spec = parse_slice(topology)
    settings = validate(config, num_devices=spec.num_chips)
    devices = topology_devices(spec)
    mesh = make_mesh(settings.mesh, devices=devices)
    rules = rules_from_config(settings.rules)
    with jax.set_mesh(mesh), nnx.logical_axis_rules(rules):
        jitted, args, num_params = _abstract_step(settings, task, mesh, rules)
        print(
            f"dry run: {task.name}, {num_params / 1e9:.3f}B params, global batch "
            f"{settings.data.batch_size}, mesh {dict(mesh.shape)} on {spec.name} "
            f"({spec.num_chips} chips), compiling ...",
            flush=True,
        )
        report = compile_report(jitted, args, spec)
        corrected = None
        if (
            report.fits
            and correct_scan_flops
            and task.unrolled_with_depth is not None
            and task.depth
        ):
            per_depth = []
            for depth in (1, 2):
                small = task.unrolled_with_depth(depth)
                small_jitted, small_args, _ = _abstract_step(settings, small, mesh, rules)
                per_depth.append(compile_report(small_jitted, small_args, spec).flops)
            if None not in per_depth:
                corrected = scan_corrected_flops(per_depth[0], per_depth[1], task.depth)
    if corrected is not None:
        report = dataclasses.replace(report, flops=corrected)
    analytic = task.flops_per_step(settings.data.batch_size) if task.flops_per_step else None
    print(format_report(report, flops_per_step=analytic, label=f"{task.name} on {spec.name}"))
    if corrected is not None:
        print(
            f"(per-chip FLOPs extrapolated from unrolled 1- and 2-layer compiles to depth "
            f"{task.depth}; the scanned program alone reports each layer once)"
        )
    return report
