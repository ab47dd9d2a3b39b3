"""The transformer stage's training data, written once after the VAE stages.

    write_latents(codec, data_dir, "train", out_dir)            # this host's stride of a split
    it = latent_train_iterator(out_dir, "train", data_cfg, seed)  # grain, checkpointable
    batches = latent_eval_batches(out_dir, "validation", data_cfg, seed, num_batches)

Every clip of this host's stride of a split goes through the frozen VAEs twice, as
simulated and mirrored (`data_pipelines.grain_pipeline.mirror`), into one array_record
shard per host: record 2k is the host's clip k as simulated, 2k + 1 its mirror image,
each with the normalised latents of both windows (float16) and the caption's token ids (msgpack).
The transformer stage reads them with grain: the success/failure mixture of the clip
pipeline, then a random mirror per draw keyed by the seed (a resumed run replays it), so
a record is keyed on exactly what was encoded, and the host batch only casts: the VAEs
never run in the training loop.

`<shard>.json`, written after its shard, says what the shard holds (clip ids, failures)
and what made it (the VAEs' checkpoint steps, the latent statistics, the spec, the
dataset): a shard made by anything else is written again, never read.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import grain
import numpy as np
from flax import serialization

from worldsim.train.inputs import EVAL_SEED_OFFSET, eval_mixture
from worldsim.world.codec import Codec

FIELDS = ("video_previous", "video_target", "audio_previous", "audio_target", "caption")


def shard_path(out_dir: str | os.PathLike, split: str, shard_index: int, shard_count: int) -> Path:
    return Path(out_dir) / split / f"shard-{shard_index:05d}-of-{shard_count:05d}.array_record"


def _meta_path(shard: Path) -> Path:
    return shard.with_suffix(".json")


def made_by(codec: Codec, data_dir: str | os.PathLike) -> dict:
    """What a shard's numbers depend on; a shard whose record differs is stale."""
    from data_pipelines.catalog import find_dataset_dir

    return {
        "dataset": str(find_dataset_dir(data_dir).resolve()),
        "vae_steps": dict(codec.vae_steps),
        "latent_stats": dataclasses.asdict(codec.stats),
        "spec": json.loads(json.dumps(dataclasses.asdict(codec.spec))),
    }


def _write_json(path: Path, value: dict) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(value))
    os.replace(tmp, path)


def write_latents(
    codec: Codec,
    data_dir: str | os.PathLike,
    split: str,
    out_dir: str | os.PathLike,
    *,
    shard_index: int = 0,
    shard_count: int = 1,
    batch_size: int = 8,
) -> Path:
    """Encodes this host's stride of `split` (both mirror images) into its shard; returns
    the shard's path. A shard already made by the same VAEs, stats and spec is kept."""
    from array_record.python.array_record_module import ArrayRecordWriter

    from data_pipelines.catalog import open_split
    from data_pipelines.grain_pipeline import TRAIN_FIELDS, host_indices, mirror
    from worldsim.console import progress

    if codec.stats is None:
        raise ValueError("write_latents needs the latent statistics (Codec.stats)")
    path = shard_path(out_dir, split, shard_index, shard_count)
    identity = made_by(codec, data_dir)
    meta = _meta_path(path)
    if path.is_file() and meta.is_file():
        if json.loads(meta.read_text()).get("made_by") == identity:
            return path
    source = open_split(data_dir, split, skip=("states", "visibility"))
    mine = host_indices(len(source), shard_index, shard_count)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    writer = ArrayRecordWriter(str(tmp), "group_size:1")  # random access, one record a group
    clip_ids, failures = [], []
    chunks = [mine[i : i + batch_size] for i in range(0, len(mine), batch_size)]
    for chunk in progress(
        chunks, desc=f"latents {split} {shard_index + 1}/{shard_count}", unit="batch"
    ):
        rows = []
        for index in chunk:
            record = source[int(index)]
            clip = {name: record[name] for name in TRAIN_FIELDS}
            clip["flipped"] = np.bool_(False)
            rows += [clip, mirror(clip)]  # records 2k and 2k + 1
            clip_ids.append(bytes(record["clip_id"]).decode("utf-8"))
            failures.append(bool(record["is_failure"]))
        video = np.stack([r["video"] for r in rows])  # [2n, T, H, W, 3]
        audio = np.stack([r["audio"] for r in rows])  # [2n, S]
        (vp, vt), (ap, at) = codec.encode_video_windows(video), codec.encode_audio_windows(audio)
        tokens = codec.tokenize([r["caption"] for r in rows])  # [2n, C]; never cut
        for i, r in enumerate(rows):
            writer.write(
                serialization.msgpack_serialize(
                    {  # float16 on disk: far below the flow's noise; cast back on read
                        "video_previous": vp[i].astype(np.float16),  # [t, h, w, Z]
                        "video_target": vt[i].astype(np.float16),
                        "audio_previous": ap[i].astype(np.float16),  # [U, Y]
                        "audio_target": at[i].astype(np.float16),
                        "caption": tokens[i],  # [C]
                        "clip_id": bytes(r["clip_id"]),
                        "flipped": bool(r["flipped"]),
                        "is_failure": bool(r["is_failure"]),
                    }
                )
            )
    writer.close()
    os.replace(tmp, path)
    _write_json(meta, {"made_by": identity, "clip_ids": clip_ids, "is_failure": failures})
    return path


