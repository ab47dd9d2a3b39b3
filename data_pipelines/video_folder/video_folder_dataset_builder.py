"""`video_folder`: a user's folder of videos (+ captions) as clip records.

Real footage enters training through the same schema as simulated clips: frames resized
(centre-crop, no distortion) and resampled to the configured fps, audio resampled to the
configured rate (silence where the file has none), cut into windows of the configured length.
Physics fields stay empty: nothing is invented for footage we did not simulate.

A file ffmpeg cannot read is skipped and counted, never fatal: one bad file in a folder of
thousands should not stop an import.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import tensorflow_datasets as tfds
from etils import epath

from data_pipelines import catalog
from data_pipelines.features import clip_features, clip_to_example
from worldsim.console import progress
from worldsim.media import MediaError, probe, read_audio, read_video
from worldsim.physics.types import Clip, RenderConfig

VIDEO_EXTENSIONS = (".mp4", ".mov", ".webm", ".mkv", ".avi", ".m4v")
CAPTIONS_CSV = "captions.csv"
_DEFAULT_RENDER = RenderConfig()
log = logging.getLogger(__name__)


def list_videos(src: Path) -> list[str]:
    """Relative posix paths of the videos under `src` (recursive, sorted, hidden files skipped)."""
    found = []
    for path in src.rglob("*"):
        rel = path.relative_to(src)
        if path.suffix.lower() in VIDEO_EXTENSIONS and path.is_file():
            if not any(part.startswith(".") for part in rel.parts):
                found.append(rel.as_posix())
    return sorted(found)


def load_captions(src: Path, videos: list[str]) -> dict[str, str]:
    """Caption per video: sidecar `NAME.txt` first, else `captions.csv` (file,caption), else "".

    The csv `file` column may hold the path relative to `src` or just the file name.
    """
    table: dict[str, str] = {}
    csv_path = src / CAPTIONS_CSV
    if csv_path.is_file():
        with csv_path.open(newline="", encoding="utf-8-sig") as f:
            for row in csv.DictReader(f):
                name = (row.get("file") or "").strip().replace("\\", "/")
                if name:
                    table[name] = (row.get("caption") or "").strip()
    captions = {}
    for rel in videos:
        sidecar = (src / rel).with_suffix(".txt")
        if sidecar.is_file():
            captions[rel] = sidecar.read_text(encoding="utf-8").strip()
        else:
            captions[rel] = table.get(rel, table.get(Path(rel).name, ""))
    return captions


def _unit_hash(text: str) -> float:
    """A stable number in [0, 1) from a string (split assignment must not depend on hash())."""
    return int.from_bytes(hashlib.sha1(text.encode()).digest()[:8], "big") / 2.0**64


def assign_splits(videos: list[str], validation_fraction: float) -> dict[str, list[str]]:
    """train/validation by file-name hash; both non-empty when a validation split is asked for."""
    if validation_fraction <= 0:
        return {"train": sorted(videos)}
    if len(videos) < 2:
        raise ValueError(f"validation_fraction > 0 needs at least 2 readable videos, got {videos}")
    ranked = sorted(videos, key=_unit_hash)
    val = [v for v in ranked if _unit_hash(v) < validation_fraction]
    val = val[: len(videos) - 1] or ranked[:1]  # keep one of each
    return {"train": sorted(set(videos) - set(val)), "validation": sorted(val)}


def windows(
    frames: np.ndarray, audio: np.ndarray, num_frames: int, num_samples: int
) -> tuple[list[tuple[np.ndarray, np.ndarray]], bool]:
    """Cut [T, H, W, 3] + [S] into non-overlapping windows; pad a too-short video.

    A video shorter than one window is padded by repeating its last frame (and with
    silence): returns padded=True. A longer video's tail shorter than a window is dropped.
    """
    padded = len(frames) < num_frames
    if padded:
        tail = np.repeat(frames[-1:], num_frames - len(frames), axis=0)
        frames = np.concatenate([frames, tail], axis=0)  # [num_frames, H, W, 3]
    out = []
    for k in range(len(frames) // num_frames):
        clip_audio = audio[k * num_samples : (k + 1) * num_samples]
        clip_audio = np.pad(clip_audio, (0, num_samples - len(clip_audio)))  # silence-fill
        out.append((frames[k * num_frames : (k + 1) * num_frames], clip_audio.astype(np.float32)))
    return out, padded


@dataclasses.dataclass(eq=False)
class VideoFolderConfig(tfds.core.BuilderConfig):
    """Where the videos are and the clip format to bring them to."""

    src: str = ""
    width: int = _DEFAULT_RENDER.width
    height: int = _DEFAULT_RENDER.height
    fps: int = _DEFAULT_RENDER.fps
    seconds: float = _DEFAULT_RENDER.seconds
    sample_rate: int = _DEFAULT_RENDER.sample_rate
    validation_fraction: float = 0.0
    max_windows_per_video: int | None = None  # None: every full window

    @classmethod
    def create(
        cls,
        src: str | os.PathLike,
        *,
        render: RenderConfig = _DEFAULT_RENDER,
        validation_fraction: float = 0.0,
        max_windows_per_video: int | None = None,
    ) -> VideoFolderConfig:
        """A config named after the folder and a fingerprint of its contents and the format.

        The fingerprint covers file names, sizes, mtimes and caption files, so editing the
        folder gives a new build rather than silently reusing a stale one.
        """
        root = Path(src).resolve()
        if not root.is_dir():
            raise FileNotFoundError(f"{root}: not a directory")
        fingerprint = hashlib.sha1()
        for rel in list_videos(root) + sorted(
            p.relative_to(root).as_posix() for p in root.rglob("*") if p.suffix in (".txt", ".csv")
        ):
            st = (root / rel).stat()
            fingerprint.update(f"{rel}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
        fields = (str(root), validation_fraction, max_windows_per_video)
        fingerprint.update(repr(fields).encode())
        name = (
            f"{_slug(root.name)}_{render.width}x{render.height}_{render.fps}fps_"
            f"{render.seconds:g}s_{render.sample_rate}hz".replace(".", "p")
            + f"_{fingerprint.hexdigest()[:8]}"
        )
        return cls(
            name=name,
            src=str(root),
            width=render.width,
            height=render.height,
            fps=render.fps,
            seconds=render.seconds,
            sample_rate=render.sample_rate,
            validation_fraction=validation_fraction,
            max_windows_per_video=max_windows_per_video,
        )

    def render_config(self) -> RenderConfig:
        return RenderConfig(
            width=self.width,
            height=self.height,
            fps=self.fps,
            seconds=self.seconds,
            sample_rate=self.sample_rate,
        )


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text).strip("_").lower() or "videos"


class Builder(tfds.core.GeneratorBasedBuilder):
    """A folder of the user's videos with captions (DESIGN.md, "Clip record")."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "First release."}
    BUILDER_CONFIGS = [VideoFolderConfig(name="default")]
    DEFAULT_BUILDER_CONFIG_NAME = "default"
    # See physics_clips: skips TFDS's `importlib_resources` lookup of this file.
    code_path = epath.Path(__file__)

    # TFDS prints a download-size banner before a build ("Downloading and preparing dataset
    # Unknown size ...") and a "downloaded and prepared" line after it, to stdout; nothing
    # is downloaded here and our own lines say where the data went.
    def _log_download_bytes(self) -> None:
        pass

    def _log_download_done(self) -> None:
        pass

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.source_stats: dict | None = None  # filled by a fresh build, None on reuse

    def _info(self) -> tfds.core.DatasetInfo:
        cfg: VideoFolderConfig = self.builder_config
        return tfds.core.DatasetInfo(
            builder=self,
            description=__doc__,
            features=clip_features(cfg.height, cfg.width),
            metadata=tfds.core.MetadataDict(
                src=cfg.src,
                validation_fraction=cfg.validation_fraction,
                max_windows_per_video=cfg.max_windows_per_video,
                render=dataclasses.asdict(cfg.render_config()),
            ),
        )

    def _split_generators(self, dl_manager: tfds.download.DownloadManager) -> dict:
        del dl_manager  # the videos are local
        cfg: VideoFolderConfig = self.builder_config
        if not cfg.src:
            raise ValueError("video_folder needs a source folder: VideoFolderConfig.create(src)")
        src = Path(cfg.src)
        videos = list_videos(src)
        # A cheap container probe up front, so unreadable files never make a split empty.
        readable, skipped = [], []
        for rel in videos:
            try:
                if probe(src / rel)["has_video"]:
                    readable.append(rel)
                    continue
                reason = "no video stream"
            except MediaError as err:
                reason = err.reason
            log.warning("video_folder: skipping %s (%s)", rel, reason)
            skipped.append(rel)
        if not readable:
            raise ValueError(f"{src}: no readable videos among {len(videos)} files {skipped}")
        self.source_stats = {
            "videos_found": len(videos),
            "videos_read": 0,
            "videos_skipped": len(skipped),
            "skipped": skipped,
            "videos_padded": 0,
            "padded": [],
            "clips": {},
        }
        captions = load_captions(src, readable)
        splits = assign_splits(readable, cfg.validation_fraction)
        return {
            split: self._generate_examples(split, files, captions)
            for split, files in splits.items()
        }

    def _generate_examples(
        self, split: str, files: list[str], captions: dict[str, str]
    ) -> Iterator[tuple[str, dict]]:
        cfg: VideoFolderConfig = self.builder_config
        render = cfg.render_config()
        stats = self.source_stats
        stats["clips"][split] = 0
        max_s = None
        if cfg.max_windows_per_video:
            max_s = cfg.max_windows_per_video * render.num_frames / render.fps
        for rel in progress(files, desc=f"video_folder {split}", unit="videos"):
            path = Path(cfg.src) / rel
            try:
                frames, _ = read_video(  # [T, H, W, 3]
                    path, size=(render.height, render.width), fps=render.fps, max_seconds=max_s
                )
                audio = read_audio(path, sample_rate=render.sample_rate, max_seconds=max_s)  # [S]
            except MediaError as err:  # passed the probe but does not decode
                log.warning("video_folder: skipping %s (%s)", rel, err.reason)
                stats["skipped"].append(rel)
                stats["videos_skipped"] += 1
                continue
            stats["videos_read"] += 1
            cut, padded = windows(frames, audio, render.num_frames, render.num_samples)
            if padded:
                stats["videos_padded"] += 1
                stats["padded"].append(rel)
            for k, (clip_video, clip_audio) in enumerate(cut):
                clip_id = f"{rel}#{k:04d}"
                yield (
                    clip_id,
                    clip_to_example(
                        _footage_clip(
                            clip_video, clip_audio, captions[rel], render, rel, k, padded
                        ),
                        clip_id,
                    ),
                )
                stats["clips"][split] += 1
        if stats["clips"][split] == 0:
            raise ValueError(f"split {split!r}: none of {files} could be decoded")


