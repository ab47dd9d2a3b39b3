"""Score clips against cases: one clip in memory, or a folder of mp4 files.

    worldsim bench score --cases-dir CASES --truth-dir TRUTH --videos-dir CLIPS --out REPORT

Decoding, tracking and metrics: measure.py. The score: score.py, against the references
stored with each case at export (reference.py).

Length. A clip is judged on the case's frames it covers. A shorter clip is held at its
last frame (and silence) for the rest of the case, so its overlap earns what it shows and
the missing part earns what freezing earns (nothing, where something moves); it is
flagged. What lies past the case's end is not judged, and flagged. Audio shorter than the
case is padded with silence; flagged if it is short of the judged frames.

Beside the score, each clip gets the Physics-IQ-style measures (physics_iq.py) against
the simulator's clip, frames taken at the case's frame times.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from pathlib import Path

import numpy as np

from worldsim.bench import physics_iq
from worldsim.bench.cases import check_same_export, load_case
from worldsim.bench.measure import (
    LONG_DECODE,
    check_frames,
    measure_arrays,
    overlap_frames,
    read_clip,
)
from worldsim.bench.score import Reference, case_score, metric_points
from worldsim.bench.track import Tracks
from worldsim.bench.truth import Case

AUDIO_SHORT_S = 0.1  # audio this much shorter than the judged frames is flagged


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
    physics_iq: dict = dataclasses.field(default_factory=dict)  # measures vs the truth
    flags: list = dataclasses.field(default_factory=list)  # length and sound remarks
    judged_frames: int | None = None  # the case's frames the clip covers


def _at_case_times(frames: np.ndarray, fps: float, case: Case) -> np.ndarray:
    """The clip's frame nearest each of the case's frame times (the last one held past
    the clip's end): [T, H, W, 3]."""
    index = np.floor(np.arange(case.num_frames) / case.fps * fps + 0.5).astype(int)
    return frames[np.minimum(index, len(frames) - 1)]


def _length_flags(case: Case, frames: np.ndarray, fps: float, audio: np.ndarray, n: int):
    flags = []
    total = case.num_frames
    if n < total:
        flags.append(
            f"short: covers {n} of the case's {total} frames; held at its last frame after"
        )
    beyond = len(frames) / fps - total / case.fps
    if beyond > 0.5 / case.fps:
        decoded_s = LONG_DECODE * total / case.fps  # read_clip decodes no more
        at_least = "at least " if len(frames) / fps >= 0.99 * decoded_s else ""
        flags.append(f"long: {at_least}{beyond:.2f} s past the case's end, not judged")
    judged_s = n / case.fps
    if len(audio) < (judged_s - AUDIO_SHORT_S) * case.sample_rate:
        flags.append(
            f"audio short: {len(audio) / case.sample_rate:.2f} s of the judged "
            f"{judged_s:.2f} s; padded with silence"
        )
    return flags


def score_arrays(
    case: Case,
    frames: np.ndarray,
    fps: float,
    audio: np.ndarray,
    *,
    truth_frames: np.ndarray | None = None,
) -> CaseResult:
    """Score decoded frames uint8 [T', H, W, 3] (the case's H, W) at `fps` and audio [S'].

    truth_frames: the simulator's clip at the case's size, for the Physics-IQ-style
    measures (default: decoded from `case.truth_video`, else drawn by the simulator)."""
    frames = np.asarray(frames)
    check_frames(case, frames, fps)
    audio = np.asarray(audio, np.float32)
    n = overlap_frames(case, len(frames), fps)
    k = case.condition_frames
    if n <= k:
        raise ValueError(
            f"the clip lasts {len(frames) / fps:.3f} s, no longer than the {k} conditioning "
            "frames: nothing to judge"
        )
    flags = _length_flags(case, frames, fps, audio, n)
    if n < case.num_frames:  # hold the last frame, at the clip's own rate, to the case's end
        needed = int(np.ceil(case.num_frames / case.fps * fps))
        frames = np.concatenate([frames, np.repeat(frames[-1:], needed - len(frames), axis=0)])
    at_case = _at_case_times(frames, fps, case)  # [T, H, W, 3]
    metrics, details, tracks = measure_arrays(case, frames, fps, audio)
    if case.reference is not None:
        reference = Reference.from_json(case.reference)
    else:  # a case built in memory: measure its references now
        from worldsim.bench.reference import reference_for

        reference = reference_for(case, case.truth_video)
    scored = case_score(metric_points(metrics), reference)
    details |= {"roles": scored.roles, "values": scored.values}
    result = CaseResult(
        case.case_id,
        case.family,
        case.split_tag,
        case.conflict,
        "scored",
        scored.overall,
        scored.groups,
        metrics,
        details,
        tracks=tracks,
        flags=flags,
        judged_frames=n,
    )
    truth = _truth_frames(case) if truth_frames is None else truth_frames
    result.physics_iq = physics_iq.measures(at_case, truth, k)
    variance = case.physics_iq_variance
    if variance is None:
        from worldsim.bench.reference import physical_variance

        variance = physical_variance(case, case.truth_video)
    result.details["physics_iq_variance"] = variance
    return result


def _truth_frames(case: Case) -> np.ndarray:
    if case.truth_video is not None:
        from worldsim.media.video_io import read_video

        return read_video(case.truth_video, size=(case.height, case.width))[0]
    from worldsim.bench.cases import truth_clip

    return truth_clip(case).video


def score_file(path: str | os.PathLike, case: Case, fit: str = "stretch") -> CaseResult:
    frames, fps, audio = read_clip(path, case, fit)
    result = score_arrays(case, frames, fps, audio)
    result.video = os.fspath(path)
    return result


def _score_one(job: tuple[str, str, str, str]) -> CaseResult:
    """One case of a folder (a module-level function: it runs in worker processes)."""
    from worldsim.media.video_io import MediaError

    truth_dir, case_id, path, fit = job
    case = load_case(truth_dir, case_id)
    base = dict(
        case_id=case.case_id,
        family=case.family,
        split_tag=case.split_tag,
        conflict=case.conflict,
        # A clip that is not scored counts as the worst clip in the Physics-IQ measures too.
        physics_iq=dict(physics_iq.WORST),
        details={"physics_iq_variance": case.physics_iq_variance},
    )
    if not Path(path).is_file():
        return CaseResult(**base, status="missing")
    try:
        return score_file(path, case, fit)
    except MediaError as error:
        return CaseResult(**base, status="unreadable", error=error.reason, video=path)
    except Exception as error:  # noqa: BLE001 - one odd clip must not sink the run
        return CaseResult(**base, status="error", error=f"{type(error).__name__}: {error}", video=path)  # fmt: skip


def check_folder(cases_dir, truth_dir, videos_dir) -> tuple[list[str], list[str]]:
    """(case ids, names in CLIPS that are no case's clip), after checking, before any work,
    that CASES and TRUTH are one export with every truth file there and that CLIPS holds
    at least one case's clip."""
    from worldsim.bench.errors import BenchError

    videos_dir, truth_dir = Path(videos_dir), Path(truth_dir)
    if not videos_dir.is_dir():
        raise BenchError(f"--videos-dir {videos_dir}: no such folder")
    manifest = check_same_export(cases_dir, truth_dir)
    ids = [entry["id"] for entry in manifest["cases"]]
    lost = [i for i in ids if not (truth_dir / f"{i}.json").is_file()]
    if lost:
        raise BenchError(
            f"--truth-dir {truth_dir}: {len(lost)} case(s) of its manifest have no truth "
            f"file, e.g. {lost[0]}.json"
        )
    for i in ids:
        found = json.loads((truth_dir / f"{i}.json").read_text()).get("export_id")
        if found != manifest["export_id"]:
            raise BenchError(
                f"--truth-dir {truth_dir}: {i}.json is from export {found}, its manifest from "
                f"{manifest['export_id']}"
            )
    expected = {f"{i}.mp4" for i in ids}
    names = [p.name for p in videos_dir.iterdir() if p.is_file() and not p.name.startswith(".")]
    if not expected & set(names):
        raise BenchError(
            f"--videos-dir {videos_dir}: no clip named after a case (expected <id>.mp4, "
            f"e.g. {ids[0]}.mp4)"
        )
    return ids, sorted(n for n in names if n not in expected)


def score_folder(
    cases_dir: str | os.PathLike,
    truth_dir: str | os.PathLike,
    videos_dir: str | os.PathLike,
    *,
    fit: str = "stretch",
    workers: int = 1,
    progress: bool = True,
) -> tuple[list[CaseResult], dict]:
    """Score every case against VIDEOS/<id>.mp4; missing, unreadable and failing clips are
    counted (and score 0), never a crash. Returns (results, timing); timing["unmatched"]
    lists the files of VIDEOS that are no case's clip."""
    from worldsim.bench.parallel import parallel_map

    ids, unmatched = check_folder(cases_dir, truth_dir, videos_dir)
    videos_dir = Path(videos_dir)
    jobs = [(os.fspath(truth_dir), i, os.fspath(videos_dir / f"{i}.mp4"), fit) for i in ids]
    start = time.perf_counter()
    results = list(
        parallel_map(
            _score_one, jobs, workers=workers, desc="score", unit="clip", progress=progress
        )
    )
    seconds = time.perf_counter() - start
    timing = {
        "seconds": seconds,
        "clips_per_second": len(results) / seconds if seconds else None,
        "workers": min(workers, len(jobs)),
        "unmatched": unmatched,
    }
    return results, timing


def score_calibration_case(job: tuple[str, str, str]) -> dict:
    """Every calibration clip of one case (truth_dir, case_id, work folder), scored through
    mp4 as `bench score` scores: {"case", "family", "moves", "clips": name -> numbers}.
    Module level, so that it runs in worker processes (parallel.parallel_map)."""
    from worldsim.bench import calibrate

    truth_dir, case_id, work = job
    case = load_case(truth_dir, case_id)
    out = {}
    for name, path in calibrate.calibration_clips(case, work, case.truth_video).items():
        r = score_file(path, case)
        out[name] = {
            "score": r.score,
            "groups": r.groups,
            "metrics": r.metrics,
            "physics_iq": r.physics_iq,
            "variance": r.details["physics_iq_variance"],
        }
    return {"case": case_id, "family": case.family, "moves": calibrate.moves(case), "clips": out}
