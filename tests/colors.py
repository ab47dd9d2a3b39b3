"""A deliberately simple colour-threshold tracker used by tests to check pixels against states.

An object's pixels are those within `MATCH_RADIUS` (RGB distance) of its palette colour: half
the smallest distance between a dynamic colour and any other palette colour, so a matched
pixel cannot be nearer to another colour. Anti-aliased edges (blends with the background or a
neighbour) fall outside on every side alike, which keeps the centroid unbiased even where
video compression bleeds a neighbour's colour into the object's edge.
"""

from __future__ import annotations

import itertools

import numpy as np

from worldsim.physics import palette

_ALL = [palette.BACKGROUND, *palette.STATIC_COLORS.values(), *(c for _, c, _ in palette.DYNAMIC_COLORS)]
MATCH_RADIUS = 0.5 * min(
    float(np.linalg.norm(np.subtract(dynamic, other)))
    for (_, dynamic, _), other in itertools.product(palette.DYNAMIC_COLORS, _ALL)
    if tuple(dynamic) != tuple(other)
)


def color_centroid(frame: np.ndarray, color: tuple[int, int, int]) -> tuple[float, float] | None:
    """(x, y) pixel centroid of the pixels of [H, W, 3] `frame` matching `color`, or None."""
    distance = np.linalg.norm(frame.astype(np.float32) - np.asarray(color, np.float32), axis=-1)
    rows, cols = np.nonzero(distance < MATCH_RADIUS)  # [H, W] mask -> indices
    if rows.size == 0:
        return None
    return float(cols.mean()), float(rows.mean())
