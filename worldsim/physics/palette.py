"""The documented colour palette. A tracker recovers objects from pixels with it.

- Background: a flat light grey, achromatic.
- Static geometry (floor, walls, ramps, backboard, rim): achromatic greys, darker than the
  background, so static pixels never match a dynamic colour.
- Dynamic objects: saturated colours 60 degrees apart in hue, assigned in this order to the
  objects of a scene (object n gets DYNAMIC_COLORS[n]). A scene has at most
  len(DYNAMIC_COLORS) dynamic objects.

Dynamic objects are drawn after (on top of) static geometry, so static geometry never hides
them; dynamic objects may hide each other, which `Clip.visibility` records.
"""

from __future__ import annotations

import itertools

import numpy as np

BACKGROUND = (236, 236, 236)

STATIC_COLORS = {
    "floor": (96, 96, 96),
    "wall": (128, 128, 128),
    "ramp": (112, 112, 112),
    "backboard": (160, 160, 160),
    "rim": (48, 48, 48),
    "obstacle": (128, 128, 128),
}

# name, RGB, hue in degrees
DYNAMIC_COLORS: tuple[tuple[str, tuple[int, int, int], float], ...] = (
    ("red", (220, 40, 40), 0.0),
    ("blue", (40, 70, 220), 228.0),
    ("yellow", (225, 200, 30), 53.0),
    ("magenta", (210, 40, 210), 300.0),
    ("green", (40, 170, 60), 128.0),
    ("cyan", (30, 190, 210), 188.0),
)

MAX_OBJECTS = len(DYNAMIC_COLORS)


def dynamic_color(index: int) -> tuple[int, int, int]:
    """RGB of the index-th dynamic object of a scene."""
    if not 0 <= index < MAX_OBJECTS:
        raise ValueError(f"a scene has at most {MAX_OBJECTS} dynamic objects; got index {index}")
    return DYNAMIC_COLORS[index][1]


def _match_radius() -> float:
    everything = [BACKGROUND, *STATIC_COLORS.values(), *(rgb for _, rgb, _ in DYNAMIC_COLORS)]
    return 0.5 * min(
        float(np.linalg.norm(np.subtract(dynamic, other)))
        for (_, dynamic, _), other in itertools.product(DYNAMIC_COLORS, everything)
        if tuple(dynamic) != tuple(other)
    )


# Half the smallest RGB distance between a dynamic colour and any other palette colour: a
# pixel within it of a dynamic colour cannot be nearer to another one.
MATCH_RADIUS = _match_radius()


def color_centroid(frame: np.ndarray, color: tuple[int, int, int]) -> tuple[float, float] | None:
    """Reference colour-threshold tracker: (x, y) centroid of the pixels of uint8 [H, W, 3]
    `frame` within MATCH_RADIUS of `color`, or None if there are none.

    Anti-aliased edges (blends with the background or a neighbour) fall outside on every side
    alike, which keeps the centroid unbiased even where video compression bleeds a
    neighbour's colour into an object's edge.
    """
    distance = np.linalg.norm(frame.astype(np.float32) - np.asarray(color, np.float32), axis=-1)
    rows, cols = np.nonzero(distance < MATCH_RADIUS)  # [H, W] mask -> indices
    if rows.size == 0:
        return None
    return float(cols.mean()), float(rows.mean())
