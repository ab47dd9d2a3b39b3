"""Finding built datasets and knowing what is in them without decoding any video.

Both builders write TFDS array_record shards plus a sidecar `index.json` next to
`dataset_info.json`. The index holds, per split and *in record order*, the light fields
(clip_id, family, outcome, is_failure), so that stats and the grain pipeline's
success/failure pools cost a JSON read, not a pass over every video. TFDS shuffles examples
across shards by key hash, so the index is made by reading each split back once after the
build (with the heavy features left undecoded), never from generation order.
"""

from __future__ import annotations

import collections
import contextlib
import json
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow_datasets as tfds

INDEX_FILE = "index.json"
INDEX_FORMAT = 1
LIGHT_FIELDS = ("clip_id", "family", "outcome", "is_failure")
HEAVY_FIELDS = ("video", "audio", "states", "visibility")  # zlib tensors: costly to inflate


def download_config() -> tfds.download.DownloadConfig:
    """How our builders are prepared: nothing is downloaded, nothing is looked up on GCS."""
    return tfds.download.DownloadConfig(try_download_gcs=False)


@contextlib.contextmanager
def deterministic_serialization() -> Iterator[None]:
    """Make TFDS serialise tf.Example protos with sorted map keys while building.

    `Example.features.feature` is a protobuf map; upb writes map entries in an order that
    changes from process to process, so two builds of one config gave equal records but
    different bytes. `SerializeToString(deterministic=True)` sorts them. The patch is
    scoped to our build and changes no decoded value.
    """
    from tensorflow_datasets.core import example_serializer

    cls = example_serializer.ExampleSerializer
    original = cls.serialize_example

    def serialize_example(self, example):
        return self.get_tf_example(example).SerializeToString(deterministic=True)

    cls.serialize_example = serialize_example
    try:
        yield
    finally:
        cls.serialize_example = original


class _DropCustomConfigNotice(logging.Filter):
    """TFDS warns "Using custom data configuration: <the whole config>" for every builder
    made from a config that is not in BUILDER_CONFIGS, which is every build of ours."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Using custom data configuration")


@contextlib.contextmanager
def quiet_tfds() -> Iterator[None]:
    """Keep TFDS's own console output out of our builds; they print their own progress.

    Drops TFDS's progress bars ("Generating splits...", "Shuffling ...": carriage returns
    and cursor escapes that turn to junk in a log) and its custom-config warning. The
    "Downloading and preparing dataset Unknown size" banner is a builder hook, silenced in
    each builder (`_log_download_bytes`). Restores TFDS's settings on exit.
    """
    from tensorflow_datasets.core.utils import tqdm_utils

    bars_were_on = getattr(tqdm_utils, "_active", True)  # TFDS has no public getter
    notice = _DropCustomConfigNotice()
    absl_logger = logging.getLogger("absl")
    tfds.disable_progress_bar()
    absl_logger.addFilter(notice)
    try:
        yield
    finally:
        absl_logger.removeFilter(notice)
        tfds.display_progress_bar(bars_were_on)


def prepare(
    builder: tfds.core.DatasetBuilder, *, source_stats: Callable[[], dict | None] | None = None
) -> Path:
    """Build `builder` as array_record (reusing a finished build) and write its index.

    source_stats: called after the build; what a fresh build learnt about its sources
    (None when the build was reused, keeping the stats already in the index).
    """
    with quiet_tfds(), deterministic_serialization():
        builder.download_and_prepare(file_format="array_record", download_config=download_config())
    path = Path(os.fspath(builder.data_dir))
    stats = source_stats() if source_stats is not None else None
    if stats is not None or not (path / INDEX_FILE).is_file():
        write_index(path, source_stats=stats)
    return path


def find_dataset_dir(data_dir: str | os.PathLike) -> Path:
    """The one directory under `data_dir` that holds a built dataset (`dataset_info.json`).

    Accepts the version directory itself or any parent (e.g. the `--out` given to a build).
    """
    root = Path(data_dir)
    if (root / "dataset_info.json").is_file():
        return root
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no such directory")
    found = sorted(p.parent for p in root.rglob("dataset_info.json"))
    if not found:
        raise FileNotFoundError(f"{root}: no built dataset (no dataset_info.json below it)")
    if len(found) > 1:
        listing = "\n  ".join(str(p) for p in found)
        raise ValueError(f"{root}: several built datasets, pass one of:\n  {listing}")
    return found[0]


def open_split(data_dir: str | os.PathLike, split: str, *, skip: Sequence[str] = ()) -> Any:
    """Random-access source of decoded records (dicts of numpy arrays; text as bytes).

    skip: top-level tensor features to leave undecoded (zlib bytes), e.g. HEAVY_FIELDS for a
    cheap metadata pass, or ("states", "visibility") when training ignores them.
    """
    builder = tfds.builder_from_directory(os.fspath(find_dataset_dir(data_dir)))
    if split not in builder.info.splits:
        raise KeyError(f"split {split!r} not in {sorted(builder.info.splits)}")
    decoders = {name: tfds.decode.SkipDecoding() for name in skip} or None
    return builder.as_data_source(split, decoders=decoders)


def split_names(data_dir: str | os.PathLike) -> list[str]:
    """The dataset's splits, sorted."""
    builder = tfds.builder_from_directory(os.fspath(find_dataset_dir(data_dir)))
    return sorted(builder.info.splits)


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def scan_split(data_dir: str | os.PathLike, split: str) -> dict[str, list]:
    """Light fields of every record of `split`, in record order (decodes no video)."""
    source = open_split(data_dir, split, skip=HEAVY_FIELDS)
    columns: dict[str, list] = {name: [] for name in LIGHT_FIELDS}
    for i in range(len(source)):
        record = source[i]
        columns["clip_id"].append(_text(record["clip_id"]))
        columns["family"].append(_text(record["family"]))
        columns["outcome"].append(_text(record["outcome"]))
        columns["is_failure"].append(bool(record["is_failure"]))
    return columns


