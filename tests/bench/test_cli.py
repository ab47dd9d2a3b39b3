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


def _score(cases_dir, truth_dir, clips, out, *extra):
    return main(
        [
            "bench",
            "score",
            "--cases-dir",
            str(cases_dir),
            "--truth-dir",
            str(truth_dir),
            "--videos-dir",
            str(clips),
            "--out",
            str(out),
            *extra,
        ]
    )


@pytest.fixture(scope="module")
def scored_twice(cases_dir, truth_dir, tmp_path_factory):
    """The truth's clips with one missing, one unreadable, one short and one stray file,
    scored with 1 worker and with 2."""
    from worldsim.bench.cases import load_case
    from worldsim.media.video_io import read_audio, read_video, write_mp4

    tmp = tmp_path_factory.mktemp("cli")
    clips = tmp / "clips"
    clips.mkdir()
    for p in sorted(truth_dir.glob("*.mp4")):
        shutil.copy(p, clips)
    ids = sorted(p.stem for p in clips.glob("*.mp4"))
    (clips / f"{ids[0]}.mp4").unlink()  # missing
    (clips / f"{ids[1]}.mp4").write_bytes(b"not a video at all")  # unreadable
    case = load_case(truth_dir, ids[2])  # short: the first 20 of 32 frames
    frames, _ = read_video(truth_dir / f"{ids[2]}.mp4")
    audio = read_audio(truth_dir / f"{ids[2]}.mp4", sample_rate=case.sample_rate)
    write_mp4(
        clips / f"{ids[2]}.mp4",
        frames[:20],
        audio[: 20 * case.sample_rate // case.fps],
        case.fps,
        case.sample_rate,
    )
    (clips / "9999_stray.mp4").write_bytes(b"")
    (clips / "notes.txt").write_text("hello")
    reports = {}
    for workers in (1, 2):
        out = tmp / f"report{workers}"
        assert _score(cases_dir, truth_dir, clips, out, "--workers", str(workers)) == 0
        reports[workers] = json.loads((out / "report.json").read_text())
    return ids, reports, tmp


def test_score_counts_missing_and_unreadable_clips_flags_short_ones_lists_strays(scored_twice):
    ids, reports, tmp = scored_twice
    report = reports[1]
    assert report["summary"]["status"] == {"scored": 10, "missing": 1, "unreadable": 1, "error": 0}
    by_id = {c["id"]: c for c in report["cases"]}
    assert by_id[ids[0]]["score"] == 0 and by_id[ids[1]]["score"] == 0
    short = by_id[ids[2]]
    assert short["judged_frames"] == 20 and short["flags"][0].startswith("short: covers 20 of")
    assert short["score"] < 50  # 12 frames held: what freezing earns, nothing where it moves
    assert report["timing"]["unmatched"] == ["9999_stray.mp4", "notes.txt"]
    full = [c["score"] for c in report["cases"] if c["status"] == "scored" and not c["flags"]]
    assert min(full) >= 97  # the simulator's own clips
    assert (
        abs(report["summary"]["overall"]["score"] - sum(c["score"] for c in report["cases"]) / 12)
        < 1e-6
    )
    page = (tmp / "report1" / "report.html").read_text()
    assert "<video" in page and "data:image/png;base64" in page and "Not scored" in page
    assert "Flagged clips" in page and "9999_stray.mp4" in page and "Physics-IQ" in page


def test_two_workers_write_the_same_report_as_one(scored_twice):
    _, reports, _ = scored_twice
    one, two = reports[1], reports[2]
    for report in (one, two):
        report.pop("created")
        report.pop("timing")
    assert one == two


def test_score_without_the_clips_folder_is_a_one_line_error(cases_dir, truth_dir, tmp_path, capsys):
    rc = _score(cases_dir, truth_dir, tmp_path / "nope", tmp_path)
    assert rc == 2 and "no such folder" in capsys.readouterr().err
    rc = _score(tmp_path, truth_dir, tmp_path, tmp_path)
    assert rc == 2 and "no manifest.json" in capsys.readouterr().err
    rc = _score(cases_dir, cases_dir, tmp_path, tmp_path)  # the cases folder as truth
    assert rc == 2 and "no truth_manifest.json" in capsys.readouterr().err


def test_score_refuses_truth_files_of_another_export_and_clips_of_no_case(
    cases_dir, truth_dir, tmp_path, capsys
):
    import json

    truth = tmp_path / "truth"
    shutil.copytree(truth_dir, truth)
    name = sorted(truth.glob("*_*.json"))[0]
    data = json.loads(name.read_text())
    name.write_text(json.dumps(dict(data, export_id="0123456789abcdef")))
    clips = tmp_path / "clips"
    clips.mkdir()
    (clips / "holiday.mp4").write_bytes(b"")
    assert _score(cases_dir, truth, clips, tmp_path / "r") == 2
    assert f"{name.name} is from export 0123456789abcdef" in capsys.readouterr().err
    assert _score(cases_dir, truth_dir, clips, tmp_path / "r") == 2
    assert "no clip named after a case" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_baseline_command_writes_one_clip_per_case(truth_dir, tmp_path):
    out = tmp_path / "freeze"
    argv = ["bench", "baseline", "--truth-dir", str(truth_dir), "--kind", "freeze"]
    assert main([*argv, "--out", str(out)]) == 0
    assert len(list(out.glob("*.mp4"))) == 12


def test_the_score_cannot_be_bought_with_constant_clicks_or_an_empty_clip():
    from worldsim.bench.score import Reference, case_score, metric_points

    reference = Reference(
        ceiling={"sync_offset_ms": 100.0, "onset_f1": 100.0, "vanish_rate": 100.0},
        trivial={"freeze": {"vanish_rate": 100.0}},
    )
    clicks = {"sync_offset_ms": 3.0, "onset_f1": 0.05, "onset_precision": 0.03}
    scored = case_score(metric_points(clicks | {"vanish_rate": 0.0}), reference)
    assert scored.groups["sound"] < 10  # near every contact by luck, but 97% are noise
    nothing = metric_points({"vanish_rate": 1.0, "sync_offset_ms": 0.0, "onset_f1": 1.0})
    scored = case_score(nothing | {"onset_f1": 100.0}, reference)
    assert scored.groups["continuity"] == 0.0 and scored.overall == 0.0  # no objects: no credit
