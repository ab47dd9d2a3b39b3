"""`hoop`: a basketball shot from the left at a hoop (rim + backboard) on the right.

The launch speed is the one whose parabola passes through the hoop's centre, perturbed (with the
angle) by noise so that makes and misses are both common. Whether it went in is read off the
simulated path: the ball's centre must cross the rim line downwards between the two rim discs.
"""

from __future__ import annotations

import numpy as np

from worldsim.physics.families.common import (
    Recording,
    Scene,
    add_thrown_ball,
    launch_speed,
    sample_gravity,
    split_name,
    uniform,
)

OUTCOMES = ("make", "miss")
FAILURES = {"miss"}

BACKBOARD_X = 7.6  # m, centre line of the backboard
BACKBOARD_HALF_THICKNESS = 0.06
BACKBOARD_SPAN = (-0.3, 1.4)  # m, bottom and top of the board relative to the rim line
RIM_RADIUS = 0.06  # m, each of the two rim discs
RIM_GAP = 0.04  # m, between the back rim disc and the board
# (ball radius m, rim height m, launch angle deg) lows and highs; held out: bigger balls,
# higher rims, steeper shots
SHOT_IN_RANGE = ((0.3, 4.2, 54.0), (0.34, 4.9, 66.0))
SHOT_OUT_OF_RANGE = ((0.36, 4.95, 67.0), (0.4, 5.3, 72.0))
RIM_WIDTH = 1.2  # m between rim disc centres: a ~1.1 m opening for a ~0.65 m ball


def rim_geometry(rim_y: float) -> dict[str, float]:
    """x of the front and back rim discs and of the hoop's centre, at height `rim_y`."""
    back = BACKBOARD_X - BACKBOARD_HALF_THICKNESS - RIM_GAP - RIM_RADIUS
    front = back - RIM_WIDTH
    return {
        "rim_front_x": front,
        "rim_back_x": back,
        "hoop_x": 0.5 * (front + back),
        "rim_y": rim_y,
    }


def sample_params(rng: np.random.Generator, out_of_range: bool) -> dict:
    g = sample_gravity(rng, out_of_range)
    lo, hi = SHOT_OUT_OF_RANGE if out_of_range else SHOT_IN_RANGE
    radius, rim_y, angle_deg = (float(v) for v in rng.uniform(lo, hi))
    start_x, start_y = uniform(rng, 0.8, 2.0), uniform(rng, 1.3, 2.1)
    hoop_x = rim_geometry(rim_y)["hoop_x"]
    aim = launch_speed(hoop_x - start_x, rim_y - start_y, np.radians(angle_deg), g)
    angle_noise, speed_noise = float(rng.normal(0.0, 2.5)), float(rng.normal(0.0, 0.045))
    return {
        "split": split_name(out_of_range),
        "gravity": g,
        "ball_radius": radius,
        "ball_mass": uniform(rng, 0.55, 0.65),
        "ball_elasticity": uniform(rng, 0.7, 0.9),
        "rim_y": rim_y,
        "start_x": start_x,
        "start_y": start_y,
        "aim_angle_deg": angle_deg,
        "aim_speed": aim,
        "angle_deg": angle_deg + angle_noise,
        "speed": aim * (1.0 + speed_noise),
    }


def build(scene: Scene, params: dict) -> None:
    geo = rim_geometry(params["rim_y"])
    scene.info.update(geo)
    scene.add_floor()
    y0, y1 = (params["rim_y"] + s for s in BACKBOARD_SPAN)
    scene.add_segment(
        "backboard",
        "backboard",
        (BACKBOARD_X, y0),
        (BACKBOARD_X, y1),
        BACKBOARD_HALF_THICKNESS,
        "glass",
    )
    for name in ("rim_front", "rim_back"):
        scene.add_static_circle(name, "rim", (geo[f"{name}_x"], geo["rim_y"]), RIM_RADIUS, "metal")
    add_thrown_ball(scene, params, "basketball")


def outcome(scene: Scene, rec: Recording, params: dict) -> str:
    """`make` if the ball's centre crosses the rim line downwards between the rim discs."""
    xy = rec.substep_positions[:, 0]  # [J, 2]
    y0, y1 = xy[:-1, 1], xy[1:, 1]
    rim_y = scene.info["rim_y"]
    for j in np.flatnonzero((y0 >= rim_y) & (y1 < rim_y)):
        w = (y0[j] - rim_y) / (y0[j] - y1[j])
        x = xy[j, 0] + w * (xy[j + 1, 0] - xy[j, 0])
        if scene.info["rim_front_x"] < x < scene.info["rim_back_x"]:
            return "make"
    return "miss"
