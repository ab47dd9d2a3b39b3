r"""How often the provenance checks find what they should, and only that, on simulator clips.

    python benchmarks/provenance_rates.py [--data-dir DIR | --num-clips N --seed S] \
        [--workdir SCRATCH] [--no-append]

The measurements behind two thresholds, on every clip of a dataset (`--data-dir`, as
`worldsim data build` writes one) or of N freshly simulated in-range clips and a tenth more
out of range (`--num-clips N --seed S`, `build_physics_clips`; `--num-clips 20 --seed 0` are
the 22 clips of the tests' `data_dir` fixture):

- watermark (`detection_rates`, behind `watermark.DETECTION_THRESHOLD`): every clip written
  as the generator writes it, once marked and once plain, and scored by `detect` as written,
  re-encoded at a third of its own video bitrate and at half the size. Rows: found k/n and
  the score's min / median / max per (marked or plain, condition), and the video bitrate the
  third-bitrate re-encode achieved over the original's (x264 cannot always get that low);
- fingerprint (`measure`, behind `fingerprint.MATCH_THRESHOLD`): every clip written as mp4
  by `worldsim data show`, three copies of each (re-encoded, resized, trimmed); per copy kind
  the share found and the worst similarity to its own clip; every clip and copy against every
  other clip: (query, clip) pairs and distinct clip pairs matched, with the family of each
  matched pair's first clip, the largest and the 99th-percentile different-clip similarity.

Clips, copies and re-encodes go to SCRATCH (default: a temporary folder, removed after).
Prints both tables and appends them to benchmarks/RESULTS.md with the machine, date and
command. The tests run the same functions on a few clips (tests/provenance/).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
import subprocess
import sys
import tempfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from worldsim.console import progress
from worldsim.media.video_io import ffmpeg_exe, probe, read_video, transcode, write_mp4
from worldsim.provenance.fingerprint import MATCH_THRESHOLD, fingerprint_clip, similarity
from worldsim.provenance.watermark import DETECTION_THRESHOLD, WatermarkSettings, apply, detect

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

# ----------------------------------------------------------------------------- watermark

CONDITIONS = ("as written", "third bitrate", "half size")


def video_bitrate(path: str | os.PathLike) -> float:
    """Bits per second of the video stream alone (audio excluded).

    No ffprobe in the bundle and `ffmpeg -i` rounds to whole kb/s (these clips carry 8-22), so
    the stream is copied out as raw H.264 and its bytes counted.
    """
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "video.h264"
        cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-i", os.fspath(path)]
        subprocess.run(cmd + ["-map", "0:v:0", "-c", "copy", "-f", "h264", raw], check=True)
        return raw.stat().st_size * 8 / probe(path)["duration"]


def reencode_at_bitrate(
    src: str | os.PathLike, dst: str | os.PathLike, bits_per_second: float
) -> None:
    """Re-encode the video with x264 asked for `bits_per_second` (`-b:v`, one pass: what a site
    that re-encodes to a bitrate does); the sound is copied as it is."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-i", os.fspath(src)]
    cmd += ["-c:v", "libx264", "-b:v", str(int(bits_per_second)), "-pix_fmt", "yuv420p"]
    subprocess.run(cmd + ["-c:a", "copy", os.fspath(dst)], check=True)


