"""Look at a dataset: one clip as mp4 + contact sheet + JSON, and a stats table.

The JSON is what a person (or the benchmark's tests) checks the pixels and the sound against:
contact times in seconds and per-frame object states in pixel coordinates of the video.
"""

from __future__ import annotations

import json
import pathlib
from typing import Any

import numpy as np

from worldsim.physics.types import STATE_FIELDS

COORDINATES_NOTE = (
    "pixels of the stored video: x to the right, y down, the centre of pixel (row i, column j) "
    "at (x=j, y=i); velocities in px/s; angle in radians, counter-clockwise on screen"
)
FULLY_VISIBLE = 0.999  # visibility at or above this counts as fully visible


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def example_to_json(example: dict) -> dict:
    """The human-readable description of one clip record (everything but pixels and samples)."""
    fps = int(example["fps"])
    states = np.asarray(example["states"], np.float64)  # [T, N, 6]
    visibility = np.asarray(example["visibility"], np.float64)  # [T, N]
    objects = example["objects"]
    names = [_text(name) for name in objects["name"]]
    contacts = example["contacts"]
    frames = []
    for t in range(states.shape[0]):
        per_object = {}
        for n, name in enumerate(names):
            entry = {field: round(float(states[t, n, k]), 4) for k, field in enumerate(STATE_FIELDS)}
            entry["visibility"] = round(float(visibility[t, n]), 4)
            entry["fully_visible"] = bool(visibility[t, n] >= FULLY_VISIBLE)
            per_object[name] = entry
        frames.append({"frame": t, "time_s": round(t / fps, 6), "objects": per_object})
    return {
        "clip_id": _text(example["clip_id"]),
        "caption": _text(example["caption"]),
        "family": _text(example["family"]),
        "outcome": _text(example["outcome"]),
        "is_failure": bool(example["is_failure"]),
        "split_tag": _text(example["split_tag"]),
        "seed": int(example["seed"]),
        "fps": fps,
        "sample_rate": int(example["sample_rate"]),
        "num_frames": int(np.asarray(example["video"]).shape[0]),
        "duration_s": np.asarray(example["audio"]).shape[0] / int(example["sample_rate"]),
        "coordinates": COORDINATES_NOTE,
        "scene_params": json.loads(_text(example["scene_params"]) or "{}"),
        "objects": [
            {
                "name": names[n],
                "shape": _text(objects["shape"][n]),
                "color": [int(c) for c in objects["color"][n]],
                "size_px": [round(float(s), 4) for s in objects["size_px"][n]],
                "mass": float(objects["mass"][n]),
                "material": _text(objects["material"][n]),
            }
            for n in range(len(names))
        ],
        "contacts": [
            {
                "frame": int(contacts["frame"][i]),
                "time_s": float(contacts["time_s"][i]),
                "object_a": _text(contacts["object_a"][i]),
                "object_b": _text(contacts["object_b"][i]),
                "impulse": float(contacts["impulse"][i]),
            }
            for i in range(len(contacts["frame"]))
        ],
        "frames": frames,
    }


def show_example(data_dir: str, *, split: str, index: int, out_mp4: str) -> list[pathlib.Path]:
    """Write OUT.mp4 (video + sound), OUT.png (contact sheet) and OUT.json for one record."""
    from data_pipelines import open_split
    from worldsim.media import make_contact_sheet, write_mp4, write_png

    source = open_split(data_dir, split)
    if not 0 <= index < len(source):
        raise ValueError(f"--index {index} is out of range: split {split!r} has {len(source)} records")
    example = source[index]
    out = pathlib.Path(out_mp4)
    if out.suffix.lower() != ".mp4":
        raise ValueError(f"--out must end in .mp4, got {out_mp4!r}")
    out.parent.mkdir(parents=True, exist_ok=True)
    video = np.asarray(example["video"])  # [T, H, W, 3]
    audio = np.asarray(example["audio"], np.float32)  # [S]
    write_mp4(out, video, audio, fps=int(example["fps"]), sample_rate=int(example["sample_rate"]))
    png = out.with_suffix(".png")
    write_png(png, make_contact_sheet(video))
    js = out.with_suffix(".json")
    js.write_text(json.dumps(example_to_json(example), indent=1))
    return [out, png, js]


def format_stats(stats: dict) -> str:
    """A plain-text table: records per split, then per family and outcome within each split."""
    lines = []
    for split, info in sorted(stats["splits"].items()):
        lines.append(f"{split}: {info['count']} clips")
        for family, outcomes in sorted(info.get("outcomes", {}).items()):
            total = sum(outcomes.values())
            parts = ", ".join(
                f"{outcome or '-'} {count} ({100 * count / total:.0f}%)"
                for outcome, count in sorted(outcomes.items())
            )
            lines.append(f"  {family:<8} {total:>5}  {parts}")
    return "\n".join(lines)
