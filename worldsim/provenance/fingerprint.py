"""A perceptual video fingerprint: does this clip show the same footage as that one?

    fp = fingerprint_clip("cameo.mp4")             # decode at 32x32, 16 fps; hash each frame
    similarity(fingerprint_clip("copy.mp4"), fp)   # share of the copy's frames found, in order
    matches(a, b)                                  # similarity >= MATCH_THRESHOLD

Why not a byte hash: the likeness registry must recognise a revoked subject's clip after it
was re-encoded, resized, re-timed or trimmed, and every such conversion changes every byte.

The hash. Each frame is decoded at a fixed 32x32 (stretched, so an aspect change does not
matter) and 16 fps, turned to luma (BT.601), and given a DCT perceptual hash (pHash; Zauner,
"Implementation and benchmarking of perceptual image hash functions", 2010): the 2-D DCT-II
of the 32x32 image, its lowest 16x16 frequencies without the DC term (255 coefficients), one
bit per coefficient: above their median or not. The classic pHash keeps 8x8 frequencies
(63 bits); that is too coarse for this data: the simulator's clips are plain backgrounds with
small balls, and 8x8 frequencies see the walls and the floor but hardly where a 3-pixel ball
is. Measured on the fixture's clips below, in the same sequence comparison: with 8x8
frequencies a trimmed bounce clip matched another bounce clip at 0.62 while the worst true
copy scored 0.88 (6-bit frame distance), and at 9 bits a trimmed ramp clip matched another
ramp clip at 1.0; with 16x16 frequencies the largest different-clip similarity is 0.31. They
resolve a ball to a couple of pixels at 32x32 and still ignore what encoders change (noise,
ringing, chroma).

The comparison is a sequence, not a set: the motion is what tells two scenes apart. A query
frame is found when a frame of the registered clip within one frame (SLACK_FRAMES) of a
common offset is within FRAME_DISTANCE bits of it; the offset is searched over every shift,
so a trimmed copy (any start, any length) aligns, and the one-frame slack absorbs what fps
resampling drops or repeats. similarity() is the largest share of found frames over the
overlap of the two clips (at least MIN_OVERLAP_FRAMES, so a handful of frames cannot score
1.0). Blank frames (no contrast: a fade from black) are never found, on either side, since
every blank frame hashes alike.

Measured with FRAME_DISTANCE 36 of 255 bits and MATCH_THRESHOLD 0.6 by
`python benchmarks/provenance_rates.py --num-clips 20 --seed 0` (`measure`), on the 22 clips
of the test fixture `data_dir` (20 in-range + 2 out-of-range simulated clips, seed 0, each
written as mp4 by `worldsim data show`'s show_example):
- true copies, each clip's copy found (rate 1.00 for all 22), worst similarity: re-encoded
  (64x64, crf 35) 0.94, resized (32x32, 12 fps) 0.97, trimmed (first and last 25% cut,
  crf 23) 1.00;
- different clips: 0 of 1848 (query, clip) pairs matched (each clip and its three copies
  against every other clip; 0 of 231 clip pairs), largest similarity 0.31, 99th percentile
  0.14. The threshold clears both sides by more than 0.25.
With `--num-clips 100 --seed 1` (110 clips): true rate 1.00 for all three copies (worst
0.88, 0.97, 0.88); 111 of 47960 (query, clip) pairs matched (0.23%; 24 of 5995 clip pairs,
0.40%), 99th percentile 0.19. Those 24 are same-family near duplicates (11 ramp, 5 bounce,
4 tower, 3 hoop, 1 throw pairs), such as a red ball and a red box sliding down ramps of 30.6
and 30.8 degrees, two unmoving boxes on ramps 3 degrees apart, two three-block towers that
stand after a nudge. Those looked at differ by a median 12 to 42 bits per aligned frame, as
much as a crf-35 copy differs from its own original (median 10, 90th percentile 20, 99th 34):
a fingerprint that must find such copies cannot tell these apart by their 32x32 frames, and
colour would not help (their objects have the same colours). The frame distance sits at
the knee on the 110 clips: 36 bits, 24 such pairs and 1 of 110 crf-40 copies missed; 30 bits,
14 pairs but 6% of crf-40 copies missed; 45 bits, no crf-40 copy missed but 35 pairs. Harsher
copies of the 22 clips, checked by hand: crf 40 worst 0.72, 40 kb/s 0.97, resized to 32x32
and then trimmed (two lossy generations) 0.62, the nearest to the threshold.

What it cannot do: find a subject inside other footage (a crop, a picture-in-picture, a
mirrored copy, a clip shorter than half a second against a longer one); it recognises copies
of the same footage, which is what a revoked cameo clip reused as a reference would be.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass

import numpy as np
from scipy.fft import dctn

FPS = 16  # frames per second every clip is decoded at (the simulator's rate)
SIZE = 32  # frames are decoded at SIZE x SIZE
BLOCK = 16  # lowest BLOCK x BLOCK DCT frequencies, DC dropped: 255 bits a frame
FRAME_DISTANCE = 36  # largest Hamming distance (of 255 bits) between two frames that match
SLACK_FRAMES = 1  # a query frame may match one frame early or late (fps resampling)
MIN_OVERLAP_FRAMES = 8  # half a second: the smallest denominator of the found share
MATCH_THRESHOLD = 0.6  # similarity at or above which two clips are the same footage
MAX_SECONDS = 120.0  # a longer clip is fingerprinted on its first two minutes
BLANK_STD = 2.0 / 255.0  # a frame whose luma varies less than this has no content to hash

_MAGIC = b"WSFP"
_VERSION = 1
_HEADER = struct.Struct("<4sBBHI")  # magic, version, fps, bytes per frame, frames
_FRAME_BYTES = (BLOCK * BLOCK) // 8  # 255 bits and one zero pad bit
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)
_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], np.uint8)


@dataclass(frozen=True, eq=False)
class Fingerprint:
    """Per-frame hashes of one clip at FPS frames per second.

    hashes: uint8 [T, 32], each row a frame's 255-bit pHash packed big-endian (the last bit
    is always 0); blank: bool [T], frames with no contrast (they never match).
    """

    hashes: np.ndarray
    blank: np.ndarray
    fps: int = FPS

    def __post_init__(self) -> None:
        if self.hashes.ndim != 2 or self.hashes.shape[1] != _FRAME_BYTES:
            raise ValueError(f"hashes must be [T, {_FRAME_BYTES}], got {self.hashes.shape}")
        if self.blank.shape != (self.hashes.shape[0],):
            raise ValueError(f"blank must be [{self.hashes.shape[0]}], got {self.blank.shape}")

    def __len__(self) -> int:
        return int(self.hashes.shape[0])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Fingerprint):
            return NotImplemented
        return (
            self.fps == other.fps
            and np.array_equal(self.hashes, other.hashes)
            and np.array_equal(self.blank, other.blank)
        )

    def to_bytes(self) -> bytes:
        """A versioned blob for the registry's SQLite column (33 bytes a frame + 12)."""
        header = _HEADER.pack(_MAGIC, _VERSION, self.fps, _FRAME_BYTES, len(self))
        hashes = np.ascontiguousarray(self.hashes, np.uint8).tobytes()
        return header + hashes + np.packbits(self.blank.astype(bool)).tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> Fingerprint:
        """The inverse of to_bytes; ValueError for a blob of another format or version."""
        if len(data) < _HEADER.size:
            raise ValueError(f"fingerprint blob too short ({len(data)} bytes)")
        magic, version, fps, frame_bytes, frames = _HEADER.unpack_from(data)
        if magic != _MAGIC or version != _VERSION or frame_bytes != _FRAME_BYTES:
            raise ValueError(f"not a version-{_VERSION} fingerprint blob ({magic!r} v{version})")
        end = _HEADER.size + frames * frame_bytes
        if len(data) != end + (frames + 7) // 8:
            raise ValueError(f"fingerprint blob of {len(data)} bytes does not hold {frames} frames")
        hashes = np.frombuffer(data, np.uint8, frames * frame_bytes, _HEADER.size)
        blank = np.unpackbits(np.frombuffer(data, np.uint8, offset=end))[:frames].astype(bool)
        return cls(hashes.reshape(frames, frame_bytes).copy(), blank, int(fps))


