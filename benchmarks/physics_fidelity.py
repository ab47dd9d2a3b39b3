"""Is the sound on the frame, and are the pixels on the states? Measured over many clips.

    python benchmarks/physics_fidelity.py [--seeds 30] [--show-clips 48] [--no-append]

1. Stored audio: for every contact of `make_clip(family, seed, ood)` over all families,
   seeds 0..N-1, in- and out-of-range, the offset of the nearest detected impact onset.
2. After `worldsim data show` (mp4 with AAC audio, decoded back with ffmpeg): onset offsets
   against the JSON contacts, and the reference colour-threshold centroid
   (`palette.color_centroid`) against the JSON positions where an object is fully visible.
Prints a table and appends it to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
import platform
import sys
import tempfile

import numpy as np

from worldsim import cli
from worldsim.media import read_audio, read_video
from worldsim.media.onsets import detect_onsets, match_onsets
from worldsim.physics.clip import make_clip
from worldsim.physics.families import FAMILIES
from worldsim.physics.palette import color_centroid

RESULTS = pathlib.Path(__file__).with_name("RESULTS.md")


def stored_audio_offsets(seeds: int) -> tuple[np.ndarray, int, int]:
    """|offset| per contact, the number of onsets matching no contact (> 1 ms), clips."""
    offsets, unmatched, clips = [], 0, 0
    for family in FAMILIES:
        for seed in range(seeds):
            for ood in (False, True):
                clip = make_clip(family, seed, out_of_range=ood)
                clips += 1
                onsets = detect_onsets(clip.audio, clip.sample_rate)
                times = np.asarray([c.time_s for c in clip.contacts])
                if times.size:
                    offsets.append(np.abs(match_onsets(times, onsets)))
                    unmatched += int((np.abs(match_onsets(onsets, times)) > 1e-3).sum())
                else:
                    unmatched += onsets.size
    return np.concatenate(offsets), unmatched, clips


def decoded_mp4_errors(num_clips: int, work: pathlib.Path) -> tuple[np.ndarray, np.ndarray]:
    """Onset |offsets| (s) and centroid errors (px) measured on mp4s written by `data show`."""
    data = work / "data"
    cli.main(["data", "build", "physics_clips", "--out", str(data), "--num-clips", str(num_clips)])
    offsets, errors = [], []
    for index in range(int(round(0.8 * num_clips))):
        out = work / f"clip{index}.mp4"
        cli.main(
            [
                "data",
                "show",
                str(data),
                "--split",
                "train",
                "--index",
                str(index),
                "--out",
                str(out),
            ]
        )
        info = json.loads(out.with_suffix(".json").read_text())
        frames, _ = read_video(out)
        audio = read_audio(out, sample_rate=info["sample_rate"])
        times = np.asarray([c["time_s"] for c in info["contacts"]])
        if times.size:
            offsets.append(np.abs(match_onsets(times, detect_onsets(audio, info["sample_rate"]))))
        for obj in info["objects"]:
            for state in info["frames"]:
                entry = state["objects"][obj["name"]]
                if entry["fully_visible"]:
                    x, y = color_centroid(frames[state["frame"]], tuple(obj["color"]))
                    errors.append(np.hypot(x - entry["x"], y - entry["y"]))
    return np.concatenate(offsets), np.asarray(errors)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=30, help="seeds per family and range")
    parser.add_argument("--show-clips", type=int, default=60, help="clips built for the mp4 check")
    parser.add_argument("--no-append", action="store_true")
    args = parser.parse_args()
    stored, unmatched, clips = stored_audio_offsets(args.seeds)
    with tempfile.TemporaryDirectory() as tmp:
        decoded, centroid = decoded_mp4_errors(args.show_clips, pathlib.Path(tmp))
    ms = 1e3
    lines = [
        f"### Physics fidelity: sound on the frame, pixels on the states ({datetime.date.today()})",
        "",
        f"- machine: {platform.node()}, Python {platform.python_version()}",
        f"- command: `{' '.join([os.path.basename(sys.executable), *sys.argv])}`",
        "",
        "| check | n | median | p99 | max | requirement |",
        "|---|---|---|---|---|---|",
        f"| stored audio: onset - contact ({clips} clips) | {stored.size} contacts | "
        f"{np.median(stored) * ms:.3f} ms | {np.percentile(stored, 99) * ms:.3f} ms | "
        f"{stored.max() * ms:.3f} ms | <= 1 ms |",
        f"| stored audio: onsets matching no contact | {unmatched} | | | | |",
        f"| decoded mp4: onset - contact | {decoded.size} contacts | {np.median(decoded) * ms:.2f} ms | "
        f"{np.percentile(decoded, 99) * ms:.2f} ms | {decoded.max() * ms:.2f} ms | <= 62.5 ms |",
        f"| decoded mp4: colour centroid - state | {centroid.size} object-frames | "
        f"{np.median(centroid):.3f} px | {np.percentile(centroid, 99):.3f} px | "
        f"{centroid.max():.3f} px | <= 1.5 px |",
    ]
    table = "\n".join(lines) + "\n"
    print(table)
    if not args.no_append:
        with RESULTS.open("a") as results:
            results.write("\n" + table)


if __name__ == "__main__":
    main()
