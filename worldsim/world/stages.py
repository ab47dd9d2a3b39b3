"""Trains the world model stage by stage: video VAE, audio VAE, then the transformer.

    worldsim train --config experiments/tiny_cpu.py --workdir runs/tiny
      runs/tiny/config.json         the whole resolved config
      runs/tiny/tokenizer.model     sentencepiece model, copied from the dataset
      runs/tiny/video_vae/          an engine run: checkpoints/, metrics.jsonl, tb/, metrics.png
      runs/tiny/audio_vae/
      runs/tiny/av_dit/             + latent_stats.json
      runs/tiny/losses.png          every stage's loss curve, side by side

Each stage is an ordinary engine run (`worldsim.train.trainer.train`) with the
stage's `steps`, `learning_rate`, `warmup_steps` and `batch_size` from
`config.stages.<stage>`, so every stage checkpoints, resumes after a kill and logs
on its own; a finished stage is skipped on the next call (its checkpoint is at
its last step). `stop_at` bounds the current stage; the run returns there.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import ml_collections
import numpy as np

from worldsim.parallel import is_main_process
from worldsim.train.config import save_config
from worldsim.train.trainer import TrainResult, log, train
from worldsim.world.tasks import STAGES, stage_task

_STAGE_FIELDS = {
    "steps": "train.steps",
    "learning_rate": "train.learning_rate",
    "warmup_steps": "train.warmup_steps",
    "batch_size": "data.batch_size",
    "ema_decay": "train.ema_decay",
    "eval_every": "train.eval_every",
    "log_every": "train.log_every",
    "checkpoint_every": "checkpoint.every_steps",
}


def stage_order(config: Any) -> tuple[str, ...]:
    order = tuple(s.strip() for s in str(config.stages.order).split(",") if s.strip())
    for stage in order:
        if stage not in STAGES:
            raise ValueError(
                f"config field 'stages.order' = {config.stages.order!r}: unknown stage "
                f"{stage!r}; stages are {', '.join(STAGES)}"
            )
    if list(order) != sorted(order, key=STAGES.index):
        raise ValueError(
            f"config field 'stages.order' = {config.stages.order!r}: stages must run in the "
            f"order {', '.join(STAGES)}"
        )
    return order


def stage_config(config: Any, stage: str) -> ml_collections.ConfigDict:
    """The config an engine run of `stage` sees: `stages.<stage>` fields applied."""
    c = ml_collections.ConfigDict(config.to_dict())
    for field, value in config.stages[stage].items():
        if field not in _STAGE_FIELDS:
            raise ValueError(
                f"config field 'stages.{stage}.{field}': unknown; stage fields are "
                f"{', '.join(sorted(_STAGE_FIELDS))}"
            )
        group, name = _STAGE_FIELDS[field].split(".")
        c[group][name] = value
    return c


def _prepare_text(config: Any, workdir: Path) -> None:
    """Builds the dataset and its tokenizer if missing; copies the tokenizer into the run."""
    from data_pipelines.tokenizer import ensure_tokenizer
    from worldsim.train import inputs
    from worldsim.world.codec import TOKENIZER_FILE

    data_dir = inputs.ensure_dataset(config.data, int(config.seed))
    target = workdir / TOKENIZER_FILE
    if is_main_process() and not target.exists():
        source = ensure_tokenizer(data_dir, vocab_size=int(config.model.vocab_size))
        workdir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target.with_suffix(".tmp"))
        target.with_suffix(".tmp").replace(target)
    _sync("tokenizer")


def _sync(name: str) -> None:
    import jax
    from jax.experimental import multihost_utils

    if jax.process_count() > 1:
        multihost_utils.sync_global_devices(f"worldsim:{name}")


def _codec(config: Any, workdir: Path):
    """The frozen VAEs and tokenizer; measures and saves the latent statistics on first use."""
    from data_pipelines.catalog import open_split
    from worldsim.train import inputs
    from worldsim.world.codec import STATS_FILE, Codec
    from worldsim.world.spec import spec_from_config

    spec = spec_from_config(config.model)
    codec = Codec.load(workdir, spec, config)
    if codec.stats is None:
        path = workdir / "av_dit" / STATS_FILE
        if is_main_process():
            data_dir = inputs.ensure_dataset(config.data, int(config.seed))
            source = open_split(data_dir, config.data.split)
            records = [source[i] for i in range(min(16, len(source)))]
            clips = {k: np.stack([r[k] for r in records]) for k in ("video", "audio")}
            stats = codec.measure_stats(clips)
            path.parent.mkdir(parents=True, exist_ok=True)
            stats.save(path)
            log(f"latent statistics (first {len(records)} training clips): {stats}")
        _sync("latent_stats")
        codec = Codec.load(workdir, spec, config)
    return codec


def train_world(config: Any, workdir: str | Path, *, stop_at: int | None = None) -> TrainResult:
    """Runs the configured stages in order; returns the last stage's result."""
    workdir = Path(workdir)
    order = stage_order(config)
    workdir.mkdir(parents=True, exist_ok=True)
    if is_main_process():
        save_config(config, workdir / "config.json")
    _prepare_text(config, workdir)
    result = TrainResult(step=0, status="done")
    for stage in order:
        log(f"== stage {stage} ==")
        codec = _codec(config, workdir) if stage == "av_dit" else None
        stage_cfg = stage_config(config, stage)
        result = train(
            stage_cfg, workdir / stage, task=stage_task(stage, stage_cfg, codec), stop_at=stop_at
        )
        if result.status != "done":
            return result
    if is_main_process():
        from worldsim.world.report import plot_stage_losses

        plot_stage_losses(workdir, order, workdir / "losses.png")
        log(f"all stages done; loss curves in {workdir / 'losses.png'}")
    return result