def detection_rates(
    data_dir: str | os.PathLike,
    workdir: str | os.PathLike,
    *,
    settings: WatermarkSettings = WatermarkSettings(),
    clips: list[tuple[str, int]] | None = None,
) -> dict:
    """Detector scores on simulator clips, marked and plain, in each of CONDITIONS.

    Each clip is written as the generator writes it (write_mp4, with its sound) once marked and
    once plain; both are decoded as written, re-encoded at a third of their own video bitrate,
    and re-encoded at half the size (transcode). clips: (split, index) pairs, default every
    record. Returns {"marked"|"plain": {condition: [score]}, "bitrate_ratio": [achieved /
    original, marked clips], "clips": [(split, index)]}.
    """
    from data_pipelines.catalog import open_split, split_names

    workdir = Path(workdir)
    if clips is None:
        clips = [
            (split, i)
            for split in split_names(data_dir)
            for i in range(len(open_split(data_dir, split)))
        ]
    out: dict = {tag: {c: [] for c in CONDITIONS} for tag in ("marked", "plain")}
    out |= {"bitrate_ratio": [], "clips": list(clips)}
    sources = {}
    for split, index in progress(clips, desc="watermark", unit="clip"):
        if split not in sources:
            sources[split] = open_split(data_dir, split, skip=("states", "visibility"))
        record = sources[split][index]
        video, fps = record["video"], int(record["fps"])  # [T, H, W, 3]
        _, h, w, _ = video.shape
        for tag, frames in (("marked", apply(video, settings)), ("plain", video)):
            name = workdir / f"{split}_{index}_{tag}"
            written = write_mp4(
                f"{name}.mp4", frames, record["audio"], fps, int(record["sample_rate"])
            )
            bitrate = video_bitrate(written)
            reencode_at_bitrate(written, f"{name}_third.mp4", bitrate / 3)
            if tag == "marked":
                out["bitrate_ratio"].append(video_bitrate(f"{name}_third.mp4") / bitrate)
            transcode(written, f"{name}_half.mp4", size=(h // 2, w // 2), fps=fps)
            for condition, path in zip(CONDITIONS, ("", "_third", "_half"), strict=True):
                decoded, _ = read_video(f"{name}{path}.mp4")
                out[tag][condition].append(detect(decoded, settings).score)
    return out


def watermark_table(rates: dict) -> list[str]:
    """`detection_rates`' result as markdown lines: a row per (marked or plain, condition)."""
    lines = [
        f"{len(rates['clips'])} clips, threshold {DETECTION_THRESHOLD}",
        "",
        "| clips | condition | found | score min | median | max |",
        "|---|---|---|---|---|---|",
    ]
    for tag in ("marked", "plain"):
        for condition, scores in rates[tag].items():
            s = np.array(scores)
            found = int((s >= DETECTION_THRESHOLD).sum())
            lines.append(
                f"| {tag} | {condition} | {found}/{len(s)} "
                f"| {s.min():.2f} | {np.median(s):.2f} | {s.max():.2f} |"
            )
    r = np.array(rates["bitrate_ratio"])
    lines += [
        "",
        f"Third-bitrate re-encode, achieved/original: min {r.min():.2f} max {r.max():.2f}",
    ]
    return lines


# ----------------------------------------------------------------------------- fingerprint

SPLITS = ("train", "validation", "test", "test_ood")


def trim(src: Path, dst: Path, cut: float = 0.25) -> Path:
    """A copy without the first and last `cut` of the clip (re-encoded, as editors do)."""
    duration = probe(src)["duration"]
    start, length = f"{cut * duration:.3f}", f"{(1 - 2 * cut) * duration:.3f}"
    args = [ffmpeg_exe(), "-y", "-loglevel", "error", "-ss", start, "-i", str(src), "-t", length]
    args += ["-c:v", "libx264", "-crf", "23", "-pix_fmt", "yuv420p", "-c:a", "aac", str(dst)]
    subprocess.run(args, check=True, capture_output=True)
    return dst


COPIES = {
    "re-encoded": lambda s, d: transcode(s, d, size=(64, 64), fps=16, crf=35),
    "resized": lambda s, d: transcode(s, d, size=(32, 32), fps=12, crf=23),
    "trimmed": trim,
}


def write_clips(data_dir: Path, out: Path) -> list[Path]:
    """Every record of every split as mp4, the way `worldsim data show` writes one."""
    from data_pipelines import open_split
    from data_pipelines.show import show_example

    records = [
        (split, index)
        for split in SPLITS
        for index in range(len(open_split(data_dir, split, skip=("video", "audio"))))
    ]
    paths = []
    for split, index in progress(records, desc="fingerprint clips", unit="clip"):
        mp4 = out / f"{split}_{index}.mp4"
        show_example(str(data_dir), split=split, index=index, out_mp4=str(mp4))
        paths.append(mp4)
    return paths


def measure(clips: list[Path], scratch: Path) -> dict:
    """Similarities of each clip's copies to it, and of every clip and copy to the others."""
    jobs = [(name, clip, scratch / f"{clip.stem}.{i}.mp4") for clip in clips
            for i, name in enumerate(COPIES)]  # fmt: skip
    with ThreadPoolExecutor(max_workers=4) as pool:  # ffmpeg subprocesses
        copying = pool.map(lambda job: COPIES[job[0]](job[1], job[2]), jobs)
        list(progress(copying, total=len(jobs), desc="fingerprint copies", unit="copy"))
        originals = list(pool.map(fingerprint_clip, clips))
        copies = list(pool.map(lambda job: fingerprint_clip(job[2]), jobs))
    true = {name: [] for name in COPIES}
    queries = [(i, fp) for i, fp in enumerate(originals)]
    for (name, clip, _), fp in zip(jobs, copies):
        i = clips.index(clip)
        true[name].append(similarity(fp, originals[i]))
        queries.append((i, fp))
    false, pairs = [], {}
    for i, query in queries:
        for j, registered in enumerate(originals):
            if i != j:
                false.append(similarity(query, registered))
                key = (min(i, j), max(i, j))
                pairs[key] = max(pairs.get(key, 0.0), false[-1])
    return {
        "true": {k: np.array(v) for k, v in true.items()},
        "false": np.array(false),
        "pairs": pairs,
    }


def fingerprint_table(result: dict, clips: list[Path]) -> list[str]:
    """`measure`'s result as markdown lines: copies found per kind, then different clips.

    clips: the clips `measure` was given (their OUT.json beside names each one's family)."""
    false = result["false"]
    lines = [
        f"{len(clips)} clips, threshold {MATCH_THRESHOLD}",
        "",
        "| copy | copies | found | worst similarity |",
        "|---|---|---|---|",
    ]
    for name, sims in result["true"].items():
        rate = np.mean(sims >= MATCH_THRESHOLD)
        lines.append(f"| {name} | {len(sims)} | {rate:.3f} | {sims.min():.2f} |")
    matched = [key for key, sim in result["pairs"].items() if sim >= MATCH_THRESHOLD]
    families = Counter(json.loads(clips[i].with_suffix(".json").read_text())["family"]
                       for i, _ in matched)  # fmt: skip
    largest = f"{false.max():.2f}" if len(false) else "-"
    p99 = f"{np.quantile(false, 0.99):.2f}" if len(false) else "-"
    lines += [
        "",
        "| different clips | matched | families | largest similarity | 99th percentile |",
        "|---|---|---|---|---|",
        f"| (query, clip) pairs | {int((false >= MATCH_THRESHOLD).sum())} of {len(false)} "
        f"| | {largest} | {p99} |",
        f"| distinct clip pairs | {len(matched)} of {len(result['pairs'])} "
        f"| {dict(families) or '-'} | | |",
    ]
    return lines


# ----------------------------------------------------------------------------- command


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--data-dir", help="a built dataset (what `worldsim data build` writes)")
    source.add_argument(
        "--num-clips", type=int, help="simulate N in-range clips (and a tenth more out of range)"
    )
    parser.add_argument("--seed", type=int, default=0, help="with --num-clips (default 0)")
    parser.add_argument("--workdir", help="scratch folder (default: a temporary one)")
    parser.add_argument("--no-append", action="store_true")
    args = parser.parse_args(argv)
    if args.num_clips is not None and args.num_clips < 1:
        parser.error(f"--num-clips must be >= 1 (got {args.num_clips})")
    if args.data_dir is not None and not Path(args.data_dir).is_dir():
        parser.error(f"--data-dir {args.data_dir}: no such folder")
    return args


def run(args: argparse.Namespace, scratch: Path) -> tuple[str, list[str], list[str]]:
    """Builds or finds the clips, measures both; returns (source, watermark and fingerprint
    table lines)."""
    if args.data_dir is not None:
        data_dir, source = Path(args.data_dir), f"`{args.data_dir}`"
    else:
        from data_pipelines import build_physics_clips

        data_dir = scratch / "data"
        print(f"simulating {args.num_clips} clips (seed {args.seed}) into {data_dir}", flush=True)
        build_physics_clips(data_dir, num_clips=args.num_clips, seed=args.seed)
        source = (
            f"simulated, {args.num_clips} in range and a tenth more (at least one) out of range,"
            f" seed {args.seed}"
        )
    for sub in ("watermark", "fingerprint", "fingerprint_copies"):
        (scratch / sub).mkdir(parents=True, exist_ok=True)
    print("watermark: marking, re-encoding and scoring every clip", flush=True)
    rates = detection_rates(data_dir, scratch / "watermark")
    print("fingerprint: writing every clip as mp4", flush=True)
    clips = write_clips(data_dir, scratch / "fingerprint")
    print("fingerprint: copying, hashing and comparing", flush=True)
    result = measure(clips, scratch / "fingerprint_copies")
    return source, watermark_table(rates), fingerprint_table(result, clips)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from results import command_line, machine, publish

    if args.workdir:
        source, watermark, fingerprint = run(args, Path(args.workdir))
    else:
        with tempfile.TemporaryDirectory(prefix="provenance_rates_") as tmp:
            source, watermark, fingerprint = run(args, Path(tmp))
    command = command_line("provenance_rates.py", argv)
    text = "\n".join(
        [
            f"#### Provenance rates: watermark and fingerprint ({datetime.date.today()})",
            "",
            f"- machine: {machine()}; command: `{command}`; clips: {source}",
            "",
            f"Watermark (`detection_rates`): {watermark[0]}",
            *watermark[1:],
            "",
            f"Fingerprint (`measure`): {fingerprint[0]}",
            *fingerprint[1:],
            "",
        ]
    )
    publish(text, append=not args.no_append)
    return 0


if __name__ == "__main__":
    sys.exit(main())
