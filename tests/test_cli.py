"""The `worldsim data ...` commands end to end: build, stats, show, and the decoded mp4 checks."""

from __future__ import annotations

import json

import numpy as np
import pytest

from worldsim import cli
from worldsim.media import read_audio, read_video
from worldsim.media.onsets import detect_onsets, match_onsets
from worldsim.physics.families import FAMILIES
from worldsim.physics.palette import color_centroid

pytestmark = pytest.mark.slow


def test_cli_family_list_matches_physics():
    assert cli.FAMILIES == FAMILIES


def test_help_works(capsys):
    for argv in (["--help"], ["data", "--help"], ["data", "build", "physics_clips", "--help"]):
        with pytest.raises(SystemExit) as exit_info:
            cli.main(argv)
        assert exit_info.value.code == 0
    assert "--num-clips" in capsys.readouterr().out


def test_unknown_family_is_a_clear_error(capsys):
    with pytest.raises(SystemExit):
        cli.main(["data", "build", "physics_clips", "--out", "x", "--families", "hoop,volcano"])
    assert "volcano" in capsys.readouterr().err


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("data")
    assert cli.main(["data", "build", "physics_clips", "--out", str(out), "--num-clips", "20"]) == 0
    return out


def test_stats_counts_every_split(built, capsys):
    assert cli.main(["data", "stats", str(built), "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    counts = {split: info["count"] for split, info in stats["splits"].items()}
    assert set(counts) == {"train", "validation", "test", "test_ood"}
    assert sum(counts[s] for s in ("train", "validation", "test")) == 20
    assert cli.main(["data", "stats", str(built)]) == 0
    assert "test_ood" in capsys.readouterr().out


def test_show_writes_mp4_that_decodes_in_sync(built, tmp_path):
    onset_offsets, centroid_errors = [], []
    for index in range(16):
        out = tmp_path / f"clip{index}.mp4"
        assert (
            cli.main(
                [
                    "data",
                    "show",
                    str(built),
                    "--split",
                    "train",
                    "--index",
                    str(index),
                    "--out",
                    str(out),
                ]
            )
            == 0
        )
        assert out.with_suffix(".png").stat().st_size > 0
        info = json.loads(out.with_suffix(".json").read_text())
        frames, fps = read_video(out)
        audio = read_audio(out, sample_rate=info["sample_rate"])
        assert frames.shape[0] == info["num_frames"] and fps == pytest.approx(info["fps"])
        assert abs(audio.shape[0] / info["sample_rate"] - info["duration_s"]) < 0.05
        contact_times = np.asarray([c["time_s"] for c in info["contacts"]])
        if contact_times.size:
            onsets = detect_onsets(audio, info["sample_rate"])
            onset_offsets.append(match_onsets(contact_times, onsets))
        for obj in info["objects"]:
            for state in info["frames"]:
                entry = state["objects"][obj["name"]]
                if entry["fully_visible"]:
                    centroid = color_centroid(frames[state["frame"]], tuple(obj["color"]))
                    assert centroid is not None
                    centroid_errors.append(
                        np.hypot(centroid[0] - entry["x"], centroid[1] - entry["y"])
                    )
    onset_offsets = np.abs(np.concatenate(onset_offsets))
    assert onset_offsets.size > 0
    assert onset_offsets.max() <= 1 / 16, f"worst onset {onset_offsets.max() * 1e3:.1f} ms"
    assert len(centroid_errors) > 100 and max(centroid_errors) <= 1.5, max(centroid_errors)


def test_show_rejects_an_out_of_range_index(built, tmp_path, capsys):
    assert (
        cli.main(["data", "show", str(built), "--index", "9999", "--out", str(tmp_path / "x.mp4")])
        == 2
    )
    assert "out of range" in capsys.readouterr().err


def test_unknown_split_and_missing_dir_are_clear_errors(built, tmp_path, capsys):
    assert (
        cli.main(["data", "show", str(built), "--split", "nope", "--out", str(tmp_path / "x.mp4")])
        == 2
    )
    assert "split 'nope' not in" in capsys.readouterr().err
    assert cli.main(["data", "stats", str(tmp_path / "missing")]) == 2
    assert "no such directory" in capsys.readouterr().err


def test_run_commands_refuse_a_folder_that_is_not_a_world_model_run(tmp_path, capsys):
    """generate, demo and bench run check --workdir before any work (nothing is exported)."""
    (tmp_path / "fp").mkdir()
    (tmp_path / "fp" / "config.json").write_text(json.dumps({"model": {"kind": "frame_predictor"}}))
    out = tmp_path / "bench"
    for argv, why in (
        (["generate", "--workdir", str(tmp_path), "--prompt", "a", "--out", "a.mp4"], "no config"),
        (["demo", "--workdir", str(tmp_path / "fp")], "not a world model"),
        (["bench", "run", "--workdir", str(tmp_path / "fp"), "--out", str(out)], "not a world"),
    ):
        assert cli.main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and why in err[0], err
    assert not out.exists()
