"""Training input from the config: the dataset (built on first use), this host's iterator,
and a fixed set of evaluation batches.

Each process reads its own stride of the split (`shard_index = jax.process_index()`)
and loads `batch_size / process_count` rows; `worldsim.parallel.put_batch` stitches
the rows of all processes into one global batch.
"""

from __future__ import annotations

import zlib
from typing import Any

import jax
import numpy as np
from jax.experimental import multihost_utils

from worldsim.parallel import is_main_process
from worldsim.train.settings import DataSettings


def local_batch_size(global_batch_size: int, process_count: int) -> int:
    if global_batch_size % process_count:
        raise ValueError(
            f"config field 'data.batch_size' = {global_batch_size}: must be divisible by the "
            f"number of processes ({process_count})"
        )
    return global_batch_size // process_count


def ensure_dataset(data_cfg: DataSettings, seed: int) -> str:
    """The dataset directory; simulates `physics_clips` there first if it is missing.

    Only process 0 builds; the others wait for it, so hosts never race on the files.
    """
    from data_pipelines import build_physics_clips, find_dataset_dir

    data_dir = data_cfg.dir
    try:
        find_dataset_dir(data_dir)
        return data_dir
    except FileNotFoundError:
        if not data_cfg.build_if_missing:
            raise FileNotFoundError(
                f"config field 'data.dir' = {data_dir!r}: no built dataset there; build one with "
                f"`worldsim data build physics_clips --out {data_dir}` or set "
                "--config.data.build_if_missing=true"
            ) from None
    if is_main_process():
        print(f"building physics_clips ({data_cfg.num_clips} clips) in {data_dir} ...")
        build_physics_clips(data_dir, num_clips=data_cfg.num_clips, seed=seed)
    if jax.process_count() > 1:
        multihost_utils.sync_global_devices("worldsim_dataset_built")
    return data_dir


def _iterator(data_cfg: DataSettings, data_dir: str, split: str, seed: int, **options: Any):
    """This process's shard of `split` in batches of `batch_size / process_count` rows."""
    from data_pipelines.grain_pipeline import make_train_iterator

    return make_train_iterator(
        data_dir,
        split,
        batch_size=local_batch_size(data_cfg.batch_size, jax.process_count()),
        seed=seed,
        shard_index=jax.process_index(),
        shard_count=jax.process_count(),
        **options,
    )


def train_iterator(data_cfg: DataSettings, data_dir: str, seed: int):
    """This process's checkpointable iterator over training batches."""
    return _iterator(
        data_cfg,
        data_dir,
        data_cfg.split,
        seed,
        success_weight=data_cfg.success_weight,
        failure_weight=data_cfg.failure_weight,
        augment=data_cfg.augment,
    )


EVAL_SEED_OFFSET = 10_007  # evaluation batches are drawn apart from the training stream


def eval_mixture(data_cfg: DataSettings, failures: np.ndarray) -> dict:
    """The training mixture's weights for drawing evaluation batches from clips flagged
    `failures` (this host's): a kind of clip the split lacks here gets weight 0, so a small
    split is drawn from the kind it has."""
    return {
        "success_weight": data_cfg.success_weight if (~failures).any() else 0.0,
        "failure_weight": data_cfg.failure_weight if failures.any() else 0.0,
    }


def eval_batches(data_cfg: DataSettings, data_dir: str, seed: int, num_batches: int) -> list[dict]:
    """The same `num_batches` evaluation batches every time (no augmentation, fixed seed).

    Drawn with the training mixture; a small split that lacks one kind of clip on this
    host is drawn from the kind it has.
    """
    from data_pipelines import catalog
    from data_pipelines.grain_pipeline import host_indices

    failures = catalog.failure_mask(data_dir, data_cfg.eval_split)
    mine = failures[host_indices(len(failures), jax.process_index(), jax.process_count())]
    it = _iterator(
        data_cfg,
        data_dir,
        data_cfg.eval_split,
        seed + EVAL_SEED_OFFSET,
        **eval_mixture(data_cfg, mine),
        augment=False,
    )
    return [next(it) for _ in range(num_batches)]


def batch_fingerprint(batch: dict) -> int:
    """CRC32 of the batch's clip ids in order: equal fingerprints, same clips in the same order.

    Logged with every step so a resumed run can be checked to have neither repeated nor
    skipped data. Below 2**32, so it survives the trip through float JSON exactly.
    """
    ids = batch.get("clip_id")
    if ids is None:
        return zlib.crc32(np.ascontiguousarray(batch["video"]).tobytes()[:4096])
    return zlib.crc32(b"\0".join(bytes(i) for i in np.asarray(ids).ravel()))
