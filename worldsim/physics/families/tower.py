"""`tower`: a stack of wooden blocks nudged by a thrown ball; it stands or topples.

The ball is lobbed so that it arrives at a chosen block with horizontal speed `nudge_speed`
(its flight time is the gap over that speed); its momentum against the tower's size and
friction decides the outcome, which is read off the final block poses.
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

OUTCOMES = ("stands", "topples")
FAILURES = {"topples"}

TOWER_X = 5.2  # m, centre of the bottom block
WOOD_DENSITY = 2.0  # kg per m^2 of block face
TOPPLE_ANGLE = 0.3  # rad: a block turned further than this has toppled...
TOPPLE_DROP = 0.5  # ...as has one that dropped by more than this share of its height


def sample_params(rng: np.random.Generator, out_of_range: bool) -> dict:
    g = sample_gravity(rng, out_of_range)
    n = int(rng.integers(2, 6))
    params = {"split": split_name(out_of_range), "gravity": g, "num_blocks": n}
    for i in range(n):
        if out_of_range:  # wide, flat slabs
            w, h = uniform(rng, 1.05, 1.25), uniform(rng, 0.5, 0.55)
        else:
            w, h = uniform(rng, 0.55, 1.0), uniform(rng, 0.5, 0.8)
        params |= {
            f"block_{i}_width": w,
            f"block_{i}_height": h,
            f"block_{i}_offset": uniform(rng, -0.08, 0.08) * w if i else 0.0,
        }
    params |= {
        "block_friction": uniform(rng, 0.4, 0.9),
        "target_block": int(rng.integers(n)),
        "ball_radius": uniform(rng, 0.3, 0.36),
        "ball_mass": uniform(rng, 0.8, 1.8),
        "ball_gap": uniform(rng, 0.8, 1.4),  # m, horizontal flight to the tower's face
        "nudge_speed": uniform(rng, 9.5, 12.0) if out_of_range else uniform(rng, 2.0, 9.0),
    }
    return params


def build(scene: Scene, params: dict) -> None:
    # pymunk multiplies surface frictions: sqrt on every surface makes each pair's mu the param.
    mu = float(np.sqrt(params["block_friction"]))
    scene.add_floor(friction=mu)
    y, face, target_y = FLOOR_Y, TOWER_X, FLOOR_Y
    for i in range(params["num_blocks"]):
        w, h = params[f"block_{i}_width"], params[f"block_{i}_height"]
        x = TOWER_X + params[f"block_{i}_offset"]
        scene.add_box(
            f"block_{i}", (w, h), WOOD_DENSITY * w * h, "wood", (x, y + h / 2), friction=mu
        )
        if i == params["target_block"]:
            face, target_y = x - w / 2, y + h / 2
        y += h
    # Lob: flight time = gap / nudge_speed, vertical speed chosen to arrive at the target height.
    r, gap, vx = params["ball_radius"], params["ball_gap"], params["nudge_speed"]
    start = (face - r - gap, target_y)
    vy = 0.5 * params["gravity"] * gap / vx
    scene.add_ball("ball", r, params["ball_mass"], "rubber", start, (vx, vy), elasticity=0.5)


def outcome(scene: Scene, rec: Recording, params: dict) -> str:
    """`topples` if any block turned past TOPPLE_ANGLE or dropped past TOPPLE_DROP of its height."""
    n = params["num_blocks"]
    turned = np.abs(np.angle(np.exp(1j * rec.angles[-1, :n])))  # [n], wrapped to [0, pi]
    heights = np.array([params[f"block_{i}_height"] for i in range(n)])
    dropped = rec.positions[0, :n, 1] - rec.positions[-1, :n, 1]  # [n]
    toppled = (turned > TOPPLE_ANGLE) | (dropped > TOPPLE_DROP * heights)
    return "topples" if toppled.any() else "stands"
