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


def test_export_writes_manifest_prompts_conditioning_and_truth(cases_dir, cases):
    from worldsim.media.video_io import read_audio, read_video

    manifest = cases_lib.read_manifest(cases_dir)
    assert len(manifest["cases"]) == 12 == len(cases)
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
    full, _ = read_video(cases_dir / "ground_truth" / f"{case.case_id}.mp4")
    assert len(full) == case.num_frames


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


def test_same_seed_gives_identical_truth(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for out in (a, b):
        cases_lib.export_cases(out, num_cases=2, families=("hoop",), seed=5)
    for name in ("0000_hoop", "0001_hoop"):
        assert (a / "truth" / f"{name}.json").read_bytes() == (
            b / "truth" / f"{name}.json"
        ).read_bytes()


def test_a_folder_without_manifest_or_of_another_version_is_a_clear_error(tmp_path, cases_dir):
    from worldsim.bench.errors import BenchError

    with pytest.raises(BenchError, match="no manifest.json"):
        cases_lib.read_manifest(tmp_path)
    manifest = json.loads((cases_dir / "manifest.json").read_text())
    (tmp_path / "manifest.json").write_text(json.dumps(dict(manifest, version=99)))
    with pytest.raises(BenchError, match="version 99"):
        cases_lib.read_manifest(tmp_path)


def test_bad_export_arguments_name_the_flag(tmp_path):
    with pytest.raises(ValueError, match="num_cases"):
        cases_lib.export_cases(tmp_path, num_cases=0)
    with pytest.raises(ValueError, match="--condition-frames"):
        cases_lib.export_cases(tmp_path, num_cases=1, condition_frames=32)
    with pytest.raises(ValueError, match="unknown family"):
        cases_lib.export_cases(tmp_path, num_cases=1, families=("golf",))
