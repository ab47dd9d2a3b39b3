"""The perceptual fingerprint: re-encoded, resized and trimmed copies of a simulator clip are
found; different simulator clips (which all look alike) are not; blobs round-trip.

The rates test runs `measure` (benchmarks/provenance_rates.py) on the fixture's clips, or with
WORLDSIM_FP_NUM_CLIPS=N on N in-range clips and a tenth more out of range (seed 1); `-s` prints
its table. The measurement quoted in worldsim/provenance/fingerprint.py is the benchmark's:

    .venv/bin/python benchmarks/provenance_rates.py --num-clips 20 --seed 0
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from benchmarks.provenance_rates import fingerprint_table, measure, write_clips
from worldsim.media.video_io import read_video, write_mp4
from worldsim.provenance.fingerprint import (
    FPS,
    MATCH_THRESHOLD,
    MIN_OVERLAP_FRAMES,
    SIZE,
    Fingerprint,
    fingerprint_clip,
    fingerprint_frames,
    matches,
    similarity,
)

MARGIN = 0.1  # the threshold must sit this far from both measured sides
NUM_CLIPS = int(os.environ.get("WORLDSIM_FP_NUM_CLIPS", "0"))  # 0: the fixture's 22 clips


@pytest.fixture(scope="module")
def clips(request, tmp_path_factory) -> list[Path]:
    out = tmp_path_factory.mktemp("fp_clips")
    if not NUM_CLIPS:
        return write_clips(request.getfixturevalue("data_dir"), out)
    from data_pipelines import build_physics_clips

    build_physics_clips(out / "data", num_clips=NUM_CLIPS, seed=1)
    return write_clips(out / "data", out)


def test_rates_copies_found_different_clips_not(clips, tmp_path):
    result = measure(clips, tmp_path)
    false = result["false"]
    print("\n" + "\n".join(fingerprint_table(result, clips)))
    for name, sims in result["true"].items():
        assert sims.min() >= MATCH_THRESHOLD, (name, sims.min())
    if NUM_CLIPS:  # many clips: same-scene near duplicates occur (see fingerprint.py)
        assert np.mean(false >= MATCH_THRESHOLD) <= 0.01
    else:  # the fixture's clips: the threshold clears both sides by MARGIN
        for name, sims in result["true"].items():
            assert sims.min() >= MATCH_THRESHOLD + MARGIN, (name, sims.min())
        assert false.max() <= MATCH_THRESHOLD - MARGIN, false.max()


@pytest.fixture(scope="module")
def one_clip(clips) -> tuple[Path, np.ndarray]:
    """The first clip (its balls move, then settle) and its frames at the fingerprint's format."""
    clip = clips[0]
    frames, _ = read_video(clip, size=(SIZE, SIZE), fps=FPS, fit="stretch")
    return clip, frames


def test_fingerprint_of_a_file_is_its_frames_fingerprint(one_clip):
    clip, frames = one_clip
    assert fingerprint_clip(clip) == fingerprint_frames(frames)
    assert similarity(fingerprint_clip(clip), fingerprint_frames(frames)) == 1.0


def test_bytes_round_trip_and_bad_blobs_are_refused(one_clip):
    frames = np.concatenate([np.zeros_like(one_clip[1][:3]), one_clip[1]])  # a fade-in
    fp = fingerprint_frames(frames)
    assert fp.blank.sum() == 3
    blob = fp.to_bytes()
    assert isinstance(blob, bytes) and Fingerprint.from_bytes(blob) == fp
    assert Fingerprint.from_bytes(blob) != fingerprint_frames(one_clip[1][::-1])
    for bad in (b"", blob[:-1], blob + b"\0", b"XXXX" + blob[4:]):
        with pytest.raises(ValueError):
            Fingerprint.from_bytes(bad)


def test_order_matters_a_reversed_clip_is_not_a_copy(one_clip):
    frames = one_clip[1]
    fp = fingerprint_frames(frames)
    assert similarity(fingerprint_frames(frames[::-1]), fp) < MATCH_THRESHOLD


def test_a_few_frames_cannot_score_a_full_match(one_clip):
    frames = one_clip[1]
    fp = fingerprint_frames(frames)
    few = fingerprint_frames(frames[10:13])
    assert similarity(few, fp) == pytest.approx(3 / MIN_OVERLAP_FRAMES)
    assert similarity(fingerprint_frames(frames[4 : 4 + MIN_OVERLAP_FRAMES]), fp) == 1.0


def test_blank_frames_never_match(tmp_path):
    black = np.zeros((24, SIZE, SIZE, 3), np.uint8)
    grey = np.full((24, SIZE, SIZE, 3), 128, np.uint8)
    assert fingerprint_frames(black).blank.all()
    assert similarity(fingerprint_frames(black), fingerprint_frames(black)) == 0.0
    assert not matches(fingerprint_frames(grey), fingerprint_frames(black))
    path = write_mp4(tmp_path / "black.mp4", np.zeros((16, 64, 64, 3), np.uint8), None, 16)
    assert similarity(fingerprint_clip(path), fingerprint_clip(path)) == 0.0
