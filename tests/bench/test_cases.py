"""The exported benchmark folder: coverage, conditioning clips, ground truth, determinism."""

from __future__ import annotations

import json

import numpy as np
import pytest

from worldsim.bench import cases as cases_lib
from worldsim.physics import families


def test_cases_cover_every_family_split_and_conflict():
    specs = cases_lib.case_specs(24, families.FAMILIES, seed=0)
    for family in families.FAMILIES:
        mine = [s for s in specs if s.family == family]
        assert any(s.out_of_range for s in mine) and any(s.conflict for s in mine)
        assert any(not s.out_of_range and not s.conflict for s in mine)
    assert len({s.seed for s in specs}) == len(specs)


def test_export_writes_manifest_prompts_conditioning_and_truth(cases_dir, truth_dir, cases):
    from worldsim.media.video_io import read_audio, read_video

    manifest = cases_lib.read_manifest(cases_dir)
    assert len(manifest["cases"]) == 12 == len(cases)
    assert cases_lib.check_same_export(cases_dir, truth_dir)["export_id"] == manifest["export_id"]
    prompts = (cases_dir / "prompts.csv").read_text().splitlines()
    assert prompts[0] == "id,caption,condition" and len(prompts) == 13
    k = manifest["condition_frames"]
    case = cases[0]
    frames, fps = read_video(cases_dir / "condition" / f"{case.case_id}.mp4")
    audio = read_audio(
        cases_dir / "condition" / f"{case.case_id}.mp4", sample_rate=case.sample_rate
    )
    assert frames.shape == (k, 64, 64, 3) and fps == 16
    assert abs(len(audio) - k * case.sample_rate / case.fps) <= 1024  # AAC frames
    assert case.states.shape == (case.num_frames, len(case.objects), 6)
    full, _ = read_video(truth_dir / f"{case.case_id}.mp4")
    assert len(full) == case.num_frames and case.truth_video == str(
        truth_dir / f"{case.case_id}.mp4"
    )


def test_the_model_facing_folder_holds_conditioning_prompts_and_ids_only(cases_dir):
    """Nothing a model could re-simulate a case from, or read its outcome off."""
    files = sorted(p.relative_to(cases_dir).as_posix() for p in cases_dir.rglob("*") if p.is_file())
    assert [f for f in files if not f.startswith("condition/")] == ["manifest.json", "prompts.csv"]
    assert all(f.endswith(".mp4") for f in files if f.startswith("condition/"))
    manifest = json.loads((cases_dir / "manifest.json").read_text())
    assert {k for e in manifest["cases"] for k in e} == {"id", "caption", "condition"}
    text = (cases_dir / "manifest.json").read_text() + (cases_dir / "prompts.csv").read_text()
    for leak in ("seed", "params", "outcome", "states", "family", "conflict"):
        assert f'"{leak}"' not in text


def test_cases_and_truth_of_different_exports_are_refused(cases_dir, truth_dir, tmp_path):
    from worldsim.bench.errors import BenchError
    from worldsim.bench.export import export_cases

    other_cases, other_truth = export_cases(
        tmp_path / "c", truth_out=tmp_path / "t", num_cases=1, seed=9, progress=False
    )
    with pytest.raises(BenchError, match="not the same export"):
        cases_lib.check_same_export(other_cases.parent, truth_dir)


def test_conflict_captions_assert_the_outcome_physics_did_not_produce(cases):
    conflicts = [c for c in cases if c.conflict]
    assert conflicts
    for case in conflicts:
        assert case.asserted_outcome != case.outcome
        assert case.asserted_outcome in families.OUTCOMES[case.family]
    assert all(c.asserted_outcome is None for c in cases if not c.conflict)


def test_truth_reloads_to_the_exported_clip(cases):
    case = cases[1]
    clip = cases_lib.truth_clip(case)
    np.testing.assert_allclose(clip.states, case.states, atol=1e-4)
    assert clip.outcome == case.outcome and clip.caption == case.caption