def write_index(data_dir: str | os.PathLike, *, source_stats: dict | None = None) -> Path:
    """Scan every split and write `index.json` atomically beside `dataset_info.json`."""
    path = find_dataset_dir(data_dir)
    builder = tfds.builder_from_directory(os.fspath(path))
    index = {
        "format": INDEX_FORMAT,
        "dataset": builder.info.full_name,
        "splits": {split: scan_split(path, split) for split in sorted(builder.info.splits)},
    }
    if source_stats is not None:
        index["source"] = source_stats
    tmp = path / f".{INDEX_FILE}.tmp"
    tmp.write_text(json.dumps(index, sort_keys=True))
    os.replace(tmp, path / INDEX_FILE)
    return path / INDEX_FILE


def read_index(data_dir: str | os.PathLike) -> dict:
    """The sidecar index; rebuilt in memory (and rewritten if possible) when missing or stale."""
    path = find_dataset_dir(data_dir)
    builder = tfds.builder_from_directory(os.fspath(path))
    expected = {name: info.num_examples for name, info in builder.info.splits.items()}
    try:
        index = json.loads((path / INDEX_FILE).read_text())
        actual = {name: len(cols["clip_id"]) for name, cols in index["splits"].items()}
        if index.get("format") == INDEX_FORMAT and actual == expected:
            return index
    except (OSError, ValueError, KeyError, TypeError):
        index = {}
    try:  # missing, stale or corrupt: rescan; keep the build's source stats if there were any
        write_index(path, source_stats=index.get("source") if index else None)
        return json.loads((path / INDEX_FILE).read_text())
    except OSError:  # read-only data dir: use the scan without saving it
        return {
            "format": INDEX_FORMAT,
            "dataset": builder.info.full_name,
            "splits": {split: scan_split(path, split) for split in sorted(expected)},
        }


def failure_mask(data_dir: str | os.PathLike, split: str) -> np.ndarray:
    """bool [num_records] of `split`, in record order: which clips are failure states."""
    return np.asarray(read_index(data_dir)["splits"][split]["is_failure"], bool)


def dataset_stats(data_dir: str | os.PathLike) -> dict:
    """Counts per split, family and outcome, read from the index (no video decoding).

    {"dataset", "total", "splits": {split: {"count", "failures", "families": {family: n},
    "outcomes": {family: {outcome: n}}}}, "source": {...} (video_folder builds only)}
    """
    index = read_index(data_dir)
    splits = {}
    for split, cols in index["splits"].items():
        outcomes: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
        for family, outcome in zip(cols["family"], cols["outcome"], strict=True):
            outcomes[family][outcome] += 1
        splits[split] = {
            "count": len(cols["clip_id"]),
            "failures": int(sum(cols["is_failure"])),
            "families": dict(sorted(collections.Counter(cols["family"]).items())),
            "outcomes": {f: dict(sorted(c.items())) for f, c in sorted(outcomes.items())},
        }
    stats = {
        "dataset": index.get("dataset", ""),
        "total": sum(s["count"] for s in splits.values()),
        "splits": splits,
    }
    if "source" in index:
        stats["source"] = index["source"]
    return stats
