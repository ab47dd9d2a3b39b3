"""What the benchmark's numbers mean: ground truth, baselines and corruptions, scored.

    python benchmarks/bench_calibration.py [--num-cases 120] [--work DIR] [--no-append]

Exports cases, writes for each (calibrate.calibration_clips) the simulator's clip as
exported, re-drawn at 128x128 / 32 fps, re-encoded at 96x96, re-drawn at 48x48 / 8 fps,
the two trivial baselines and every corruption that applies, all as mp4, and scores
them all through `score_file` (what `worldsim bench score` does). Prints and appends
to benchmarks/RESULTS.md:

1. scores and key metrics per kind of clip (the parse floor is the truth's rows);
2. per corruption, the metric meant to catch it: its range over the ground-truth clips
   against its values on the corrupted ones, and how many were caught (outside the
   ground truth's range);
3. scoring speed, clips per second on one core (the process pinned to one CPU).
"""

from __future__ import annotations

import argparse
import datetime
import os
import pathlib
import platform
import sys
import tempfile
import time

import numpy as np

from worldsim.bench import calibrate
from worldsim.bench.cases import export_cases, load_cases
from worldsim.bench.scoring import score_file

RESULTS = pathlib.Path(__file__).with_name("RESULTS.md")
KEY_METRICS = (
    "position_error",
    "velocity_error",
    "gravity_error",
    "restitution_error",
    "teleports",
    "vanish_rate",
    "size_error",
    "outcome_agree",
    "contact_timing_ms",
    "sync_offset_ms",
    "onset_f1",
)
TRUTH_AT_FORMAT = calibrate.TRUTH_AT_FORMAT  # 8 fps loses information: not in the range


def _values(results, metric):
    return np.asarray(
        [r.metrics[metric] for r in results if r.metrics.get(metric) is not None], float
    )


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "–"
    if np.isinf(v):
        return "inf"
    return f"{v:.3g}"


def run(num_cases: int, work: pathlib.Path) -> tuple[str, dict]:
    cases_dir = work / "cases"
    if not (cases_dir / "manifest.json").is_file():
        export_cases(cases_dir, num_cases=num_cases, with_ground_truth=True, seed=0)
    cases = load_cases(cases_dir)
    results: dict[str, list] = {}
    for i, case in enumerate(cases):
        clips = calibrate.calibration_clips(
            case, work / "clips", cases_dir / "ground_truth" / f"{case.case_id}.mp4"
        )
        for name, path in clips.items():
            results.setdefault(name, []).append(score_file(path, case))
        print(f"\r{i + 1}/{len(cases)} cases", end="", file=sys.stderr)
    print(file=sys.stderr)

    lines = ["| clips | n | score mean | min | max | " + " | ".join(KEY_METRICS) + " |"]
    lines.append("|" + "---|" * (5 + len(KEY_METRICS)))
    for name, rows in results.items():
        s = np.asarray([r.score for r in rows])
        means = []
        for m in KEY_METRICS:
            v = _values(rows, m)
            finite = v[np.isfinite(v)]
            text = _fmt(finite.mean()) if finite.size else "–"
            if (~np.isfinite(v)).any():
                text += f" (+{(~np.isfinite(v)).sum()} inf)"
            means.append(text if v.size else "–")
        lines.append(
            f"| {name} | {len(rows)} | {s.mean():.1f} | {s.min():.1f} | {s.max():.1f} | "
            + " | ".join(means)
            + " |"
        )

    lines += [
        "",
        "| corruption | metric | ground truth (all formats >= the case's) min / max | corrupted min / median / max | caught |",
        "|---|---|---|---|---|",
    ]
    caught_all = {}
    for kind, (metric, direction) in calibrate.CORRUPTIONS.items():
        truth = np.concatenate([_values(results[t], metric) for t in TRUTH_AT_FORMAT])
        bad = _values(results.get(kind, []), metric)
        if not bad.size:
            lines.append(f"| {kind} | {metric} | | none applicable | |")
            continue
        caught = (bad > truth.max()) if direction > 0 else (bad < truth.min())
        caught_all[kind] = (int(caught.sum()), int(bad.size))
        lines.append(
            f"| {kind} | {metric} | {_fmt(truth.min())} / {_fmt(truth.max())} | "
            f"{_fmt(bad.min())} / {_fmt(np.median(bad))} / {_fmt(bad.max())} | {caught.sum()}/{bad.size} |"
        )
    from worldsim.bench.score import SCORED

    lines += [
        "",
        "| scored metric | floor (full marks) | zero | truth clips within the floor | p95 | max |",
        "|---|---|---|---|---|---|",
    ]
    rows = [r for t in TRUTH_AT_FORMAT for r in results[t]]
    for spec in SCORED:
        v = _values(rows, spec.metric)
        if not v.size:
            continue
        e = 1 - v if spec.invert else v
        lines.append(
            f"| {spec.metric} | {_fmt(spec.floor)} | {_fmt(spec.zero)} | {(e <= spec.floor + 1e-9).mean():.1%} "
            f"of {e.size} | {_fmt(np.percentile(e, 95))} | {_fmt(e.max())} |"
        )
    truth_dir = cases_dir / "ground_truth"
    return "\n".join(lines), {
        "results": results,
        "caught": caught_all,
        "cases": cases,
        "truth_dir": truth_dir,
    }


def scoring_speed(cases, truth_dir: pathlib.Path) -> float:
    """Clips per second scoring the exported truth clips, pinned to one core."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[-1]})
    start = time.perf_counter()
    for case in cases:
        score_file(truth_dir / f"{case.case_id}.mp4", case)
    return len(cases) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    # --cases: the name this flag had before the CLI's vocabulary (--num-*), still accepted.
    parser.add_argument(
        "--num-cases", "--cases", dest="num_cases", type=int, default=120, help="cases to export"
    )
    parser.add_argument("--work", help="keep the clips here (default: a temporary folder)")
    parser.add_argument("--no-append", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = pathlib.Path(args.work or tmp)
        start = time.perf_counter()
        table, info = run(args.num_cases, work)
        wall = time.perf_counter() - start
        speed = scoring_speed(info["cases"], info["truth_dir"])
    text = (
        f"### Benchmark calibration: ground truth, baselines, corruptions ({datetime.date.today()})\n\n"
        f"- machine: {platform.node() or 'vm'}, {platform.machine()}, Python {platform.python_version()}\n"
        f"- command: `python benchmarks/bench_calibration.py --num-cases {args.num_cases}`\n"
        f"- {args.num_cases} cases (2 s, 64x64, 16 fps, 5 conditioning frames), every clip through mp4; "
        f"{wall:.0f} s wall\n"
        f"- scoring speed, one core (exported 2 s 64x64 clips, decode + track + metrics): **{speed:.1f} clips/s**\n\n"
        f"{table}\n"
    )
    print(text)
    if not args.no_append:
        with RESULTS.open("a") as f:
            f.write("\n" + text)


if __name__ == "__main__":
    main()