def _footage_clip(
    video: np.ndarray,
    audio: np.ndarray,
    caption: str,
    render: RenderConfig,
    source: str,
    window: int,
    padded: bool,
) -> Clip:
    """A window of footage as a Clip with the physics fields left empty."""
    t = video.shape[0]
    scene = {
        "source_file": source,
        "window": window,
        "start_s": window * render.seconds,
        "padded": padded,
    }
    return Clip(
        video=video,  # [T, H, W, 3]
        audio=audio,  # [S]
        caption=caption,
        fps=render.fps,
        sample_rate=render.sample_rate,
        family="video",
        outcome="",
        is_failure=False,
        states=np.zeros((t, 0, 6), np.float32),  # [T, 0, 6]
        visibility=np.zeros((t, 0), np.float32),  # [T, 0]
        objects=[],
        contacts=[],
        scene_params=scene,
        split_tag="",
        seed=0,
    )


def build_video_folder(
    src: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    config: RenderConfig = _DEFAULT_RENDER,
    validation_fraction: float = 0.0,
    max_windows_per_video: int | None = None,
) -> tuple[Path, dict]:
    """Import `src` under `out_dir`; returns (built dataset dir, source stats).

    Stats: videos_found/read/skipped (+ names), videos_padded (+ names), clips per split.
    """
    builder_config = VideoFolderConfig.create(
        src,
        render=config,
        validation_fraction=validation_fraction,
        max_windows_per_video=max_windows_per_video,
    )
    with catalog.quiet_tfds():  # also while constructing: TFDS warns about custom configs
        builder = Builder(config=builder_config, data_dir=os.fspath(out_dir))
        path = catalog.prepare(builder, source_stats=lambda: builder.source_stats)
    stats = json.loads((path / catalog.INDEX_FILE).read_text()).get("source", {})
    print(
        f"video_folder: {stats.get('videos_read', 0)} videos read, "
        f"{stats.get('videos_skipped', 0)} skipped (unreadable): {stats.get('skipped', [])}"
    )
    return path, stats
