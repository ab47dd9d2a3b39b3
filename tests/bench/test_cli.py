"""`worldsim bench`: score a folder with missing and corrupt clips; errors; help."""

from __future__ import annotations

import json
import shutil

import pytest

from worldsim.cli import main


def test_bench_help_lists_the_subcommands_and_the_three_steps(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for word in (
        "export",
        "score",
        "run",
        "baseline",
        "corrupt",
        "worldsim bench score --cases-dir",
    ):
        assert word in out


def test_cli_kinds_match_the_calibration_module():
    from worldsim import cli
    from worldsim.bench import calibrate

    assert cli.BASELINES == calibrate.BASELINES
    assert cli.CORRUPTIONS == tuple(calibrate.CORRUPTIONS)


def test_score_counts_missing_and_unreadable_clips_and_writes_the_report(
    cases_dir, tmp_path, capsys
):
    clips = tmp_path / "clips"
    shutil.copytree(cases_dir / "ground_truth", clips)
    ids = sorted(p.stem for p in clips.glob("*.mp4"))
    (clips / f"{ids[0]}.mp4").unlink()  # missing
    (clips / f"{ids[1]}.mp4").write_bytes(b"not a video at all")  # unreadable
    out = tmp_path / "report"
    assert (
        main(
            [
                "bench",
                "score",
                "--cases-dir",
                str(cases_dir),
                "--videos-dir",
                str(clips),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    captured = capsys.readouterr()
    assert "1 missing, 1 unreadable" in captured.out and ids[1] in captured.err
    report = json.loads((out / "report.json").read_text())
    assert report["summary"]["status"] == {"scored": 10, "missing": 1, "unreadable": 1, "error": 0}
    by_id = {c["id"]: c for c in report["cases"]}
    assert by_id[ids[0]]["score"] == 0 and by_id[ids[1]]["score"] == 0
    scored = [c["score"] for c in report["cases"] if c["status"] == "scored"]
    assert min(scored) > 60
    assert abs(report["summary"]["overall"]["score"] - sum(scored) / 12) < 1e-6
    page = (out / "report.html").read_text()
    assert "<video" in page and "data:image/png;base64" in page and "Not scored" in page


def test_score_without_the_clips_folder_is_a_one_line_error(cases_dir, tmp_path, capsys):
    rc = main(
        [
            "bench",
            "score",
            "--cases-dir",
            str(cases_dir),
            "--videos-dir",
            str(tmp_path / "nope"),
            "--out",
            str(tmp_path),
        ]
    )
    assert rc == 2 and "no such folder" in capsys.readouterr().err
    rc = main(
        [
            "bench",
            "score",
            "--cases-dir",
            str(tmp_path),
            "--videos-dir",
            str(tmp_path),
            "--out",
            str(tmp_path),
        ]
    )
    assert rc == 2 and "no manifest.json" in capsys.readouterr().err


def test_baseline_command_writes_one_clip_per_case(cases_dir, tmp_path):
    out = tmp_path / "freeze"
    assert (
        main(
            [
                "bench",
                "baseline",
                "--cases-dir",
                str(cases_dir),
                "--kind",
                "freeze",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert len(list(out.glob("*.mp4"))) == 12


def test_the_score_cannot_be_bought_with_constant_clicks_or_an_empty_clip():
    from worldsim.bench.score import case_score

    base = {"sync_offset_ms": 3.0, "onset_f1": 0.05, "onset_precision": 0.03}
    overall, groups = case_score(base)
    assert groups["sound"] < 10  # near every contact by luck, but 97% of the clicks are noise
    nothing = {"teleports": 0.0, "appear_rate": 0.0, "vanish_rate": 1.0, "tracked_share": 0.0}
    overall, groups = case_score(nothing)
    assert groups["continuity"] == 0.0  # no teleports because no objects: no credit
