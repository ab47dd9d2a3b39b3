"""Captions: a sentence per clip naming colours and the scene's parameters in words.

About half the captions also state the outcome ("...and misses; the ball rebounds off the
backboard"); the other half leave it open, so the model must learn the outcome from physics
rather than read it from the prompt. Outcome phrases come from the simulation (outcome label and
contacts), never from the sampled intent.

Signature: `make_caption(family, params, trajectory, rng)`; the trajectory gives the outcome,
the objects' colours and the contacts.
"""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np

from worldsim.physics import palette
from worldsim.physics.types import Contact, ObjectInfo, Trajectory

P_DESCRIBE_OUTCOME = 0.5
_NUMBERS = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six"}
_COLOR_NAMES = {rgb: name for name, rgb, _ in palette.DYNAMIC_COLORS}


def color_name(obj: ObjectInfo) -> str:
    return _COLOR_NAMES.get(tuple(obj.color), "coloured")


def _gravity_phrase(g: float) -> str:
    if g < 8.0:
        return " under weak gravity"
    if g > 11.5:
        return " under strong gravity"
    return ""


def _grade(value: float, low: float, high: float, words: tuple[str, str, str]) -> str:
    """One of three words for a value below `low`, between, or above `high`."""
    return words[0] if value < low else words[2] if value > high else words[1]


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _pick(rng: np.random.Generator, options: list[str]) -> str:
    return options[int(rng.integers(len(options)))]


def _hit_statics(traj: Trajectory, obj: str) -> list[str]:
    """Names of what `obj` struck audibly, in time order."""
    return [c.object_b for c in traj.contacts if c.object_a == obj]


# --- one function per family: (scene sentences, outcome sentences) ------------------------------


def _throw(p: dict, traj: Trajectory) -> tuple[list[str], list[str]]:
    c = color_name(traj.objects[0])
    speed = _grade(p["speed"], 6.5, 8.5, ("gently", "", "hard"))
    arc = _grade(p["angle_deg"], 40, 50, ("on a low, flat arc", "", "on a high arc"))
    wall = "low wall" if p["obstacle_height"] < 1.4 else "tall wall"
    g = _gravity_phrase(p["gravity"])
    how = " ".join(w for w in (speed, arc) if w)
    scenes = [
        f"A {c} ball is thrown {how} toward a {wall} in the middle of the floor{g}.",
        f"Someone tosses a {c} rubber ball at a {wall}{g}.",
        f"A {c} ball flies {how or 'through the air'} at a grey {wall}{g}.",
        f"Side view: a {c} ball launched from the left toward a {wall}{g}.",
    ]
    if traj.outcome == "clears":
        outcomes = [
            "It clears the wall and bounces on the far side.",
            f"The {c} ball sails over the wall and lands beyond it.",
        ]
    elif "obstacle" in _hit_statics(traj, "ball"):
        outcomes = [
            "It hits the wall and rebounds back.",
            f"The {c} ball is blocked by the wall and bounces back toward the thrower.",
        ]
    else:
        outcomes = ["It falls short of the wall.", f"The {c} ball lands short and never gets over."]
    return scenes, outcomes


def _bounce(p: dict, traj: Trajectory) -> tuple[list[str], list[str]]:
    c = color_name(traj.objects[0])
    bounciness = p["ball_elasticity"] * p["floor_elasticity"]
    ball = _grade(bounciness, 0.35, 0.65, ("soft, dead", "rubber", "very bouncy"))
    height = _grade(p["drop_height"], 3.2, 4.5, ("a low height", "shoulder height", "high up"))
    walls = " between two walls" if p["side_walls"] else ""
    drift = " drifting sideways" if abs(p["vx"]) > 0.8 else ""
    g = _gravity_phrase(p["gravity"])
    scenes = [
        f"A {ball} {c} ball is dropped from {height}{walls}{g}.",
        f"A {c} ball falls from {height} onto a hard floor{drift}{walls}{g}.",
        f"Side view of a {ball} {c} ball dropped{drift}{walls}{g}.",
        f"Someone lets go of a {c} ball{walls}; it falls from {height}{g}.",
    ]
    if traj.outcome == "settles":
        outcomes = ["It bounces a few times and comes to rest.", "Its bounces die out quickly."]
    else:
        outcomes = ["It keeps bouncing high.", f"The {c} ball is still bouncing at the end."]
    return scenes, outcomes


