"""Score clips against cases: one clip in memory, or a folder of mp4 files.

    worldsim bench score --cases-dir DIR --videos-dir DIR --out REPORT_DIR

A submitted clip is decoded at the case's resolution (ffmpeg area resampling; `fit`
decides between stretching and centre-cropping another aspect ratio) and its native
frame rate; objects are tracked in every decoded frame and the tracks are resampled to
the case's frame times (tracks.resample_tracks), so any frame rate works without
ffmpeg dropping or duplicating frames. Audio is decoded at the case's sample rate and
cut or padded with silence to the case's length.
"""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path

import numpy as np

from worldsim.bench.cases import load_case, read_manifest
from worldsim.bench.metrics import case_metrics
from worldsim.bench.score import case_score
from worldsim.bench.track import Tracks, resample_tracks, track
from worldsim.bench.truth import Case


@dataclasses.dataclass
class CaseResult:
    case_id: str
    family: str
    split_tag: str
    conflict: bool
    status: str  # scored | missing | unreadable | error (each but scored scores 0)
    score: float = 0.0
    groups: dict = dataclasses.field(default_factory=dict)
    metrics: dict = dataclasses.field(default_factory=dict)
    details: dict = dataclasses.field(default_factory=dict)
    error: str | None = None
    video: str | None = None
    tracks: Tracks | None = None  # at the case's frames (for the report's overlays)


def score_arrays(case: Case, frames: np.ndarray, fps: float, audio: np.ndarray) -> CaseResult:
    """Score decoded frames uint8 [T', H, W, 3] (the case's H, W) at `fps` and audio [S']."""
    frames = np.asarray(frames)
    if frames.ndim != 4 or len(frames) == 0 or frames.shape[-1] != 3:
        raise ValueError(f"a clip needs frames [T > 0, H, W, 3], got {frames.shape}")
    if not fps > 0:
        raise ValueError(f"a clip needs a frame rate > 0, got {fps}")
    if frames.shape[1:3] != (case.height, case.width):
        raise ValueError(
            f"frames are {frames.shape[1:3]}, the case is {(case.height, case.width)}: "
            "resample first (score_file does)"
        )
    last = int(np.floor((case.num_frames - 1) / case.fps * fps + 0.5))
    frames = frames[: last + 1]  # what lies past the case's end is not judged
    tracks = resample_tracks(track(frames, case.objects), fps, case.num_frames, case.fps)
    audio = np.asarray(audio, np.float32)[: case.num_samples]
    audio = np.pad(audio, (0, case.num_samples - len(audio)))
    metrics, details = case_metrics(case, tracks, audio)
    overall, groups = case_score(metrics)
    return CaseResult(
        case.case_id,
        case.family,
        case.split_tag,
        case.conflict,
        "scored",
        overall,
        groups,
        metrics,
        details,
        tracks=tracks,
    )


def read_clip(path: str | os.PathLike, case: Case, fit: str = "stretch"):
    """(frames at the case's size and the file's own frame rate, fps, audio at the case's rate)."""
    from worldsim.media.video_io import read_audio, read_video

    seconds = case.num_frames / case.fps  # what lies past the case's end is not judged
    frames, fps = read_video(path, size=(case.height, case.width), max_seconds=seconds, fit=fit)
    if not fps:
        fps = float(case.fps)
    audio = read_audio(path, sample_rate=case.sample_rate, max_seconds=seconds)
    return frames, fps, audio


def score_file(path: str | os.PathLike, case: Case, fit: str = "stretch") -> CaseResult:
    frames, fps, audio = read_clip(path, case, fit)
    result = score_arrays(case, frames, fps, audio)
    result.video = os.fspath(path)
    return result


def score_folder(
    cases_dir: str | os.PathLike,
    videos_dir: str | os.PathLike,
    *,
    fit: str = "stretch",
    progress: bool = True,
) -> tuple[list[CaseResult], dict]:
    """Score every case of the manifest against VIDEOS/<id>.mp4; missing, unreadable
    and failing clips are counted (and score 0), never a crash."""
    from worldsim.bench.errors import BenchError
    from worldsim.console import progress as progress_bar
    from worldsim.media.video_io import MediaError

    videos_dir = Path(videos_dir)
    if not videos_dir.is_dir():
        raise BenchError(f"--videos-dir {videos_dir}: no such folder")
    manifest = read_manifest(cases_dir)
    results = []
    start = time.perf_counter()
    bar = progress_bar(manifest["cases"], desc="score", unit="clip", disable=not progress)
    for entry in bar:
        case = load_case(cases_dir, entry["id"])
        path = videos_dir / f"{case.case_id}.mp4"
        base = dict(
            case_id=case.case_id,
            family=case.family,
            split_tag=case.split_tag,
            conflict=case.conflict,
        )
        if not path.is_file():
            results.append(CaseResult(**base, status="missing"))
            continue
        try:
            results.append(score_file(path, case, fit))
        except MediaError as error:
            results.append(
                CaseResult(**base, status="unreadable", error=error.reason, video=str(path))
            )
        except Exception as error:  # noqa: BLE001 - one odd clip must not sink the run
            reason = f"{type(error).__name__}: {error}"
            results.append(CaseResult(**base, status="error", error=reason, video=str(path)))
    seconds = time.perf_counter() - start
    timing = {"seconds": seconds, "clips_per_second": len(results) / seconds if seconds else None}
    return results, timing
