"""A case's yardsticks, measured at export: the simulator's clip and the trivial continuations.

score.py puts 100 at the simulator's own clip and 0 at the best trivial continuation of
the same case. Both are measured here exactly as a submission is: each clip is written
as mp4 (H.264 + AAC), decoded, tracked and measured by scoring.measure_file, and its
points per metric are kept (`Reference`).

The physical variance of the Physics-IQ-style measures (physics_iq.py) is measured here
too: the same scene drawn by the simulator at SECOND_TAKE_SIZE, written as mp4 and read
back at the case's size, against the case's clip.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from worldsim.bench import physics_iq
from worldsim.bench.calibrate import BASELINES, baseline, rerender
from worldsim.bench.measure import measure_file
from worldsim.bench.score import Reference, metric_points
from worldsim.bench.truth import Case

SECOND_TAKE_SIZE = (128, 128)  # (height, width) the second take is drawn at


def _points_of(case: Case, video: np.ndarray, audio: np.ndarray, work: Path, name: str):
    from worldsim.media.video_io import write_mp4

    path = write_mp4(work / f"{name}.mp4", video, audio, case.fps, case.sample_rate)
    return metric_points(measure_file(path, case))


def reference_for(case: Case, truth_video: str | Path | None) -> Reference:
    """Points of the simulator's clip (`truth_video`, an mp4; None: drawn again and written
    here) and of every trivial continuation of `case`."""
    from worldsim.bench.cases import truth_clip
    from worldsim.media.video_io import write_mp4

    with tempfile.TemporaryDirectory() as tmp:
        if truth_video is None:
            clip = truth_clip(case)
            truth_video = write_mp4(
                Path(tmp) / "truth.mp4", clip.video, clip.audio, case.fps, case.sample_rate
            )
        ceiling = metric_points(measure_file(truth_video, case))
        trivial = {
            kind: _points_of(case, *baseline(case, kind), Path(tmp), kind) for kind in BASELINES
        }
    return Reference(ceiling, trivial)


def physical_variance(case: Case, truth_video: str | Path | None) -> dict[str, float]:
    """Physics-IQ measures between the case's clip (`truth_video`, an mp4; None: drawn
    again) and a second take of the same scene."""
    from worldsim.bench.cases import truth_clip
    from worldsim.media.video_io import read_video, write_mp4

    video, audio = rerender(case, size=SECOND_TAKE_SIZE, fps=case.fps)
    with tempfile.TemporaryDirectory() as tmp:
        if truth_video is None:
            clip = truth_clip(case)
            truth_video = write_mp4(
                Path(tmp) / "truth.mp4", clip.video, clip.audio, case.fps, case.sample_rate
            )
        truth, _ = read_video(truth_video, size=(case.height, case.width))
        path = write_mp4(Path(tmp) / "take2.mp4", video, audio, case.fps, case.sample_rate)
        # Area resampling to the case's size: what the scorer does to any clip.
        second, _ = read_video(path, size=(case.height, case.width), fit="stretch")
    n = min(len(truth), len(second))
    return physics_iq.measures(second[:n], truth[:n], case.condition_frames)
