"""`ramp`: a ball or a box released on a static incline; it rolls, slides or stays.

Angle and friction vary. A box stays when friction holds it (mu >= tan(angle)); a disc rolls
without slipping when mu >= tan(angle) / 3 and slides otherwise. The label is read off the
simulated motion, not these formulas.
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

OUTCOMES = ("rolls", "slides", "stays")
FAILURES = {"stays"}

RAMP_BOTTOM_X = 6.0  # m, where the ramp's surface meets the floor
RAMP_RUN = 4.8  # m, horizontal extent of the ramp
RAMP_HALF_THICKNESS = 0.1
START_ALONG = 0.9  # m down the slope from the ramp's top, where the object's centre starts
STAY_DISTANCE = 0.1  # m: moving less than this over the clip is "stays"
ROLL_RATIO = 0.85  # |omega r| / |v| above this (on the ramp) is rolling


def sample_params(rng: np.random.Generator, out_of_range: bool) -> dict:
    g = sample_gravity(rng, out_of_range)
    obj = "ball" if rng.random() < 0.5 else "box"
    angle = uniform(rng, 40, 48) if out_of_range else uniform(rng, 10, 36)
    friction = float(np.exp(rng.uniform(np.log(0.06), np.log(1.6))))
    params = {
        "split": split_name(out_of_range),
        "gravity": g,
        "object": obj,
        "angle_deg": angle,
        "friction": friction,  # object's; the ramp's own is 1, pymunk multiplies them
        "mass": uniform(rng, 0.5, 1.5),
    }
    if obj == "ball":
        params["radius"] = uniform(rng, 0.42, 0.5) if out_of_range else uniform(rng, 0.3, 0.4)
    else:
        h = uniform(rng, 0.5, 0.6)
        params["height"] = h
        # Wide enough never to tip: tan(angle) < width / height.
        params["width"] = h * (uniform(rng, 1.3, 1.5) if out_of_range else uniform(rng, 1.1, 1.5))
    return params


def ramp_line(angle_deg: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Top and bottom points of the ramp's surface, and its down-slope unit vector."""
    a = np.radians(angle_deg)
    bottom = np.array([RAMP_BOTTOM_X, FLOOR_Y])
    top = bottom + RAMP_RUN * np.array([-1.0, np.tan(a)])
    return top, bottom, np.array([np.cos(a), -np.sin(a)])


def build(scene: Scene, params: dict) -> None:
    scene.add_floor()
    scene.add_edge_walls()
    a = np.radians(params["angle_deg"])
    top, bottom, down = ramp_line(params["angle_deg"])
    normal = np.array([np.sin(a), np.cos(a)])  # out of the surface
    t = RAMP_HALF_THICKNESS
    # Centre line sits one half-thickness below the surface; the lower end dips into the floor.
    scene.add_segment(
        "ramp",
        "ramp",
        tuple(top - t * normal),
        tuple(bottom - t * normal + 0.3 * down),
        t,
        "wood",
        friction=1.0,
    )
    scene.info["ramp_bottom_x"] = float(bottom[0])
    half = params["radius"] if params["object"] == "ball" else params["height"] / 2
    centre = top + START_ALONG * down + half * normal
    if params["object"] == "ball":
        scene.add_ball(
            "ball",
            params["radius"],
            params["mass"],
            "rubber",
            tuple(centre),
            friction=params["friction"],
            elasticity=0.3,
        )
    else:
        scene.add_box(
            "box",
            (params["width"], params["height"]),
            params["mass"],
            "wood",
            tuple(centre),
            angle=-a,
            friction=params["friction"],
        )


def outcome(scene: Scene, rec: Recording, params: dict) -> str:
    """`stays` if it barely moved; a box that moved `slides`; a ball `rolls` if |omega r| ~ |v|."""
    xy = rec.positions[:, 0]  # [T, 2]
    if np.linalg.norm(xy[-1] - xy[0]) < STAY_DISTANCE:
        return "stays"
    if params["object"] == "box":
        return "slides"
    speed = np.linalg.norm(rec.velocities[:, 0], axis=-1)  # [T]
    spin = np.abs(rec.angular_velocities[:, 0]) * params["radius"]  # [T]
    on_ramp = (xy[:, 0] < scene.info["ramp_bottom_x"]) & (speed > 0.05)
    if on_ramp.sum() < 2:  # left the ramp before two frames: judge the whole clip
        on_ramp = speed > 0.05
    ratio = spin[on_ramp].sum() / max(speed[on_ramp].sum(), 1e-9)
    return "rolls" if ratio > ROLL_RATIO else "slides"
