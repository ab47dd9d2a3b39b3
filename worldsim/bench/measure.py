"""A clip's metrics against its case: decode, track, measure (no score, no references).

scoring.py turns these into a score against the case's references; reference.py measures
the references themselves (the simulator's clip and the trivial continuations) the same
way, so both sides of the scale go through one path.

A submitted clip is decoded at the case's resolution (ffmpeg area resampling; `fit`
decides between stretching and centre-cropping another aspect ratio) and its native
frame rate; objects are tracked in every decoded frame and the tracks are resampled to
the case's frame times (tracks.resample_tracks), so any frame rate works without
ffmpeg dropping or duplicating frames. Audio is decoded at the case's sample rate.
"""

from __future__ import annotations

import os

import numpy as np

from worldsim.bench.metrics import case_metrics
from worldsim.bench.track import Tracks, resample_tracks, track
from worldsim.bench.truth import Case

LONG_DECODE = 2.0  # a clip is decoded up to this many times its case's length


def check_frames(case: Case, frames: np.ndarray, fps: float) -> None:
    if frames.ndim != 4 or len(frames) == 0 or frames.shape[-1] != 3:
        raise ValueError(f"a clip needs frames [T > 0, H, W, 3], got {frames.shape}")
    if not fps > 0:
        raise ValueError(f"a clip needs a frame rate > 0, got {fps}")
    if frames.shape[1:3] != (case.height, case.width):
        raise ValueError(
            f"frames are {frames.shape[1:3]}, the case is {(case.height, case.width)}: "
            "resample first (score_file does)"
        )


def overlap_frames(case: Case, num_frames: int, fps: float) -> int:
    """How many of the case's frames a clip of `num_frames` at `fps` covers: each frame
    lasts 1 / fps, so the clip spans num_frames / fps seconds (2 s at 8 fps is 16 frames
    and covers all 32 of a 16 fps case), to half a case frame."""
    return int(min(case.num_frames, np.floor(num_frames / fps * case.fps + 0.5)))


def measure_arrays(
    case: Case, frames: np.ndarray, fps: float, audio: np.ndarray
) -> tuple[dict, dict, Tracks]:
    """(metrics, details, tracks at the case's frames) of decoded frames [T', H, W, 3] at
    `fps` (covering the case) and audio [S'] (cut or padded with silence to the case's)."""
    tracks = resample_tracks(track(frames, case.objects), fps, case.num_frames, case.fps)
    audio = np.asarray(audio, np.float32)[: case.num_samples]
    audio = np.pad(audio, (0, case.num_samples - len(audio)))
    metrics, details = case_metrics(case, tracks, audio)
    return metrics, details, tracks


def read_clip(path: str | os.PathLike, case: Case, fit: str = "stretch"):
    """(frames at the case's size and the file's own frame rate, fps, audio at the case's
    rate), up to LONG_DECODE times the case's length."""
    from worldsim.media.video_io import read_audio, read_video

    seconds = LONG_DECODE * case.num_frames / case.fps
    frames, fps = read_video(path, size=(case.height, case.width), max_seconds=seconds, fit=fit)
    if not fps:
        fps = float(case.fps)
    audio = read_audio(path, sample_rate=case.sample_rate, max_seconds=seconds)
    return frames, fps, audio


def measure_file(path: str | os.PathLike, case: Case, fit: str = "stretch") -> dict:
    """Metrics of a clip file that covers its case (the references' clips)."""
    frames, fps, audio = read_clip(path, case, fit)
    check_frames(case, frames, fps)
    if overlap_frames(case, len(frames), fps) < case.num_frames:
        raise ValueError(f"{path}: shorter than its case")
    return measure_arrays(case, frames, fps, audio)[0]
