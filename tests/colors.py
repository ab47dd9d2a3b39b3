"""A deliberately simple colour-threshold tracker used by tests to check pixels against states.

Each pixel is assigned to the nearest colour of the documented palette (background, static greys,
dynamic colours); an object's position is the centroid of the pixels assigned to its colour.
"""

from __future__ import annotations

import numpy as np

from worldsim.physics import palette


def nearest_palette_labels(frame: np.ndarray) -> tuple[np.ndarray, list[tuple[int, int, int]]]:
    """[H, W, 3] uint8 -> [H, W] index into the returned colour list."""
    colors = [palette.BACKGROUND, *palette.STATIC_COLORS.values()]
    colors += [rgb for _, rgb, _ in palette.DYNAMIC_COLORS]
    table = np.asarray(colors, np.float32)  # [P, 3]
    distance = np.linalg.norm(frame[:, :, None, :].astype(np.float32) - table, axis=-1)  # [H, W, P]
    return distance.argmin(-1), colors


def color_centroid(frame: np.ndarray, color: tuple[int, int, int]) -> tuple[float, float] | None:
    """(x, y) pixel centroid of the pixels nearest to `color`, or None if there are none."""
    labels, colors = nearest_palette_labels(frame)
    rows, cols = np.nonzero(labels == colors.index(tuple(int(c) for c in color)))
    if rows.size == 0:
        return None
    return float(cols.mean()), float(rows.mean())
