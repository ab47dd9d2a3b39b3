"""video_folder builder: good files imported with captions and sound, a bad file skipped."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from data_pipelines import build_video_folder, dataset_stats, open_split
from data_pipelines.video_folder.video_folder_dataset_builder import assign_splits
from worldsim.media import write_mp4
from worldsim.physics.types import RenderConfig

CONFIG = RenderConfig(width=32, height=24, fps=8, seconds=1.0, sample_rate=8000)


def _frames(t: int, h: int = 48, w: int = 80) -> np.ndarray:
    yy, xx = np.mgrid[:h, :w]
    return np.asarray(
        [
            np.stack([(xx * 3 + i * 9) % 256, (yy * 5) % 256, np.full_like(xx, 90)], -1)
            for i in range(t)
        ],
        np.uint8,
    )  # [T, H, W, 3]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    src = tmp_path_factory.mktemp("videos")
    s = np.arange(int(2.5 * 22050)) / 22050
    tone = (0.5 * np.sin(2 * np.pi * 300 * s)).astype(np.float32)
    write_mp4(src / "talk.mp4", _frames(50), tone, fps=20, sample_rate=22050)  # 2.5 s, sound
    (src / "talk.txt").write_text("a ball rolls off the table\n")
    (src / "sub").mkdir()
    write_mp4(src / "sub" / "short.mp4", _frames(6), None, fps=12, sample_rate=16000)  # 0.5 s
    (src / "captions.csv").write_text('file,caption\nsub/short.mp4,"a short clip, no sound"\n')
    (src / "bad.mp4").write_bytes(np.random.default_rng(0).bytes(3000))
    (src / "notes.md").write_text("not a video")
    return src


@pytest.fixture(scope="module")
def built(folder, tmp_path_factory):
    return build_video_folder(folder, tmp_path_factory.mktemp("out"), config=CONFIG)


def _records(path, split="train") -> dict[str, dict]:
    source = open_split(path, split)
    return {source[i]["clip_id"].decode(): source[i] for i in range(len(source))}


def test_good_files_imported_bad_one_skipped(built, capsys):
    path, stats = built
    assert stats["videos_found"] == 3 and stats["videos_read"] == 2
    assert stats["videos_skipped"] == 1 and stats["skipped"] == ["bad.mp4"]
    assert stats["videos_padded"] == 1 and stats["padded"] == ["sub/short.mp4"]
    # 2.5 s -> two 1 s windows (tail dropped); 0.5 s -> one padded window
    assert sorted(_records(path)) == ["sub/short.mp4#0000", "talk.mp4#0000", "talk.mp4#0001"]
    assert dataset_stats(path)["source"] == stats  # counts are kept with the dataset


def test_records_have_clip_format_and_empty_physics(built):
    for clip_id, r in _records(built[0]).items():
        assert r["video"].shape == (8, 24, 32, 3) and r["video"].dtype == np.uint8
        assert r["audio"].shape == (8000,) and r["audio"].dtype == np.float32
        assert r["fps"] == 8 and r["sample_rate"] == 8000
        assert r["states"].shape == (8, 0, 6) and r["visibility"].shape == (8, 0)
        assert len(r["objects"]["name"]) == 0 and len(r["contacts"]["frame"]) == 0
        assert r["family"] == b"video" and r["outcome"] == b"" and not r["is_failure"]
        assert r["split_tag"] == b""
        scene = json.loads(r["scene_params"])
        assert scene["source_file"] == clip_id.split("#")[0]


def test_captions_sound_and_padding(built):
    records = _records(built[0])
    talk, short = records["talk.mp4#0001"], records["sub/short.mp4#0000"]
    assert talk["caption"] == b"a ball rolls off the table"
    assert short["caption"] == b"a short clip, no sound"
    assert np.sqrt(np.mean(talk["audio"] ** 2)) > 0.2  # the 300 Hz tone, resampled
    assert not np.any(short["audio"])  # no audio track -> silence
    assert np.array_equal(short["video"][-1], short["video"][5])  # padded with the last frame
    assert json.loads(short["scene_params"])["padded"]


def test_validation_split_by_name_hash(folder, tmp_path):
    path, stats = build_video_folder(folder, tmp_path, config=CONFIG, validation_fraction=0.5)
    train, val = _records(path, "train"), _records(path, "validation")
    assert train and val and not set(train) & set(val)
    assert stats["clips"] == {"train": len(train), "validation": len(val)}
    assert "tensorflow" not in sys.modules


def test_assign_splits_is_deterministic_and_keeps_both_non_empty():
    names = [f"clip_{i}.mp4" for i in range(40)]
    a = assign_splits(names, 0.25)
    assert a == assign_splits(list(reversed(names)), 0.25)
    assert 3 <= len(a["validation"]) <= 18 and len(a["train"]) + len(a["validation"]) == 40
    tiny = assign_splits(["x.mp4", "y.mp4"], 0.01)
    assert len(tiny["train"]) == 1 and len(tiny["validation"]) == 1
