"""benchmarks/failure_mix.py: its statistics, caption folders and the impossible-resolution
rule, on a two-case export (the study itself: `python benchmarks/failure_mix.py`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import failure_mix
from worldsim.bench.cases import check_same_export, load_cases
from worldsim.bench.export import export_cases
from worldsim.bench.scoring import CaseResult


@pytest.fixture(scope="module")
def conflict_export(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("failure_mix")
    export_cases(
        root / "cases",
        truth_out=root / "truth",
        num_cases=2,
        families=("hoop", "throw"),
        kinds=("conflict",),
        seed=1,
        progress=False,
    )
    return root / "cases", root / "truth"


def test_bootstrap_intervals_cover_the_mean_and_shrink_to_it_without_spread():
    assert failure_mix.bootstrap_mean([1.0] * 20) == {"mean": 1.0, "lo": 1.0, "hi": 1.0, "n": 20}
    half = failure_mix.bootstrap_mean([0.0, 1.0] * 50 + [None] * 7)
    assert half["n"] == 100 and half["mean"] == 0.5
    assert 0.35 < half["lo"] < 0.5 < half["hi"] < 0.65  # binomial: +- 1.96 * 0.05
    assert failure_mix.bootstrap_mean([None, None])["mean"] is None
    pull = failure_mix.bootstrap_paired_difference([1, 1, 0, None], [0, 0, 0, 1])
    assert pull["n"] == 3 and pull["mean"] == pytest.approx(2 / 3)


def test_an_export_of_conflict_cases_only_and_its_other_captions(conflict_export, tmp_path):
    cases, truth = conflict_export
    loaded = load_cases(truth)
    assert [c.conflict for c in loaded] == [True, True]
    folders = failure_mix.caption_folders(cases, truth, tmp_path / "captions")
    manifests = {k: json.loads((f / "manifest.json").read_text()) for k, f in folders.items()}
    for name, folder in folders.items():
        check_same_export(folder, truth)  # the scorer accepts every caption's folder
        for entry in manifests[name]["cases"]:
            assert (folder / entry["condition"]).is_file()
    asserted = {e["id"]: e["caption"] for e in manifests["asserted"]["cases"]}
    true = {e["id"]: e["caption"] for e in manifests["true"]["cases"]}
    assert all(e["caption"] == "" for e in manifests["none"]["cases"])
    for case in loaded:
        assert asserted[case.case_id] == case.caption != true[case.case_id]
        # the true caption names what physics did; the conflicting one what it did not
        assert case.outcome != case.asserted_outcome


@pytest.mark.parametrize(
    "follows, teleports, walls, impossible",
    [(1.0, 0.5, 0.0, 1.0), (1.0, 0.0, 1.0, 1.0), (1.0, 0.0, 0.0, 0.0), (0.0, 1.0, 1.0, 0.0)],
)
def test_an_impossible_resolution_is_the_asserted_outcome_through_a_teleport_or_a_wall(
    conflict_export, follows, teleports, walls, impossible
):
    case = load_cases(conflict_export[1])[0]
    metrics = {"follows_caption": follows, "teleports": teleports, "wall_crossings": walls}
    result = CaseResult(
        case.case_id, case.family, case.split_tag, True, "scored", 10.0, metrics=metrics
    )
    row = failure_mix.case_row(result, case)
    assert row["impossible"] == impossible and row["follows_asserted"] == follows
    missing = failure_mix.case_row(
        CaseResult(case.case_id, case.family, case.split_tag, True, "missing"), case
    )
    assert missing["impossible"] is None and missing["score"] == 0.0


def test_weights_are_checked_before_any_work():
    assert failure_mix.parse_weights("0,0.3,0.7") == [0.0, 0.3, 0.7]
    for bad in ("0,1.5", "a", "0.3,0.3"):
        with pytest.raises(SystemExit, match="--weights"):
            failure_mix.parse_weights(bad)