def _collide(p: dict, traj: Trajectory) -> tuple[list[str], list[str]]:
    names = [color_name(o) for o in traj.objects]
    n = len(names)
    speed = np.mean([abs(p[f"ball_{i}_vx"]) for i in range(n)])
    pace = _grade(speed, 1.2, 3.0, ("slowly", "", "fast"))
    masses = [o.mass for o in traj.objects]
    heavy = names[int(np.argmax(masses))]
    heaviest = "heavier" if n == 2 else "the heaviest"
    count = _NUMBERS[n]
    g = _gravity_phrase(p["gravity"])
    balls = _join(names)
    scenes = [
        f"{count.capitalize()} balls, {balls}, roll and fly {pace} across the floor{g}.",
        f"The {balls} balls move {pace or 'toward each other'} on a flat floor{g}.",
        f"{count.capitalize()} rubber balls ({balls}) are launched at each other{g}; "
        f"the {heavy} one is {heaviest}.",
        f"Side view: {balls} balls of different sizes in motion{g}.",
    ]
    pairs = [(c.object_a, c.object_b) for c in traj.contacts if c.object_b.startswith("ball")]
    by_name = {o.name: color_name(o) for o in traj.objects}
    if traj.outcome == "hit" and pairs:
        a, b = (by_name[x] for x in pairs[0])
        outcomes = [
            f"The {a} ball collides with the {b} ball.",
            f"The {a} and {b} balls knock into each other and trade momentum.",
        ]
    elif traj.outcome == "hit":
        outcomes = ["Two of the balls touch.", "The balls meet briefly."]
    else:
        outcomes = ["They never touch each other.", "The balls miss each other."]
    return scenes, outcomes


def _hoop(p: dict, traj: Trajectory) -> tuple[list[str], list[str]]:
    c = color_name(traj.objects[0])
    arc = _grade(p["angle_deg"], 55, 61, ("a flat", "a medium", "a high"))
    power = _grade(p["speed"] / p["aim_speed"], 0.98, 1.02, ("soft", "", "strong"))
    g = _gravity_phrase(p["gravity"])
    shot = f"{power} shot".strip()
    scenes = [
        f"A {c} basketball is shot from the left at a hoop on {arc} arc{g}.",
        f"Side view of a basketball hoop; a {c} ball is thrown on {arc} arc{g}.",
        f"A {shot} with a {c} basketball toward the hoop on the right{g}.",
        f"Someone shoots a {c} ball at the basket from the left side{g}.",
    ]
    struck = [s for s in _hit_statics(traj, "ball") if s in ("rim_front", "rim_back", "backboard")]
    if traj.outcome == "make":
        if struck:
            outcomes = [
                "It rattles around the rim and drops in.",
                "It hits the rim and falls through.",
            ]
        else:
            outcomes = ["It drops cleanly through the hoop.", "Swish: it goes straight in."]
    elif struck:
        what = (
            "the backboard"
            if struck[0] == "backboard"
            else ("the front of the rim" if struck[0] == "rim_front" else "the back of the rim")
        )
        outcomes = [
            f"It misses; the ball rebounds off {what}.",
            f"The shot misses and bounces off {what}.",
        ]
    else:
        outcomes = [
            "It misses everything and lands on the floor.",
            "An airball: it falls short of the hoop.",
        ]
    return scenes, outcomes


def _ramp(p: dict, traj: Trajectory) -> tuple[list[str], list[str]]:
    c = color_name(traj.objects[0])
    thing = "ball" if p["object"] == "ball" else "wooden box"
    slope = _grade(p["angle_deg"], 18, 30, ("shallow", "moderate", "steep"))
    surface = _grade(p["friction"], 0.2, 0.6, ("slippery", "", "grippy"))
    g = _gravity_phrase(p["gravity"])
    scenes = [
        f"A {c} {thing} is released at the top of a {slope} ramp{g}.",
        f"A {c} {thing} sits on a {slope} {surface} incline{g}.",
        f"Side view: a {slope} ramp with a {c} {thing} near its top{g}.",
        f"A {surface} {c} {thing} is let go on a {slope} slope{g}.",
    ]
    outcomes = {
        "rolls": ["It rolls down the ramp.", f"The {c} {thing} rolls down without slipping."],
        "slides": ["It slides down the ramp.", f"The {c} {thing} slips and slides down the slope."],
        "stays": ["It stays put; friction holds it.", f"The {c} {thing} does not move."],
    }[traj.outcome]
    return scenes, outcomes


def _tower(p: dict, traj: Trajectory) -> tuple[list[str], list[str]]:
    n = p["num_blocks"]
    count = _NUMBERS[n]
    blocks = _join([color_name(o) for o in traj.objects[:n]])
    c = color_name(traj.objects[n])
    push = _grade(p["nudge_speed"] * p["ball_mass"], 4.0, 8.0, ("gentle", "firm", "hard"))
    g = _gravity_phrase(p["gravity"])
    scenes = [
        f"A stack of {count} wooden blocks ({blocks}) is hit by a {c} ball{g}.",
        f"A {c} ball is thrown at a tower of {count} blocks in a {push} throw{g}.",
        f"A {push} nudge: a {c} ball flies into a {count}-block tower{g}.",
        f"Side view of a {count}-block wooden tower, {blocks} from the bottom, and a {c} ball{g}.",
    ]
    if traj.outcome == "stands":
        outcomes = ["The tower wobbles but stays standing.", "The blocks hold; the tower stands."]
    else:
        outcomes = ["The tower topples over.", "The blocks tumble to the floor."]
    return scenes, outcomes


_FAMILIES = {
    "throw": _throw,
    "bounce": _bounce,
    "collide": _collide,
    "hoop": _hoop,
    "ramp": _ramp,
    "tower": _tower,
}


