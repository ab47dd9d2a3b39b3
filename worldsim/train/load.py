"""A trained model back from a run directory, for inference (generation, notebooks, frozen stages).

    model, step = load_model(workdir, task.make_model)

Restores the newest readable checkpoint of `workdir/checkpoints` onto the current mesh
(or a single device when none is set) and returns the model with the EMA parameters
(default) or the raw ones. Only that parameter item and the model's other variables
are read (checkpoints keep params, EMA and optimizer state as separate items): no
optimizer is built, and reading a run never changes it (an unreadable newest step is
skipped in memory with a warning, not moved).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

import jax
from flax import nnx

from worldsim.parallel import DEFAULT_RULES, make_mesh
from worldsim.train.checkpoint import Checkpointer, CheckpointError
from worldsim.train.step import abstract_with_shardings, inference_state


def load_model(
    workdir: str | Path,
    make_model: Callable[[nnx.Rngs], nnx.Module],
    *,
    use_ema: bool = True,
    rules=DEFAULT_RULES,
) -> tuple[nnx.Module, int]:
    """(model, step) from the newest checkpoint in `workdir`; raises CheckpointError if none."""
    directory = Path(workdir) / "checkpoints"
    if not directory.is_dir():
        raise CheckpointError(f"no checkpoint in {directory}: train this stage first")
    abstract_mesh = jax.sharding.get_abstract_mesh()
    mesh = make_mesh({"data": -1}) if abstract_mesh.empty else abstract_mesh
    context = jax.set_mesh(mesh) if abstract_mesh.empty else contextlib.nullcontext()
    item = "ema" if use_ema else "params"
    with context, nnx.logical_axis_rules(rules):
        graphdef, abstract, _ = abstract_with_shardings(
            lambda: inference_state(make_model, item), mesh
        )
        with Checkpointer(directory, read_only=True) as ckpt:
            found = ckpt.restore(abstract)
    if found is None:
        raise CheckpointError(f"no checkpoint in {directory}: train this stage first")
    step, state = found
    return nnx.merge(graphdef, state[item], state["rest"]), step
