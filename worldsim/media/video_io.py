"""mp4 + audio read/write through the ffmpeg that ships inside imageio-ffmpeg.

Why a subprocess and not a Python codec binding: the bundled static ffmpeg (libx264 + aac) is
the one media dependency that installs everywhere from a wheel, and piping raw rgb24 / f32le
through it keeps every pixel and sample under our control (no hidden colour or rate changes).

Conventions: video is uint8 [T, H, W, 3] RGB; audio is float32 mono [S] in [-1, 1]; sizes are
given as (height, width) like array shapes, never ffmpeg's (width, height).
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Literal

import numpy as np

from worldsim.fileio import atomic_path

PathLike = str | os.PathLike

# x264 quality: 0 is lossless, 18 is "visually lossless"; 15 keeps tiny renders crisp.
_CRF = 15
# AAC at 16 kHz mono: ffmpeg's native encoder low-passes by bitrate; 128k keeps the band to
# Nyquist (measured in tests: a 7 kHz tone survives), and `-cutoff` makes that explicit.
_AUDIO_BITRATE = "128k"


class MediaError(RuntimeError):
    """A media file that ffmpeg cannot read or write; carries the path and a short reason."""

    def __init__(self, path: PathLike, reason: str) -> None:
        super().__init__(f"{os.fspath(path)}: {reason}")
        self.path = os.fspath(path)
        self.reason = reason


@functools.cache
def ffmpeg_exe() -> str:
    """Path of the static ffmpeg bundled with imageio-ffmpeg."""
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def _run(args: list[str], path: PathLike, *, stdin: bytes | None = None) -> bytes:
    """Run ffmpeg, return stdout; a failure becomes MediaError with ffmpeg's last words."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", *args]
    if stdin is not None:
        cmd.remove("-nostdin")
    proc = subprocess.run(cmd, input=stdin, capture_output=True, check=False)
    if proc.returncode != 0:
        tail = proc.stderr.decode(errors="replace").strip().splitlines()[-3:]
        raise MediaError(path, "ffmpeg failed: " + (" | ".join(tail) or f"exit {proc.returncode}"))
    return proc.stdout


# ----------------------------------------------------------------------------- probe


def probe(path: PathLike) -> dict:
    """Container facts: duration (s), fps, width, height (as displayed), has_audio, has_video.

    Parsed from `ffmpeg -i` (no ffprobe in the bundle). Width/height account for a rotation
    side-data matrix, since ffmpeg auto-rotates when decoding.
    """
    path = Path(path)
    if not path.is_file():
        raise MediaError(path, "no such file")
    proc = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", os.fspath(path)],
        capture_output=True,
        check=False,
    )
    text = proc.stderr.decode(errors="replace")
    streams = [ln for ln in text.splitlines() if re.match(r"\s*Stream #\d+:\d+", ln)]
    if not streams:
        last = text.strip().splitlines()[-1] if text.strip() else "no streams"
        raise MediaError(path, f"not a readable media file ({last})")
    info: dict = {"duration": None, "fps": None, "width": None, "height": None}
    info["has_video"] = any(": Video:" in s for s in streams)
    info["has_audio"] = any(": Audio:" in s for s in streams)
    if m := re.search(r"Duration: (\d+):(\d+):(\d+(?:\.\d+)?)", text):
        h, mnt, s = m.groups()
        info["duration"] = int(h) * 3600 + int(mnt) * 60 + float(s)
    video = next((s for s in streams if ": Video:" in s), None)
    if video is not None:
        if m := re.search(r", (\d{1,5})x(\d{1,5})", video):
            info["width"], info["height"] = int(m.group(1)), int(m.group(2))
        if m := re.search(r"([\d.]+)(k?) fps", video) or re.search(r"([\d.]+)(k?) tbr", video):
            info["fps"] = float(m.group(1)) * (1000.0 if m.group(2) else 1.0)
        if m := re.search(r"rotation of (-?[\d.]+) degrees", text):
            if round(abs(float(m.group(1)))) % 180 == 90 and info["width"] is not None:
                info["width"], info["height"] = info["height"], info["width"]
    return info


