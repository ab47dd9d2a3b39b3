"""Trains the world model stage by stage: video VAE, audio VAE, then the transformer.

    worldsim train --config experiments/tiny_cpu.py --workdir runs/tiny
      runs/tiny/config.json         the whole resolved config
      runs/tiny/tokenizer.model     sentencepiece model, copied from the dataset
      runs/tiny/video_vae/          an engine run: checkpoints/, metrics.jsonl, tb/, metrics.png
      runs/tiny/audio_vae/
      runs/tiny/av_dit/             + latent_stats.json
      runs/tiny/latents/            the VAEs' latents of every clip, both mirror images
                                    (array_record shards per host, written once)
      runs/tiny/losses.png          every stage's loss curve, side by side

Each stage is an ordinary engine run (`worldsim.train.trainer.train`) with the
stage's `steps`, `learning_rate`, `warmup_steps` and `batch_size` from
`config.stages.<stage>` (`worldsim.world.settings.stage_config`), so every stage
checkpoints, resumes after a kill and logs on its own; a finished stage is skipped on
the next call (its checkpoint is at its last step). `stop_at` bounds the current
stage; the run returns there.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np

from worldsim.parallel import is_main_process
from worldsim.train.config import save_config
from worldsim.train.trainer import TrainResult, log, train
from worldsim.world.settings import WorldSettings, stage_config, validate_world
from worldsim.world.tasks import stage_task


def _prepare_text(world: WorldSettings, data_dir: str, workdir: Path) -> None:
    """Trains the dataset's tokenizer if missing; copies it into the run."""
    from data_pipelines.tokenizer import ensure_tokenizer
    from worldsim.world.codec import TOKENIZER_FILE

    target = workdir / TOKENIZER_FILE
    if is_main_process() and not target.exists():
        source = ensure_tokenizer(data_dir, vocab_size=world.spec.vocab_size)
        workdir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target.with_suffix(".tmp"))
        target.with_suffix(".tmp").replace(target)
    _sync("tokenizer")


def size_text_window(config: Any, data_dir: str) -> Any:
    """`config` with `model.text_len` sized from the dataset's longest caption when it is 0;
    a ConfigError when a given window is too short for some caption (nothing is cut)."""
    import ml_collections

    from data_pipelines.tokenizer import caption_report
    from worldsim.train.settings import ConfigError
    from worldsim.world.spec import text_window

    report = caption_report(data_dir)
    longest = int(report["longest_caption_tokens"])
    prompts = int(report["longest_prompt_tokens"])
    given = int(config.model.text_len)
    if given == 0:
        config = ml_collections.ConfigDict(config.to_dict())
        config.model.text_len = text_window(max(longest, prompts))
        log(
            f"text window: {config.model.text_len} tokens (the dataset's longest caption has "
            f"{longest} with EOS; the benchmark's longest possible prompt {prompts})"
        )
    elif given < longest:
        raise ConfigError(
            f"config field 'model.text_len' = {given}: the dataset's longest caption has "
            f"{longest} tokens (EOS included) and would be cut; set 0 to size the window "
            f"from the data, or at least {longest}"
        )
    return config


def _sync(name: str) -> None:
    import jax
    from jax.experimental import multihost_utils

    if jax.process_count() > 1:
        multihost_utils.sync_global_devices(f"worldsim:{name}")


def _codec(world: WorldSettings, data_dir: str, workdir: Path):
    """The frozen VAEs and tokenizer; measures and saves the latent statistics on first use."""
    from data_pipelines.catalog import open_split
    from worldsim.world.codec import STATS_FILE, Codec

    codec = Codec.load(workdir, world.spec)
    if codec.stats is None:
        path = workdir / "av_dit" / STATS_FILE
        if is_main_process():
            source = open_split(data_dir, world.runs["av_dit"].data.split)
            records = [source[i] for i in range(min(16, len(source)))]
            clips = {k: np.stack([r[k] for r in records]) for k in ("video", "audio")}
            stats = codec.measure_stats(clips)
            path.parent.mkdir(parents=True, exist_ok=True)
            stats.save(path)
            log(f"latent statistics (first {len(records)} training clips): {stats}")
        _sync("latent_stats")
        codec = Codec.load(workdir, world.spec)
    return codec


def _latents(world: WorldSettings, data_dir: str, workdir: Path) -> Path:
    """Writes (once) this host's latents of the transformer stage's train and eval splits."""
    import jax

    from worldsim.world.latents import write_latents

    codec = _codec(world, data_dir, workdir)
    out = workdir / "latents"
    data = world.runs["av_dit"].data
    for split in dict.fromkeys((data.split, data.eval_split)):
        path = write_latents(
            codec,
            data_dir,
            split,
            out,
            shard_index=jax.process_index(),
            shard_count=jax.process_count(),
        )
        log(f"latents of {split!r}: {path}")
    _sync("latents")
    return out


def train_world(
    config: Any,
    workdir: str | Path,
    *,
    data_dir: str,
    stop_at: int | None = None,
    verbose: bool = False,
) -> TrainResult:
    """Runs the configured stages in order on the dataset in `data_dir`; returns the last
    stage's result."""
    workdir = Path(workdir)
    world = validate_world(config)
    order = tuple(world.runs)
    workdir.mkdir(parents=True, exist_ok=True)
    _prepare_text(world, data_dir, workdir)
    config = size_text_window(config, data_dir)
    world = validate_world(config)
    # A resumed run rewrites config.json only once its stages ran: a config that does not
    # match the checkpoints (a changed model field) fails and leaves the run as it was.
    resumed = (workdir / "config.json").exists()
    if is_main_process() and not resumed:
        save_config(config, workdir / "config.json")
    result = TrainResult(step=0, status="done")
    for stage in order:
        log(f"== stage {stage} ==")
        latents_dir = _latents(world, data_dir, workdir) if stage == "av_dit" else None
        task = stage_task(stage, world.spec, world.model, latents_dir)
        result = train(
            stage_config(config, stage),
            workdir / stage,
            task,
            data_dir=data_dir,
            stop_at=stop_at,
            verbose=verbose,
        )
        if result.status != "done":
            break
    if is_main_process() and resumed:
        save_config(config, workdir / "config.json")
    if result.status != "done":
        return result
    if is_main_process():
        from worldsim.world.report import plot_stage_losses

        plot_stage_losses(workdir, order, workdir / "losses.png")
        log(f"all stages done; loss curves in {workdir / 'losses.png'}")
    return result
