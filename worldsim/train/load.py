"""A trained model back from a run directory, for inference (generation, notebooks, frozen stages).

    model, step = load_model(workdir, task.make_model, config.train)

Restores the newest readable checkpoint of `workdir/checkpoints` onto the current
mesh (or a single device when none is set) and returns the model with the EMA
parameters (default) or the raw ones. The optimizer state is restored too, as
orbax needs the whole tree, then dropped.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
from flax import nnx

from worldsim.parallel import DEFAULT_RULES, make_mesh
from worldsim.train.checkpoint import Checkpointer, CheckpointError
from worldsim.train.step import abstract_train_state


def load_model(
    workdir: str | Path,
    make_model: Callable[[nnx.Rngs], nnx.Module],
    train_cfg: Any,
    *,
    use_ema: bool = True,
    seed: int = 0,
    rules=DEFAULT_RULES,
) -> tuple[nnx.Module, int]:
    """(model, step) from the newest checkpoint in `workdir`; raises CheckpointError if none."""
    from worldsim.train.trainer import make_tx  # the optimizer the run was trained with

    directory = Path(workdir) / "checkpoints"
    if not directory.is_dir():
        raise CheckpointError(f"no checkpoint in {directory}: train this stage first")
    abstract_mesh = jax.sharding.get_abstract_mesh()
    mesh = make_mesh({"data": -1}) if abstract_mesh.empty else abstract_mesh
    context = jax.set_mesh(mesh) if abstract_mesh.empty else contextlib.nullcontext()
    with context, nnx.logical_axis_rules(rules):
        graphdef, abstract, _ = abstract_train_state(
            make_model, make_tx(train_cfg), seed, train_cfg.param_dtype, mesh
        )
        with Checkpointer(directory, keep=1_000_000, async_save=False) as ckpt:
            found = ckpt.restore(abstract)
    if found is None:
        raise CheckpointError(f"no checkpoint in {directory}: train this stage first")
    step, state = found
    params = state["ema"] if use_ema else state["params"]
    return nnx.merge(graphdef, params, state["rest"]), step
