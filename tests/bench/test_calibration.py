"""The calibration the benchmark promises, on 12 cases (two per family), every clip via mp4.

(a) the simulator's clips score at the ceiling, (b) also re-drawn at another resolution
and frame rate or re-encoded, (c) the trivial baselines score far lower, and (d) every
corruption is caught by the metric meant for it, outside the ground truth's range.
The full table over 120 cases: benchmarks/bench_calibration.py (benchmarks/RESULTS.md).
"""

from __future__ import annotations

import numpy as np
import pytest

from worldsim.bench import calibrate
from worldsim.bench.score import SCORED
from worldsim.bench.scoring import score_file

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def scored(cases, cases_dir, tmp_path_factory) -> dict[str, list]:
    work = tmp_path_factory.mktemp("calibration")
    out: dict[str, list] = {}
    for case in cases:
        truth = cases_dir / "ground_truth" / f"{case.case_id}.mp4"
        for name, path in calibrate.calibration_clips(case, work, truth).items():
            out.setdefault(name, []).append(score_file(path, case))
    for name, rows in out.items():
        print(
            f"{name:24s} n={len(rows):2d} score mean {np.mean([r.score for r in rows]):5.1f} "
            f"min {min(r.score for r in rows):5.1f}"
        )
    return out


def _values(rows, metric):
    return np.asarray([r.metrics[metric] for r in rows if r.metrics.get(metric) is not None], float)


@pytest.mark.parametrize("variant", calibrate.TRUTH_AT_FORMAT)
def test_ground_truth_scores_at_the_ceiling_at_any_format(scored, variant):
    scores = np.asarray([r.score for r in scored[variant]])
    assert scores.mean() >= 97.0 and np.median(scores) >= 99.5, scores


def test_tracking_error_of_the_ground_truth_is_within_each_metric_floor(scored):
    """The parse floor: on the truth's clips, most cases get full marks metric by metric."""
    rows = [r for v in calibrate.TRUTH_AT_FORMAT for r in scored[v]]
    for spec in SCORED:
        values = _values(rows, spec.metric)
        if not values.size:
            continue
        errors = 1 - values if spec.invert else values
        within = (errors <= spec.floor + 1e-9).mean()
        assert within >= 0.9, (spec.metric, within, np.sort(errors)[-5:])


def test_trivial_baselines_score_far_below_the_ground_truth(scored, cases):
    """On average; case by case wherever the truth moves (freezing a still scene is right)."""
    truth = {r.case_id: r.score for r in scored["truth"]}
    k = cases[0].condition_frames
    moving = {
        c.case_id
        for c in cases
        if np.linalg.norm(c.states[k:, :, :2] - c.states[k - 1, :, :2], axis=-1).max() > 4.0
    }
    for kind in calibrate.BASELINES:
        scores = np.asarray([r.score for r in scored[kind]])
        print(kind, scores.mean())
        assert scores.mean() < np.mean(list(truth.values())) - 25
        assert all(r.score < truth[r.case_id] - 10 for r in scored[kind] if r.case_id in moving)


@pytest.mark.parametrize("kind", list(calibrate.CORRUPTIONS))
def test_each_corruption_is_caught_by_its_metric_outside_the_truths_range(scored, kind):
    metric, direction = calibrate.CORRUPTIONS[kind]
    truth = np.concatenate([_values(scored[v], metric) for v in calibrate.TRUTH_AT_FORMAT])
    bad = _values(scored.get(kind, []), metric)
    assert bad.size >= 1, f"no case of the export takes {kind}"
    print(
        f"{kind}: {metric} truth [{truth.min():.3g}, {truth.max():.3g}], corrupted {np.round(bad, 3)}"
    )
    if direction > 0:
        assert (bad > truth.max()).all()
    else:
        assert (bad < truth.min()).all()
    # Where the metric could measure it, the corrupted clip also scores below its truth.
    truth_score = {r.case_id: r.score for r in scored["truth"]}
    measured = [r for r in scored[kind] if r.metrics.get(metric) is not None]
    assert all(r.score < truth_score[r.case_id] for r in measured)
