"""`bounce`: a ball dropped (with a little sideways speed) between optional side walls.

Restitution of ball and floor varies, so by the end of the clip the ball has either settled
(its last bounces are tiny) or is still bouncing.
"""

from __future__ import annotations

import numpy as np

from worldsim.physics.families.common import (
    FLOOR_Y,
    Recording,
    Scene,
    sample_gravity,
    split_name,
    uniform,
)

OUTCOMES = ("settles", "bouncing")
FAILURES: set[str] = set()

WALL_X = (0.4, 7.6)  # m, inner faces of the optional side walls
WALL_HALF_THICKNESS = 0.12  # m
WALL_HEIGHT = 4.5  # m above the floor
SETTLE_WINDOW_S = 0.5  # the last half second of the clip...
SETTLE_HEIGHT = 0.08  # m: ...during which the ball's bottom never rises higher than this


def sample_params(rng: np.random.Generator, out_of_range: bool) -> dict:
    g = sample_gravity(rng, out_of_range)
    if out_of_range:
        radius, drop, speed = (
            uniform(rng, 0.45, 0.55),
            uniform(rng, 5.2, 6.2),
            uniform(rng, 1.8, 2.8),
        )
    else:
        radius, drop, speed = uniform(rng, 0.3, 0.4), uniform(rng, 2.5, 4.5), uniform(rng, 0.0, 1.5)
    return {
        "split": split_name(out_of_range),
        "gravity": g,
        "ball_radius": radius,
        "ball_mass": uniform(rng, 0.3, 0.8),
        "start_x": uniform(rng, 2.5, 5.5),
        "drop_height": drop,  # m, ball bottom above the floor
        "vx": speed * float(rng.choice([-1.0, 1.0])),
        "ball_elasticity": uniform(rng, 0.1, 0.95),
        "floor_elasticity": uniform(rng, 0.5, 1.0),
        "side_walls": int(rng.integers(2)),
    }


def build(scene: Scene, params: dict) -> None:
    scene.add_floor(elasticity=params["floor_elasticity"])
    if params["side_walls"]:
        t = WALL_HALF_THICKNESS
        for name, x in (("wall_left", WALL_X[0] - t), ("wall_right", WALL_X[1] + t)):
            scene.add_segment(
                name,
                "wall",
                (x, FLOOR_Y - t),
                (x, FLOOR_Y + WALL_HEIGHT),
                t,
                "concrete",
                elasticity=params["floor_elasticity"],
            )
    r = params["ball_radius"]
    scene.add_ball(
        "ball",
        r,
        params["ball_mass"],
        "rubber",
        (params["start_x"], FLOOR_Y + r + params["drop_height"]),
        (params["vx"], 0.0),
        elasticity=params["ball_elasticity"],
    )


def outcome(scene: Scene, rec: Recording, params: dict) -> str:
    """`settles` if the ball's bottom stays within SETTLE_HEIGHT of the floor at the end."""
    window = max(1, int(round(SETTLE_WINDOW_S / rec.dt)))
    bottom = rec.substep_positions[-window:, 0, 1] - params["ball_radius"] - FLOOR_Y  # [W]
    return "settles" if bottom.max() < SETTLE_HEIGHT else "bouncing"