def read_meta(out_dir: str | os.PathLike, split: str, shard_index: int, shard_count: int) -> dict:
    path = shard_path(out_dir, split, shard_index, shard_count)
    if not path.is_file() or not _meta_path(path).is_file():
        raise FileNotFoundError(
            f"{path}: no latents for split {split!r} (host {shard_index} of {shard_count}); "
            "the transformer stage writes them after the VAE stages (`worldsim train`)"
        )
    return json.loads(_meta_path(path).read_text())


class _Read(grain.transforms.Map):
    """Record index -> that record's arrays (and clip id, mirror flag)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._source = None

    def map(self, index: int) -> dict:
        if self._source is None:  # opened lazily: picklable into grain workers
            self._source = grain.sources.ArrayRecordDataSource([str(self._path)])
        return serialization.msgpack_restore(self._source[int(index)])


class _PickMirror(grain.transforms.RandomMap):
    """Clip k -> record 2k (as simulated) or 2k + 1 (mirrored), with probability 1/2 each."""

    def random_map(self, k: int, rng: np.random.Generator) -> int:
        return 2 * int(k) + int(rng.random() < 0.5)


def latent_dataset(
    out_dir: str | os.PathLike,
    split: str,
    *,
    batch_size: int,
    success_weight: float = 0.7,
    failure_weight: float = 0.3,
    seed: int = 0,
    shard_index: int = 0,
    shard_count: int = 1,
    augment: bool = True,
    num_epochs: int | None = None,
) -> grain.IterDataset:
    """Batches of this host's latents: the clip pipeline's mixture, then a random mirror."""
    from data_pipelines.grain_pipeline import mixture, stream_seed

    meta = read_meta(out_dir, split, shard_index, shard_count)
    clips = len(meta["clip_ids"])
    mixed = mixture(
        np.arange(clips),
        np.asarray(meta["is_failure"], bool),
        success_weight=success_weight,
        failure_weight=failure_weight,
        seed=seed,
        shard_index=shard_index,
        num_epochs=num_epochs,
        what=f"the {split!r} latents of host {shard_index} of {shard_count}",
    )
    if augment:
        records = mixed.random_map(_PickMirror(), seed=stream_seed(seed, shard_index, 2))
    else:
        records = mixed.map(lambda k: 2 * int(k))
    ds = records.map(_Read(shard_path(out_dir, split, shard_index, shard_count)))
    options = grain.ReadOptions(num_threads=2, prefetch_buffer_size=2 * batch_size)
    return ds.to_iter_dataset(options).batch(batch_size, drop_remainder=True)


def _host_rows(data_cfg: Any) -> dict:
    import jax

    from worldsim.train.inputs import local_batch_size

    return {
        "batch_size": local_batch_size(data_cfg.batch_size, jax.process_count()),
        "shard_index": jax.process_index(),
        "shard_count": jax.process_count(),
    }


def latent_train_iterator(out_dir, split: str, data_cfg: Any, seed: int):
    """This process's checkpointable iterator over training batches of latents."""
    return iter(
        latent_dataset(
            out_dir,
            split,
            seed=seed,
            success_weight=data_cfg.success_weight,
            failure_weight=data_cfg.failure_weight,
            augment=data_cfg.augment,
            **_host_rows(data_cfg),
        )
    )


def latent_eval_batches(out_dir, split: str, data_cfg: Any, seed: int, num_batches: int):
    """The same evaluation batches every time (no mirror, fixed seed), as
    `worldsim.train.inputs.eval_batches` draws them from clips."""
    rows = _host_rows(data_cfg)
    meta = read_meta(out_dir, split, rows["shard_index"], rows["shard_count"])
    failures = np.asarray(meta["is_failure"], bool)
    it = iter(
        latent_dataset(
            out_dir,
            split,
            seed=seed + EVAL_SEED_OFFSET,
            **eval_mixture(data_cfg, failures),
            augment=False,
            **rows,
        )
    )
    return [next(it) for _ in range(num_batches)]


def host_batch(batch: dict) -> dict:
    """A batch of latents -> the transformer stage's inputs: a cast, nothing computed."""
    out = {name: np.asarray(batch[name], np.float32) for name in FIELDS if name != "caption"}
    out["caption"] = np.asarray(batch["caption"], np.int32)  # [B, C]
    return out
