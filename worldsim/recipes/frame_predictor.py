"""The engine's test model: a next-frame transformer (`worldsim.models.frame_predictor`).

One engine run on clip videos: `model.frame_stride` subsamples the clip's frames in
time, the first `num_frames` of the preset are taken and mean-pooled to its frame size.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from worldsim.media.frames import downsample_frames
from worldsim.train.settings import (
    ConfigError,
    RunSettings,
    base_config,
    field,
    from_config,
    positive,
    to_config,
)
from worldsim.train.settings import validate as validate_run
from worldsim.train.tasks import HostBatch, Task

MOVED_FIELDS = {"data.frame_stride": "model.frame_stride"}
REMAT = ("none", "full", "dots")


@dataclasses.dataclass(frozen=True)
class FramePredictorSettings:
    kind: str = field("frame_predictor")
    preset: str = field("cpu")  # worldsim/models/frame_predictor.py PRESETS
    remat: str = field("none", lambda v: v in REMAT, f"must be one of {REMAT}")
    # Temporal subsampling of the clip's frames (16 fps clips -> 4 fps frames).
    frame_stride: int = field(4, positive, "must be a positive int")


def defaults() -> ml_collections.ConfigDict:
    c = base_config()
    c.model = to_config(FramePredictorSettings())
    return c


def validate(config: Any, num_devices: int | None = None) -> tuple[RunSettings, Any]:
    from worldsim.models import frame_predictor as fp

    errors: list[str] = []
    model = from_config(FramePredictorSettings, config.model, "model", errors=errors)
    try:
        run = validate_run(config, num_devices)
    except ConfigError as e:
        errors += [line.strip() for line in str(e).splitlines()[1:]]
        run = None
    if model is not None and model.preset not in fp.PRESETS:
        errors.append(
            f"config field 'model.preset' = {model.preset!r}: not one of {sorted(fp.PRESETS)}"
        )
    if errors:
        raise ConfigError("invalid config:\n  " + "\n  ".join(errors))
    return run, model


def make_task(model: FramePredictorSettings) -> Task:
    from worldsim.models import frame_predictor as fp

    config = dataclasses.replace(fp.PRESETS[model.preset], remat=model.remat)
    return _task(config, model.frame_stride)


def _task(config: Any, stride: int) -> Task:
    from worldsim.models import frame_predictor as fp

    def prepare_batch(batch: HostBatch) -> HostBatch:
        video = np.asarray(batch["video"])[:, ::stride][:, : config.num_frames]
        if video.shape[1] < config.num_frames:
            raise ValueError(
                f"clips give {video.shape[1]} frames at frame_stride {stride}, the model "
                f"needs {config.num_frames}; lower model.frame_stride or use longer clips"
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
        unrolled_with_depth=lambda depth: _task(
            dataclasses.replace(config, depth=depth, scan_layers=False), stride
        ),
        depth=config.depth,
    )


def dry_run_task(config: Any) -> tuple[Any, Task]:
    _, model = validate(config)
    return config, make_task(model)


def train(
    config: Any,
    workdir: str | Path,
    *,
    data_dir: str,
    stop_at: int | None = None,
    verbose: bool = False,
):
    from worldsim.train.trainer import train as engine_train

    _, model = validate(config)
    return engine_train(
        config, workdir, make_task(model), data_dir=data_dir, stop_at=stop_at, verbose=verbose
    )


def run_settings(config: Any) -> RunSettings:
    """The engine settings whose data fields say where the dataset is."""
    return validate(config)[0]