def test_same_seed_gives_identical_truth_whatever_the_workers(tmp_path):
    from worldsim.bench.export import export_cases

    for name, workers in (("a", 1), ("b", 2)):
        export_cases(
            tmp_path / name,
            truth_out=tmp_path / f"{name}-truth",
            num_cases=2,
            families=("hoop",),
            seed=5,
            workers=workers,
            progress=False,
        )
    for name in ("0000_hoop", "0001_hoop", "truth_manifest"):
        a, b = (json.loads((tmp_path / f"{x}-truth" / f"{name}.json").read_text()) for x in "ab")
        assert a.pop("export_id") != b.pop("export_id")  # a random token per export
        assert a == b


def test_a_folder_without_manifest_or_of_another_version_is_a_clear_error(tmp_path, cases_dir):
    from worldsim.bench.errors import BenchError

    with pytest.raises(BenchError, match="no manifest.json"):
        cases_lib.read_manifest(tmp_path)
    with pytest.raises(BenchError, match="no truth_manifest.json"):
        cases_lib.read_truth_manifest(tmp_path)
    manifest = json.loads((cases_dir / "manifest.json").read_text())
    (tmp_path / "manifest.json").write_text(json.dumps(dict(manifest, version=99)))
    with pytest.raises(BenchError, match="version 99"):
        cases_lib.read_manifest(tmp_path)


def test_truth_measured_under_other_score_constants_is_refused(truth_dir, tmp_path):
    from worldsim.bench.errors import BenchError

    manifest = json.loads((truth_dir / cases_lib.TRUTH_MANIFEST).read_text())
    (tmp_path / cases_lib.TRUTH_MANIFEST).write_text(json.dumps(dict(manifest, scored_digest="x")))
    with pytest.raises(BenchError, match="other score constants"):
        cases_lib.read_truth_manifest(tmp_path)


def test_bad_export_arguments_name_the_flag(tmp_path):
    from worldsim.bench.export import export_cases

    with pytest.raises(ValueError, match="num_cases"):
        export_cases(tmp_path, num_cases=0)
    with pytest.raises(ValueError, match="--condition-frames"):
        export_cases(tmp_path, num_cases=1, condition_frames=32)
    with pytest.raises(ValueError, match="unknown family"):
        export_cases(tmp_path, num_cases=1, families=("golf",))
    with pytest.raises(ValueError, match="--truth-out"):
        export_cases(tmp_path, truth_out=tmp_path, num_cases=1)


def test_an_export_without_a_seed_keeps_a_secret_one_in_the_truth_only(tmp_path):
    from worldsim.bench.export import export_cases

    ids = []
    for name in ("a", "b"):
        cases, truth = export_cases(
            tmp_path / name, num_cases=1, families=("ramp",), progress=False
        )
        assert "seed" not in json.loads(cases.read_text())
        ids.append(json.loads(truth.read_text())["seed"])
    assert ids[0] != ids[1]


def test_which_case_is_a_conflict_depends_on_the_seed_not_on_the_id():
    kinds = {
        seed: [s.conflict for s in cases_lib.case_specs(30, families.FAMILIES, seed)]
        for seed in range(4)
    }
    assert len({tuple(k) for k in kinds.values()}) > 1


def test_export_keeps_the_truth_apart_from_what_the_model_is_given(tmp_path):
    from worldsim.bench.export import export_cases

    with pytest.raises(ValueError, match="apart"):
        export_cases(tmp_path / "cases", truth_out=tmp_path / "cases" / "truth", num_cases=1)
    stale = tmp_path / "old"
    (stale / "truth").mkdir(parents=True)  # a version-1 export kept its truth here
    with pytest.raises(ValueError, match="holds truth"):
        export_cases(stale, num_cases=1)
    assert not (tmp_path / "cases").exists()  # refused before any work
