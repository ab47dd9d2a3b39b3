"""What the engine needs from a model: the `Task` contract.

A `Task` is the whole interface between the training engine and a model: how to
build it, its pure loss, how a host-side data batch becomes the loss's input, the
batch shapes (for ahead-of-time compiles) and, where known, its FLOPs per step
(for MFU). The engine knows nothing else about models: a recipe
(`worldsim/recipes/`, found by `model.kind`) builds the Task and hands it to
`worldsim.train.trainer.train(config, workdir, task)`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax
import numpy as np
from flax import nnx

from worldsim.train.step import LossFn

HostBatch = dict[str, np.ndarray]


@dataclasses.dataclass(frozen=True)
class Task:
    name: str
    make_model: Callable[[nnx.Rngs], nnx.Module]
    loss_fn: LossFn
    # Host side: a data-pipeline batch (numpy, this process's rows) -> the arrays `loss_fn` reads.
    prepare_batch: Callable[[HostBatch], HostBatch]
    # Global batch size -> shapes and dtypes of `prepare_batch`'s output (no data needed).
    batch_shapes: Callable[[int], dict[str, jax.ShapeDtypeStruct]]
    # Global batch size -> model FLOPs of one train step (forward + backward), if known.
    flops_per_step: Callable[[int], float] | None = None
    # Global batch size -> tokens the model processes per step, if it has tokens.
    tokens_per_step: Callable[[int], int] | None = None
    # The same task with `depth` layers in a Python loop instead of a scan: lets the dry
    # run correct XLA's FLOPs count, which counts a scanned body once (`train.dry_run`).
    unrolled_with_depth: Callable[[int], Task] | None = None
    depth: int | None = None
    # Where the task's data comes from, when not the clip pipeline
    # (`worldsim.train.inputs.train_iterator` / `eval_batches`, same arguments): e.g.
    # features written once by earlier stages. The iterator must be checkpointable (grain).
    train_iterator: Callable[..., Any] | None = None
    eval_batches: Callable[..., list] | None = None
