"""`collide`: two to four balls rolling or flying toward (or away from) each other.

Masses and sizes vary so collisions exchange momentum visibly. `hit` needs at least one
ball-ball touch (quiet ones count) during the clip.
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

OUTCOMES = ("hit", "miss")
FAILURES = {"miss"}

SCENE_X = (1.0, 7.0)  # m, span the balls start in
P_TOWARD = 0.6  # chance a ball heads toward the scene's middle
P_AIRBORNE = 0.3  # chance a ball starts in the air
# (radius m, speed m/s, mass kg) lows and highs; held out: bigger, faster, heavier balls
BALL_IN_RANGE = ((0.3, 0.2, 0.3), (0.4, 3.0, 2.0))
BALL_OUT_OF_RANGE = ((0.42, 3.5, 2.5), (0.5, 5.0, 4.0))


def sample_params(rng: np.random.Generator, out_of_range: bool) -> dict:
    g = sample_gravity(rng, out_of_range)
    n = int(rng.integers(2, 5))
    params = {"split": split_name(out_of_range), "gravity": g, "num_balls": n}
    slots = np.linspace(*SCENE_X, n)  # evenly spread starts, jittered below
    spacing = (SCENE_X[1] - SCENE_X[0]) / max(n - 1, 1)
    for i in range(n):
        lo, hi = BALL_OUT_OF_RANGE if out_of_range else BALL_IN_RANGE
        radius, speed, mass = (float(v) for v in rng.uniform(lo, hi))
        x = float(slots[i] + rng.uniform(-0.15, 0.15) * spacing)
        toward = 1.0 if x < 4.0 else -1.0
        direction = toward if rng.random() < P_TOWARD else -toward
        airborne = rng.random() < P_AIRBORNE
        params |= {
            f"ball_{i}_radius": radius,
            f"ball_{i}_mass": mass,
            f"ball_{i}_elasticity": uniform(rng, 0.5, 0.9),
            f"ball_{i}_x": x,
            f"ball_{i}_y": uniform(rng, 1.5, 3.5) if airborne else FLOOR_Y + radius,
            f"ball_{i}_vx": direction * speed,
            f"ball_{i}_vy": uniform(rng, 0.0, 3.0) if airborne else 0.0,
        }
    return params


def build(scene: Scene, params: dict) -> None:
    scene.add_floor()
    scene.add_edge_walls()
    for i in range(params["num_balls"]):
        r, vx = params[f"ball_{i}_radius"], params[f"ball_{i}_vx"]
        on_floor = params[f"ball_{i}_y"] <= FLOOR_Y + r + 1e-9
        scene.add_ball(
            f"ball_{i}",
            r,
            params[f"ball_{i}_mass"],
            "rubber",
            (params[f"ball_{i}_x"], params[f"ball_{i}_y"]),
            (vx, params[f"ball_{i}_vy"]),
            angular_velocity=-vx / r if on_floor else 0.0,  # rolling, no slip
            elasticity=params[f"ball_{i}_elasticity"],
        )


def outcome(scene: Scene, rec: Recording, params: dict) -> str:
    """`hit` if any two balls touched during the clip."""
    balls = {o.name for o in scene.objects}
    touched = any(t.object_a in balls and t.object_b in balls for t in rec.touches)
    return "hit" if touched else "miss"
