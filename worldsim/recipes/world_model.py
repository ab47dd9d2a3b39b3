"""The world model: video VAE, audio VAE and the joint audio-video transformer, in stages.

Its settings and defaults live with it (`worldsim.world.settings`); training runs the
stages in order (`worldsim.world.stages.train_world`), each an engine run. A dry run
sizes the transformer stage, the one that grows with the pod.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from worldsim.train.tasks import Task
from worldsim.world.settings import MOVED_FIELDS, stage_config, validate_world, world_config

__all__ = ["MOVED_FIELDS", "defaults", "dry_run_task", "run_settings", "train", "validate"]

defaults = world_config


def validate(config: Any, num_devices: int | None = None):
    return validate_world(config, num_devices)


def dry_run_task(config: Any) -> tuple[Any, Task]:
    """The transformer stage's engine config and task; a text window sized from the data
    (model.text_len = 0) is sized at `DRY_RUN_TEXT_LEN` tokens here (no data in a dry run)."""
    from worldsim.world.spec import sized_without_data
    from worldsim.world.tasks import av_dit_task

    world = validate_world(config)
    return stage_config(config, "av_dit"), av_dit_task(sized_without_data(world.spec), world.model)


def train(
    config: Any,
    workdir: str | Path,
    *,
    data_dir: str,
    stop_at: int | None = None,
    verbose: bool = False,
):
    from worldsim.world.stages import train_world

    return train_world(config, workdir, data_dir=data_dir, stop_at=stop_at, verbose=verbose)


def run_settings(config: Any):
    """The engine settings whose data fields say where the dataset is (the same in every
    stage)."""
    world = validate_world(config)
    return world.runs[world.stages.names[0]]  # data fields are the same for every stage