def make_caption(
    family: str,
    params: dict,
    trajectory: Trajectory,
    rng: np.random.Generator,
    *,
    asserted_outcome: str | None = None,
) -> str:
    """A caption for one clip; about half of them also state the simulated outcome.

    `asserted_outcome` (the benchmark's conflict cases) always states that outcome instead,
    whatever the simulation did: the sentence is the one a clip with that outcome would get.
    """
    if family not in _FAMILIES:
        raise ValueError(f"unknown family {family!r}")
    if asserted_outcome is not None:
        claimed = dataclasses.replace(trajectory, outcome=asserted_outcome)
        scenes, outcomes = _FAMILIES[family](params, claimed)
        return " ".join((_pick(rng, scenes) + " " + _pick(rng, outcomes)).split())
    scenes, outcomes = _FAMILIES[family](params, trajectory)
    caption = _pick(rng, scenes)
    if rng.random() < P_DESCRIBE_OUTCOME:
        caption += " " + _pick(rng, outcomes)
    return " ".join(caption.split())


# --- the grammar's every sentence: what sizes a text window that no caption can overflow ----

# Values either side of and between each `_grade` threshold (and of the other word choices),
# per family parameter the templates read.
_GRID: dict[str, dict[str, tuple]] = {
    "throw": {
        "speed": (5.0, 7.5, 10.0),
        "angle_deg": (30.0, 45.0, 60.0),
        "obstacle_height": (1.0, 2.0),
        "gravity": (5.0, 9.8, 13.0),
    },
    "bounce": {
        "ball_elasticity": (0.3, 0.5, 0.9),
        "floor_elasticity": (1.0,),
        "drop_height": (2.0, 4.0, 5.0),
        "side_walls": (False, True),
        "vx": (0.0, 1.0),
        "gravity": (5.0, 9.8, 13.0),
    },
    "collide": {"speed": (0.5, 2.0, 4.0), "gravity": (5.0, 9.8, 13.0), "num_balls": (2, 3, 4)},
    "hoop": {
        "angle_deg": (50.0, 58.0, 65.0),
        "speed": (0.9, 1.0, 1.1),
        "aim_speed": (1.0,),
        "gravity": (5.0, 9.8, 13.0),
    },
    "ramp": {
        "object": ("ball", "box"),
        "angle_deg": (10.0, 25.0, 40.0),
        "friction": (0.1, 0.4, 0.8),
        "gravity": (5.0, 9.8, 13.0),
    },
    "tower": {
        "num_blocks": (2, 3, 4, 5),
        "nudge_speed": (1.0, 6.0, 10.0),
        "ball_mass": (1.0,),
        "gravity": (5.0, 9.8, 13.0),
    },
}
# Contacts that change an outcome's sentence: (object_a, object_b) pairs.
_STRUCK = {
    "throw": ((), (("ball", "obstacle"),)),
    "hoop": ((), (("ball", "rim_front"),), (("ball", "rim_back"),), (("ball", "backboard"),)),
}


def _grid_scenes(family: str):
    """(params, objects, contact pair lists) over the family's grid."""
    grid = _GRID[family]
    for values in itertools.product(*grid.values()):
        p = dict(zip(grid, values, strict=True))
        n = {"collide": p.get("num_balls", 1), "tower": p.get("num_blocks", 0) + 1}.get(family, 1)
        if family == "collide":
            for i in range(n):
                p[f"ball_{i}_vx"] = p["speed"]
        for heavy in range(n if family == "collide" else 1):
            objects = [
                ObjectInfo(
                    name="ball" if n == 1 else f"ball_{i}",
                    shape="circle",
                    size=(0.1,),
                    mass=2.0 if i == heavy else 1.0,
                    material="rubber",
                    color=palette.DYNAMIC_COLORS[i][1],
                )
                for i in range(n)
            ]
            if family == "collide":
                pairs = [()] + [
                    ((f"ball_{a}", f"ball_{b}"),) for a in range(n) for b in range(n) if a != b
                ]
            else:
                pairs = list(_STRUCK.get(family, ((),)))
            yield p, objects, pairs


def every_caption(family: str) -> list[str]:
    """Every caption `make_caption` can write for `family` (each scene sentence alone and with
    each outcome sentence, conflict captions included), over a grid of parameter values that
    reaches every word choice: the longest of them bounds any caption of the family."""
    from worldsim.physics.families import OUTCOMES

    out = set()
    for p, objects, pair_lists in _grid_scenes(family):
        for pairs, outcome in itertools.product(pair_lists, OUTCOMES[family]):
            contacts = [Contact(0, 0.0, a, b, 1.0) for a, b in pairs]
            traj = Trajectory(
                objects, [], None, None, None, None, contacts, outcome, False, p, p["gravity"]
            )
            scenes, outcomes = _FAMILIES[family](p, traj)
            for scene in scenes:
                out.add(" ".join(scene.split()))
                out.update(" ".join((scene + " " + o).split()) for o in outcomes)
    return sorted(out)
