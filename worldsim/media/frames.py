"""Frame arrays at another size: integer mean-pooling of uint8 clips."""

from __future__ import annotations

import numpy as np


def downsample_frames(video: np.ndarray, frame_size: int) -> np.ndarray:
    """uint8 [B, T, H, W, 3] -> uint8 [B, T, S, S, 3] by mean-pooling an integer factor."""
    b, t, h, w, c = video.shape
    if h % frame_size or w % frame_size or h != w:
        raise ValueError(
            f"video frames {h}x{w} cannot be pooled to {frame_size}x{frame_size} "
            "(need square frames and an integer factor)"
        )
    f = h // frame_size
    if f == 1:
        return video
    pooled = video.reshape(b, t, frame_size, f, frame_size, f, c).mean(
        axis=(3, 5)
    )  # [B,T,S,f,S,f,3]
    return np.round(pooled).astype(np.uint8)  # [B, T, S, S, 3]
