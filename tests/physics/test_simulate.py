"""The pymunk world: deterministic, outcomes read off the simulation, contacts in the clip."""

from __future__ import annotations

import collections

import numpy as np
import pytest

from worldsim.physics import families, palette
from worldsim.physics.captions import make_caption
from worldsim.physics.families.common import GRAVITY_IN_RANGE
from worldsim.physics.simulate import MIN_AUDIBLE_IMPULSE, simulate
from worldsim.physics.types import RenderConfig

CONFIG = RenderConfig()


def _params(family: str, seed: int = 0, out_of_range: bool = False) -> dict:
    return families.sample_params(family, np.random.default_rng(seed), out_of_range)


@pytest.mark.parametrize("family", families.FAMILIES)
@pytest.mark.parametrize("out_of_range", [False, True])
def test_every_family_runs_and_fits_the_contract(family, out_of_range):
    config = RenderConfig(seconds=1.0)
    for seed in range(3):
        params = _params(family, seed, out_of_range)
        traj = simulate(family, params, config)
        T, N = config.num_frames, len(traj.objects)
        assert 1 <= N <= palette.MAX_OBJECTS
        assert traj.positions_m.shape == traj.velocities_m.shape == (T, N, 2)
        assert traj.angles.shape == traj.angular_velocities.shape == (T, N)
        assert [o.color for o in traj.objects] == [palette.dynamic_color(i) for i in range(N)]
        assert traj.outcome in families.OUTCOMES[family]
        assert traj.is_failure == (traj.outcome in families.FAILURE_OUTCOMES[family])
        names = {o.name for o in traj.objects}
        for c in traj.contacts:
            assert c.object_a in names and c.impulse >= MIN_AUDIBLE_IMPULSE
        assert isinstance(make_caption(family, params, traj, np.random.default_rng(seed)), str)


@pytest.mark.parametrize("family", families.FAMILIES)
def test_simulation_is_deterministic(family):
    params = _params(family, seed=3)
    a, b = simulate(family, params, CONFIG), simulate(family, dict(params), CONFIG)
    np.testing.assert_array_equal(a.positions_m, b.positions_m)
    np.testing.assert_array_equal(a.angular_velocities, b.angular_velocities)
    assert a.contacts == b.contacts and a.outcome == b.outcome


def test_params_are_json_plain_and_out_of_range_gravity_is_held_out():
    lo, hi = GRAVITY_IN_RANGE
    for family in families.FAMILIES:
        for seed in range(5):
            inside, outside = _params(family, seed), _params(family, seed, out_of_range=True)
            assert lo <= inside["gravity"] <= hi
            assert not lo <= outside["gravity"] <= hi
            for value in (*inside.values(), *outside.values()):
                assert type(value) in (int, float, str)


@pytest.mark.parametrize("out_of_range", [False, True])
def test_every_parameter_draw_is_a_scene_that_can_be_built(out_of_range):
    """Thousands of draws per family (a 4000-clip build once hit a throw whose launch
    angle could not clear its wall at any speed): sampling never raises."""
    for family in families.FAMILIES:
        module = families.get_family(family)
        for seed in range(3000):
            module.sample_params(np.random.default_rng(seed), out_of_range)


def test_dropped_ball_makes_floor_contacts_inside_the_clip():
    params = _params("bounce") | {"drop_height": 3.0, "ball_elasticity": 0.8, "side_walls": 0}
    traj = simulate("bounce", params, CONFIG)
    floor = [c for c in traj.contacts if c.object_b == "floor"]
    assert floor, "a ball dropped 3 m must be heard hitting the floor"
    for c in traj.contacts:
        assert 0.0 < c.time_s < CONFIG.seconds and c.frame == int(c.time_s * CONFIG.fps)
    # Free fall from 3 m takes sqrt(2 h / g); the first impact must be heard then.
    expected = np.sqrt(2 * 3.0 / params["gravity"])
    assert abs(floor[0].time_s - expected) < 0.02


def test_ball_at_rest_makes_no_contact_events():
    params = _params("bounce") | {"drop_height": 0.0, "vx": 0.0}
    assert simulate("bounce", params, CONFIG).contacts == []


def test_hoop_outcome_comes_from_the_simulation():
    params = _params("hoop", seed=1)
    weak = params | {"speed": 0.5 * params["aim_speed"]}
    assert simulate("hoop", weak, CONFIG).outcome == "miss"
    # Exactly on target with no noise: the simulated ball goes through.
    perfect = params | {"speed": params["aim_speed"], "angle_deg": params["aim_angle_deg"]}
    assert simulate("hoop", perfect, CONFIG).outcome == "make"


def test_tower_outcome_comes_from_the_simulation():
    params = _params("tower", seed=2) | {"num_blocks": 3, "target_block": 2}
    for i in range(3):
        params |= {f"block_{i}_width": 0.6, f"block_{i}_height": 0.8, f"block_{i}_offset": 0.0}
    feather = params | {"ball_mass": 1e-3}
    assert simulate("tower", feather, CONFIG).outcome == "stands"
    wrecking_ball = params | {"ball_mass": 5.0, "nudge_speed": 9.0}
    assert simulate("tower", wrecking_ball, CONFIG).outcome == "topples"


def test_ramp_box_on_grippy_shallow_ramp_stays():
    params = _params("ramp") | {"object": "box", "width": 0.6, "height": 0.5}
    assert simulate("ramp", params | {"angle_deg": 15.0, "friction": 1.0}, CONFIG).outcome == (
        "stays"
    )
    assert simulate("ramp", params | {"angle_deg": 30.0, "friction": 0.1}, CONFIG).outcome == (
        "slides"
    )


@pytest.mark.parametrize("family", ["hoop", "tower"])
def test_outcomes_are_balanced(family):
    rng = np.random.default_rng(2024)
    counts = collections.Counter(
        simulate(family, families.sample_params(family, rng, False), CONFIG).outcome
        for _ in range(60)
    )
    for outcome in families.OUTCOMES[family]:
        assert counts[outcome] >= 12, counts  # >= 20% of 60


def test_hoop_miss_caption_names_what_the_ball_rebounded_off():
    rng = np.random.default_rng(0)
    for _ in range(40):
        params = families.sample_params("hoop", rng, False)
        traj = simulate("hoop", params, CONFIG)
        hits = {c.object_b for c in traj.contacts}
        if traj.outcome == "miss" and hits & {"rim_front", "rim_back", "backboard"}:
            captions = {
                make_caption("hoop", params, traj, np.random.default_rng(s)) for s in range(20)
            }
            assert any("rebounds off" in c or "bounces off" in c for c in captions)
            return
    pytest.fail("no hoop miss off the rim or backboard in 40 shots")