# ----------------------------------------------------------------------------- write


def _scratch_file(path: Path, suffix: str) -> Path:
    """A private scratch file beside `path` for ffmpeg to read; removed after use, never an
    output (outputs go through worldsim.fileio.atomic_path, which respects the umask)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    return Path(tmp)


def write_mp4(
    path: PathLike,
    video: np.ndarray,
    audio: np.ndarray | None,
    fps: int,
    sample_rate: int = 16_000,
) -> Path:
    """Write uint8 [T, H, W, 3] frames (+ optional mono float32 [S] audio) as H.264/AAC mp4.

    yuv420p (what every player decodes) needs even sizes: an odd H or W is padded by
    repeating the last row/column, so the file is at most one pixel larger. Atomic: the
    file appears complete or not at all.
    """
    path = Path(path)
    video = np.asarray(video)
    if video.ndim != 4 or video.shape[-1] != 3 or video.shape[0] == 0:
        raise ValueError(f"video must be [T>0, H, W, 3], got {video.shape}")
    if video.dtype != np.uint8:
        raise ValueError(f"video must be uint8, got {video.dtype}")
    t, h, w, _ = video.shape
    if h % 2 or w % 2:
        video = np.pad(video, ((0, 0), (0, h % 2), (0, w % 2), (0, 0)), mode="edge")
        h, w = h + h % 2, w + w % 2
    audio_tmp: Path | None = None
    try:
        with atomic_path(path, ".mp4") as tmp:
            args = ["-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-r", str(fps)]
            args += ["-i", "pipe:0"]
            if audio is not None and len(audio) > 0:
                audio_tmp = _scratch_file(path, ".f32")
                clipped = np.clip(np.asarray(audio, np.float32).reshape(-1), -1.0, 1.0)
                audio_tmp.write_bytes(clipped.astype("<f4").tobytes())
                args += ["-f", "f32le", "-ar", str(sample_rate), "-ac", "1"]
                args += ["-i", os.fspath(audio_tmp)]
                args += ["-c:a", "aac", "-b:a", _AUDIO_BITRATE, "-cutoff", str(sample_rate // 2)]
            args += ["-c:v", "libx264", "-preset", "medium", "-crf", str(_CRF)]
            args += ["-pix_fmt", "yuv420p", "-movflags", "+faststart", "-f", "mp4", os.fspath(tmp)]
            _run(args, path, stdin=np.ascontiguousarray(video).tobytes())
    finally:
        if audio_tmp is not None:
            audio_tmp.unlink(missing_ok=True)
    return path


def encode_png(image: np.ndarray) -> bytes:
    """The PNG bytes of a uint8 [H, W, 3] (or [H, W]) image (for a page's data URI)."""
    import imageio.v3 as iio

    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise ValueError(f"image must be uint8, got {image.dtype}")
    return iio.imwrite("<bytes>", image, extension=".png")


def write_png(path: PathLike, image: np.ndarray) -> Path:
    """Write a uint8 [H, W, 3] (or [H, W]) image as PNG, atomically."""
    path = Path(path)
    data = encode_png(image)
    with atomic_path(path, ".png") as tmp:
        tmp.write_bytes(data)
    return path


def transcode(
    src: PathLike, dst: PathLike, *, size: tuple[int, int], fps: float, crf: int = 18
) -> Path:
    """Re-encode a clip at another (height, width) and frame rate, atomically.

    The conversion a clip made at another format usually goes through: bicubic scaling,
    ffmpeg's `fps=` resampling (drops or repeats frames, no blending), H.264 (yuv420p) at
    `crf` and AAC sound. The benchmark's calibration uses it to show that scores do not
    depend on a model's output format.
    """
    dst = Path(dst)
    h, w = size
    args = ["-y", "-i", os.fspath(src), "-vf", f"scale={w}:{h}:flags=bicubic,fps={fps}"]
    args += ["-c:v", "libx264", "-crf", str(crf), "-pix_fmt", "yuv420p"]
    args += ["-c:a", "aac", "-b:a", "128k"]
    with atomic_path(dst, ".mp4") as tmp:
        _run(args + ["-f", "mp4", os.fspath(tmp)], dst)
    return dst


# ----------------------------------------------------------------------------- read


def _video_filter(
    src_hw: tuple[int, int], size: tuple[int, int] | None, fps: float | None, fit: str
) -> tuple[str, tuple[int, int]]:
    """ffmpeg -vf chain for fps resampling + resize, and the output (H, W)."""
    filters = []
    if fps is not None:
        filters.append(f"fps={fps}")
    if size is None:
        out = src_hw
    else:
        out = (int(size[0]), int(size[1]))
        oh, ow = out
        if fit == "crop":  # cover the target box, then centre-crop: no distortion
            filters.append(
                f"scale=w='max({ow},ceil(iw*{oh}/ih))':h='max({oh},ceil(ih*{ow}/iw))'"
                ":flags=area+accurate_rnd"
            )
            filters.append(f"crop={ow}:{oh}")
        elif fit == "stretch":
            filters.append(f"scale={ow}:{oh}:flags=area+accurate_rnd")
        else:
            raise ValueError(f"fit must be 'crop' or 'stretch', got {fit!r}")
        filters.append("setsar=1")
    return ",".join(filters), out


def read_video(
    path: PathLike,
    *,
    size: tuple[int, int] | None = None,
    fps: float | None = None,
    max_seconds: float | None = None,
    fit: Literal["crop", "stretch"] = "crop",
) -> tuple[np.ndarray, float]:
    """Decode to uint8 [T, H, W, 3] RGB and the frame rate of the returned frames.

    size: (height, width) of the output; `fit="crop"` scales to cover and centre-crops
    (keeps the aspect ratio, so motion is not distorted), "stretch" scales to exactly size.
    fps: resample the frame rate (ffmpeg `fps=` drops/duplicates frames, no blending).
    max_seconds: decode only the first seconds.
    """
    info = probe(path)
    if not info["has_video"] or info["width"] is None:
        raise MediaError(path, "no video stream")
    vf, (oh, ow) = _video_filter((info["height"], info["width"]), size, fps, fit)
    args = []
    if max_seconds is not None:
        args += ["-t", f"{float(max_seconds):.6f}"]
    args += ["-i", os.fspath(path), "-map", "0:v:0", "-an", "-sn"]
    if vf:
        args += ["-vf", vf]
    args += ["-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"]
    raw = _run(args, path)
    frame_bytes = oh * ow * 3
    if len(raw) == 0 or len(raw) % frame_bytes:
        raise MediaError(path, f"decoded {len(raw)} bytes, not a whole number of {ow}x{oh} frames")
    frames = np.frombuffer(raw, np.uint8).reshape(-1, oh, ow, 3)  # [T, H, W, 3]
    out_fps = float(fps) if fps is not None else float(info["fps"] or 0.0)
    return frames, out_fps


def read_audio(path: PathLike, *, sample_rate: int, max_seconds: float | None = None) -> np.ndarray:
    """Decode the first audio stream to mono float32 [S] at `sample_rate`.

    A file without an audio stream gives a zero-length array (the caller decides how much
    silence it needs); an unreadable file raises MediaError.
    """
    info = probe(path)
    if not info["has_audio"]:
        return np.zeros((0,), np.float32)
    args = []
    if max_seconds is not None:
        args += ["-t", f"{float(max_seconds):.6f}"]
    args += ["-i", os.fspath(path), "-map", "0:a:0", "-vn", "-sn"]
    args += ["-ac", "1", "-ar", str(int(sample_rate)), "-f", "f32le", "pipe:1"]
    raw = _run(args, path)
    return np.frombuffer(raw[: len(raw) // 4 * 4], "<f4").astype(np.float32)  # [S]
