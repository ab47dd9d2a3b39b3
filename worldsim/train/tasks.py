"""What the engine needs from a model, and the registry that builds it from a config.

A `Task` is the whole interface between the training engine and a model: how to
build it, its pure loss, how a host-side data batch becomes the loss's input, the
batch shapes (for ahead-of-time compiles) and, where known, its FLOPs per step
(for MFU). The engine knows nothing else about models; the world model plugs in
by adding one entry to `TASKS`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
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


# ----------------------------------------------------------------------------- frame predictor


def downsample_frames(video: np.ndarray, frame_size: int) -> np.ndarray:
    """uint8 [B, T, H, W, 3] -> uint8 [B, T, S, S, 3] by mean-pooling an integer factor."""
    b, t, h, w, c = video.shape
    if h % frame_size or w % frame_size or h != w:
        raise ValueError(
            f"video frames {h}x{w} cannot be pooled to {frame_size}x{frame_size} "
            "(need square frames and an integer factor)"
        )
    f = h // frame_size
    if f == 1:
        return video
    pooled = video.reshape(b, t, frame_size, f, frame_size, f, c).mean(axis=(3, 5))
    return np.round(pooled).astype(np.uint8)  # [B, T, S, S, 3]


def frame_predictor_task(model_cfg: Any, data_cfg: Any) -> Task:
    """The next-frame transformer (`worldsim.models.frame_predictor`) on clip videos.

    model_cfg: `preset`, `remat`; data_cfg: `frame_stride` (temporal subsampling
    of the clip's frames before the first `num_frames` are taken).
    """
    from worldsim.models import frame_predictor as fp

    if model_cfg.preset not in fp.PRESETS:
        raise ValueError(
            f"config field 'model.preset' = {model_cfg.preset!r}: not one of {sorted(fp.PRESETS)}"
        )
    config = dataclasses.replace(fp.PRESETS[model_cfg.preset], remat=model_cfg.remat)
    stride = int(data_cfg.frame_stride)
    return _frame_predictor_task(config, stride)


def _frame_predictor_task(config: Any, stride: int) -> Task:
    from worldsim.models import frame_predictor as fp

    def prepare_batch(batch: HostBatch) -> HostBatch:
        video = np.asarray(batch["video"])[:, ::stride][:, : config.num_frames]
        if video.shape[1] < config.num_frames:
            raise ValueError(
                f"clips give {video.shape[1]} frames at frame_stride {stride}, the model "
                f"needs {config.num_frames}; lower data.frame_stride or use longer clips"
            )
        return {"frames": downsample_frames(video, config.frame_size)}  # [B, T, S, S, 3]

    def batch_shapes(batch_size: int) -> dict[str, jax.ShapeDtypeStruct]:
        shape = (batch_size, config.num_frames, config.frame_size, config.frame_size, 3)
        return {"frames": jax.ShapeDtypeStruct(shape, jnp.uint8)}

    def loss_fn(model, batch, key):
        del key  # deterministic objective
        return fp.loss_fn(model, batch)

    tokens = (config.num_frames - 1) * config.patches_per_frame
    return Task(
        name="frame_predictor",
        make_model=lambda rngs: fp.FramePredictor(config, rngs=rngs),
        loss_fn=loss_fn,
        prepare_batch=prepare_batch,
        batch_shapes=batch_shapes,
        flops_per_step=lambda batch_size: fp.flops_per_step(config, batch_size),
        tokens_per_step=lambda batch_size: batch_size * tokens,
        unrolled_with_depth=lambda depth: _frame_predictor_task(
            dataclasses.replace(config, depth=depth, scan_layers=False), stride
        ),
        depth=config.depth,
    )


def world_model_task(model_cfg: Any, data_cfg: Any) -> Task:
    """The world model's transformer stage (its VAE stages run through `worldsim.world.stages`)."""
    from worldsim.world.tasks import world_model_task as transformer_stage

    return transformer_stage(model_cfg, data_cfg)


TASKS: dict[str, Callable[[Any, Any], Task]] = {
    "frame_predictor": frame_predictor_task,
    "world_model": world_model_task,
}


def task_from_config(config: Any) -> Task:
    """The task named by `config.model.kind`; errors name the field."""
    kind = config.model.kind
    if kind not in TASKS:
        raise ValueError(f"config field 'model.kind' = {kind!r}: not one of {sorted(TASKS)}")
    return TASKS[kind](config.model, config.data)
