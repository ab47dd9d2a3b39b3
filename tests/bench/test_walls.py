"""Objects through walls: the truth never crosses one, a path through the obstacle does."""

from __future__ import annotations

import numpy as np

from worldsim.bench.cases import truth_clip
from worldsim.bench.metrics import wall_metrics
from worldsim.bench.scoring import score_arrays
from worldsim.bench.track import tracks_from_states


def test_every_case_records_its_walls_and_the_truth_never_crosses_one(cases):
    for case in cases:
        assert "floor" in {w["name"] for w in case.walls}, case.case_id
        exact = tracks_from_states(case.states, case.visibility, case.objects)
        assert wall_metrics(case, exact)["wall_crossings"] == 0.0, case.case_id
        clip = truth_clip(case)
        rendered = score_arrays(case, clip.video, clip.fps, clip.audio)
        assert rendered.metrics["wall_crossings"] == 0.0, case.case_id


def _throw_with_path(case, y: float):
    """The case's ball moved level at height `y` (px) from left of the obstacle to right of
    it after the conditioning."""
    wall = next(w for w in case.walls if w["name"] == "obstacle")
    x = wall["a"][0]
    states = case.states.copy()
    k, t = case.condition_frames, case.num_frames
    states[k:, 0, 0] = np.linspace(x - 12, x + 12, t - k)
    states[k:, 0, 1] = y
    visibility = np.ones_like(case.visibility)
    return wall, tracks_from_states(states, visibility, case.objects)


def test_a_ball_through_the_obstacle_crosses_it_and_one_over_its_top_does_not(cases):
    case = next(c for c in cases if c.family == "throw")
    wall = next(w for w in case.walls if w["name"] == "obstacle")
    top = min(wall["a"][1], wall["b"][1]) - wall["half_thickness_px"]
    bottom = max(wall["a"][1], wall["b"][1])
    radius = case.objects[0]["size_px"][0]
    _, through = _throw_with_path(case, 0.5 * (top + bottom))
    _, over = _throw_with_path(case, top - radius - 1.0)
    assert wall_metrics(case, through)["wall_crossings"] == 1.0
    assert wall_metrics(case, over)["wall_crossings"] == 0.0


def test_an_export_without_walls_measures_none(cases):
    import dataclasses

    case = dataclasses.replace(cases[0], walls=None)
    exact = tracks_from_states(case.states, case.visibility, case.objects)
    assert wall_metrics(case, exact)["wall_crossings"] is None
