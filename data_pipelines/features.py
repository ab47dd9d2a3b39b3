"""The clip record (DESIGN.md, "Clip record") as TFDS features, and Clip -> example.

Both builders (`physics_clips`, `video_folder`) write exactly these features, so everything
downstream (grain pipeline, `worldsim data show`, the benchmark) reads one schema. Fields a
source cannot fill (physics states for a user's video) are left empty, never invented.
"""

from __future__ import annotations

import json

import numpy as np
import tensorflow_datasets as tfds

from worldsim.physics.types import Clip

ZLIB = tfds.features.Encoding.ZLIB


def clip_features(height: int, width: int) -> tfds.features.FeaturesDict:
    """Features of one clip record at the given frame size."""
    return tfds.features.FeaturesDict(
        {
            "clip_id": tfds.features.Text(),
            "video": tfds.features.Tensor(shape=(None, height, width, 3), dtype=np.uint8, encoding=ZLIB),
            "audio": tfds.features.Tensor(shape=(None,), dtype=np.float32, encoding=ZLIB),
            "caption": tfds.features.Text(),
            "fps": tfds.features.Scalar(dtype=np.int32),
            "sample_rate": tfds.features.Scalar(dtype=np.int32),
            "family": tfds.features.Text(),
            "outcome": tfds.features.Text(),
            "is_failure": tfds.features.Scalar(dtype=np.bool_),
            # [T, N, 6]: x, y, vx, vy (px, px/s, y down), angle, omega (rad, rad/s)
            # Two unknown dims (T, N) need an encoding: TFDS can't store them as flat lists.
            "states": tfds.features.Tensor(shape=(None, None, 6), dtype=np.float32, encoding=ZLIB),
            "visibility": tfds.features.Tensor(  # [T, N]
                shape=(None, None), dtype=np.float32, encoding=ZLIB
            ),
            "objects": tfds.features.Sequence(
                {
                    "name": tfds.features.Text(),
                    "shape": tfds.features.Text(),
                    "color": tfds.features.Tensor(shape=(3,), dtype=np.uint8),
                    "size_px": tfds.features.Tensor(shape=(2,), dtype=np.float32),  # (r, 0) or (w, h)
                    "mass": tfds.features.Scalar(dtype=np.float32),
                    "material": tfds.features.Text(),
                }
            ),
            "contacts": tfds.features.Sequence(
                {
                    "frame": tfds.features.Scalar(dtype=np.int32),
                    "time_s": tfds.features.Scalar(dtype=np.float32),
                    "object_a": tfds.features.Text(),
                    "object_b": tfds.features.Text(),
                    "impulse": tfds.features.Scalar(dtype=np.float32),
                }
            ),
            "scene_params": tfds.features.Text(),  # JSON
            "split_tag": tfds.features.Text(),  # in_range | out_of_range | "" (user video)
            "seed": tfds.features.Scalar(dtype=np.int64),
        }
    )


def clip_to_example(clip: Clip, clip_id: str) -> dict:
    """A `Clip` as a dict matching `clip_features`."""
    ppm = float(clip.scene_params.get("pixels_per_meter", 1.0))
    objects = {
        "name": [o.name for o in clip.objects],
        "shape": [o.shape for o in clip.objects],
        "color": np.asarray([o.color for o in clip.objects], np.uint8).reshape(-1, 3),
        "size_px": np.asarray(
            [(o.size + (0.0,))[:2] if o.shape == "circle" else o.size for o in clip.objects], np.float32
        ).reshape(-1, 2)
        * ppm,
        "mass": np.asarray([o.mass for o in clip.objects], np.float32),
        "material": [o.material for o in clip.objects],
    }
    contacts = {
        "frame": np.asarray([c.frame for c in clip.contacts], np.int32),
        "time_s": np.asarray([c.time_s for c in clip.contacts], np.float32),
        "object_a": [c.object_a for c in clip.contacts],
        "object_b": [c.object_b for c in clip.contacts],
        "impulse": np.asarray([c.impulse for c in clip.contacts], np.float32),
    }
    return {
        "clip_id": clip_id,
        "video": clip.video,
        "audio": clip.audio.astype(np.float32),
        "caption": clip.caption,
        "fps": clip.fps,
        "sample_rate": clip.sample_rate,
        "family": clip.family,
        "outcome": clip.outcome,
        "is_failure": bool(clip.is_failure),
        "states": clip.states.astype(np.float32),
        "visibility": clip.visibility.astype(np.float32),
        "objects": objects,
        "contacts": contacts,
        "scene_params": json.dumps(clip.scene_params, sort_keys=True),
        "split_tag": clip.split_tag,
        "seed": int(clip.seed),
    }
