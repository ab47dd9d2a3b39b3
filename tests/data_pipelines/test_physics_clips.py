"""physics_clips builder: splits, exact read-back, same seed => same bytes, stats, no TF."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from data_pipelines import build_physics_clips, dataset_stats, open_split
from data_pipelines.catalog import INDEX_FILE, find_dataset_dir
from data_pipelines.features import clip_to_example
from data_pipelines.physics_clips import PhysicsClipsConfig, example_seed
from data_pipelines.physics_clips import physics_clips_dataset_builder as physics_builder
from tests.data_pipelines.conftest import SIMULATOR_MAKE_CLIP, TINY, fake_make_clip

NUM_CLIPS = 10
SPLITS = {"train": 8, "validation": 1, "test": 1, "test_ood": 1}


@pytest.fixture(scope="module")
def built(tmp_path_factory, synthetic_physics):
    return build_physics_clips(
        tmp_path_factory.mktemp("a"), num_clips=NUM_CLIPS, seed=3, config=TINY
    )


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _assert_record_equals(record: dict, expected: dict) -> None:
    for key, want in expected.items():
        got = record[key]
        if isinstance(want, dict):  # objects / contacts: sequences of sub-features
            for sub, values in want.items():
                assert len(got[sub]) == len(values), (key, sub)
                for a, b in zip(got[sub], values, strict=True):
                    if isinstance(b, str):
                        assert _text(a) == b
                    else:
                        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
        elif isinstance(want, str):
            assert _text(got) == want, key
        else:
            np.testing.assert_array_equal(np.asarray(got), np.asarray(want), err_msg=key)


def test_splits_are_present_and_sized(built):
    for split, count in SPLITS.items():
        assert len(open_split(built, split)) == count


def test_read_back_equals_what_was_written(built):
    seen = set()
    for split in SPLITS:
        source = open_split(built, split)
        for i in range(len(source)):
            record = source[i]
            ood = split == "test_ood"
            assert _text(record["split_tag"]) == ("out_of_range" if ood else "in_range")
            clip_id = _text(record["clip_id"])
            index = int(clip_id.split("/")[1])
            assert clip_id.startswith(split + "/") and record["seed"] == example_seed(
                3, split, index
            )
            clip = fake_make_clip(_text(record["family"]), int(record["seed"]), ood, TINY)
            _assert_record_equals(record, clip_to_example(clip, clip_id))
            seen.add(clip_id)
    assert len(seen) == sum(SPLITS.values())


def test_families_round_robin_over_all_splits(built):
    families = [v for s in dataset_stats(built)["splits"].values() for v in s["families"]]
    assert len(set(families)) == 6  # 11 clips over 6 families reach every family


def test_same_seed_gives_identical_bytes(built, tmp_path, synthetic_physics):
    again = build_physics_clips(tmp_path / "b", num_clips=NUM_CLIPS, seed=3, config=TINY)
    other = build_physics_clips(tmp_path / "c", num_clips=NUM_CLIPS, seed=4, config=TINY)
    for shard in sorted(built.glob("*.array_record*")):
        assert (again / shard.name).read_bytes() == shard.read_bytes(), shard.name
    assert (other / "physics_clips-train.array_record-00000-of-00001").read_bytes() != (
        built / "physics_clips-train.array_record-00000-of-00001"
    ).read_bytes()


def test_config_name_encodes_parameters():
    name = PhysicsClipsConfig.create(num_clips=10, seed=3, render=TINY).name
    assert name == "n10_seed3_16x16_8fps_0p5s_8000hz"
    subset = PhysicsClipsConfig.create(num_clips=10, seed=3, families=["hoop"], render=TINY)
    assert subset.name.startswith(name + "_") and subset.family_names() == ("hoop",)


def test_stats_counts_sum(built):
    stats = dataset_stats(built)
    assert {s: v["count"] for s, v in stats["splits"].items()} == SPLITS
    assert stats["total"] == sum(SPLITS.values())
    for info in stats["splits"].values():
        assert sum(info["families"].values()) == info["count"]
        assert sum(n for per in info["outcomes"].values() for n in per.values()) == info["count"]
        fails = sum(n for per in info["outcomes"].values() for o, n in per.items() if o == "miss")
        assert info["failures"] == fails


def test_index_is_rebuilt_when_missing_or_stale(built, tmp_path):
    index_path = built / INDEX_FILE
    good = index_path.read_text()
    try:
        index_path.write_text(json.dumps({"format": 1, "splits": {"train": {"clip_id": []}}}))
        assert dataset_stats(built)["total"] == sum(SPLITS.values())
        assert json.loads(index_path.read_text()) == json.loads(good)
    finally:
        index_path.write_text(good)


def test_open_split_finds_the_dataset_from_any_parent(built):
    root = built.parents[2]  # the --out directory
    assert find_dataset_dir(root) == built
    with pytest.raises(KeyError):
        open_split(root, "nope")


def test_no_tensorflow_anywhere(built):
    open_split(built, "train")[0]
    assert "tensorflow" not in sys.modules


def test_real_simulator_builds(tmp_path, monkeypatch):
    pytest.importorskip("worldsim.physics.clip")
    monkeypatch.setattr(physics_builder, "make_clip", SIMULATOR_MAKE_CLIP)
    from worldsim.physics.clip import make_clip
    from worldsim.physics.types import RenderConfig

    config = RenderConfig(width=32, height=32, fps=8, seconds=1.0)
    path = build_physics_clips(tmp_path, num_clips=3, seed=0, families=None, config=config)
    for split in SPLITS:
        record = open_split(path, split)[0]
        clip = make_clip(_text(record["family"]), int(record["seed"]), split == "test_ood", config)
        _assert_record_equals(record, clip_to_example(clip, _text(record["clip_id"])))
    assert "tensorflow" not in sys.modules