def frame_hashes(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(packed pHashes uint8 [T, 32], blank bool [T]) of uint8 [T, SIZE, SIZE, 3] frames."""
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[1:] != (SIZE, SIZE, 3):
        raise ValueError(f"frames must be [T, {SIZE}, {SIZE}, 3], got {frames.shape}")
    luma = (frames.astype(np.float32) / 255.0) @ _LUMA  # [T, H, W]
    coeffs = dctn(luma, type=2, norm="ortho", axes=(1, 2))[:, :BLOCK, :BLOCK]
    coeffs = coeffs.reshape(len(frames), -1)[:, 1:]  # [T, 255], DC dropped
    bits = coeffs > np.median(coeffs, axis=1, keepdims=True)  # [T, 255]
    bits = np.pad(bits, ((0, 0), (0, 1)))  # [T, 256]
    blank = luma.reshape(len(frames), -1).std(axis=1) < BLANK_STD  # [T]
    return np.packbits(bits, axis=1), blank


def fingerprint_frames(frames: np.ndarray) -> Fingerprint:
    """The fingerprint of frames already decoded at FPS and SIZE x SIZE."""
    hashes, blank = frame_hashes(frames)
    return Fingerprint(hashes, blank)


def fingerprint_clip(path: str | os.PathLike) -> Fingerprint:
    """Decode a clip at FPS and SIZE x SIZE (its first MAX_SECONDS) and fingerprint it.

    Raises worldsim.media.video_io.MediaError when the file is not a readable video.
    """
    from worldsim.media.video_io import read_video

    frames, _ = read_video(path, size=(SIZE, SIZE), fps=FPS, max_seconds=MAX_SECONDS, fit="stretch")
    return fingerprint_frames(frames)


def frame_distances(a: Fingerprint, b: Fingerprint) -> np.ndarray:
    """Hamming distances int [len(a), len(b)] between every frame of a and every frame of b."""
    xor = a.hashes[:, None, :] ^ b.hashes[None, :, :]  # [Ta, Tb, 32]
    return _POPCOUNT[xor].sum(axis=-1, dtype=np.int32)


def similarity(query: Fingerprint, registered: Fingerprint) -> float:
    """The largest share of the query's frames found in the registered clip, in order.

    In [0, 1]; 1.0 when every frame of the shorter clip (of at least MIN_OVERLAP_FRAMES)
    has a match at one common offset (give or take SLACK_FRAMES).
    """
    if query.fps != registered.fps:
        raise ValueError(f"fingerprints at {query.fps} and {registered.fps} fps do not compare")
    n, m = len(query), len(registered)
    if n == 0 or m == 0:
        return 0.0
    near = frame_distances(query, registered) <= FRAME_DISTANCE  # [n, m]
    near &= ~query.blank[:, None] & ~registered.blank[None, :]
    padded = np.pad(near, ((0, 0), (SLACK_FRAMES, SLACK_FRAMES)))
    near = np.logical_or.reduce([padded[:, s : s + m] for s in range(2 * SLACK_FRAMES + 1)])
    found = max(int(np.trace(near, offset=k)) for k in range(-n + 1, m))
    content = min(int((~query.blank).sum()), int((~registered.blank).sum()))
    return min(1.0, found / max(content, MIN_OVERLAP_FRAMES, 1))


def matches(query: Fingerprint, registered: Fingerprint) -> bool:
    """Whether the query shows the registered clip's footage (similarity >= MATCH_THRESHOLD)."""
    return similarity(query, registered) >= MATCH_THRESHOLD
