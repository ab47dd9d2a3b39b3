"""A contact sheet: a clip's frames tiled in a grid, for a glance at a whole clip."""

from __future__ import annotations

import numpy as np


def make_contact_sheet(
    video: np.ndarray, columns: int = 8, scale: int = 2, gap: int = 2, gap_value: int = 255
) -> np.ndarray:
    """uint8 [T, H, W, 3] -> uint8 [rows*(H*scale+gap)-gap, columns*(W*scale+gap)-gap, 3]."""
    video = np.asarray(video, np.uint8)
    num_frames, height, width, _ = video.shape
    columns = max(1, min(columns, num_frames))
    rows = -(-num_frames // columns)
    big = video.repeat(scale, axis=1).repeat(scale, axis=2)  # [T, H*s, W*s, 3]
    cell_h, cell_w = height * scale + gap, width * scale + gap
    sheet = np.full((rows * cell_h - gap, columns * cell_w - gap, 3), gap_value, np.uint8)
    for t in range(num_frames):
        r, c = divmod(t, columns)
        sheet[r * cell_h : r * cell_h + height * scale, c * cell_w : c * cell_w + width * scale] = big[t]
    return sheet
