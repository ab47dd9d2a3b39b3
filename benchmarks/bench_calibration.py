"""What the benchmark's numbers mean: the truth, trivial continuations and corruptions, scored.

    python benchmarks/bench_calibration.py [--num-cases 120] [--seed 0] [--workers 2]
        [--work DIR] [--no-append]
    python benchmarks/bench_calibration.py --floors --seed 1   # derive the score floors

Exports cases (seed 0 by default: the table's seed; the score floors in score.py were
derived on the disjoint seed-1 export with --floors), writes for each
(calibrate.calibration_clips) the simulator's clip as exported, re-drawn at 128x128 /
32 fps, re-encoded at 96x96, re-drawn at 48x48 / 8 fps, every trivial continuation and
every corruption that applies, all as mp4, and scores them all through `score_file`
(what `worldsim bench score` does). Prints and appends to benchmarks/RESULTS.md:

1. per variant: overall score (all cases, and the cases where something moves after
   the conditioning), the score group of the law a corruption breaks, and the
   Physics-IQ-style score (physics_iq.py) over the same clips;
2. the Spearman rank correlation between the overall and the Physics-IQ-style score over
   the variants, and over the video-only ones (Physics-IQ cannot hear);
3. per corruption, the metric meant to catch it against the ground truth's range;
4. with --floors: each scored metric's error on the truth clips against its floor.
"""

from __future__ import annotations

import argparse
import datetime
import json
import pathlib
import platform
import tempfile
import time

import numpy as np

from worldsim.bench import calibrate, physics_iq
from worldsim.bench.cases import read_truth_manifest
from worldsim.bench.export import export_cases
from worldsim.bench.parallel import parallel_map
from worldsim.bench.score import SCORED
from worldsim.bench.scoring import score_calibration_case

RESULTS = pathlib.Path(__file__).with_name("RESULTS.md")
TRUTH_AT_FORMAT = calibrate.TRUTH_AT_FORMAT  # 8 fps loses information: not in the range
AUDIO_ONLY = ("audio_delay", "mute_impacts")  # the frames are the truth's


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "–"
    if np.isinf(v):
        return "inf"
    return f"{v:.3g}"


def variant_table(rows: list[dict]) -> tuple[list[str], dict]:
    names = list(dict.fromkeys(n for r in rows for n in r["clips"]))
    lines = [
        "| clips | n | overall (all cases) | overall (cases that move) | min | max | group of the law broken | Physics-IQ-style score |",
        "|---|---|---|---|---|---|---|---|",
    ]
    stats = {}
    for name in names:
        have = [r for r in rows if name in r["clips"]]
        scores = np.asarray([r["clips"][name]["score"] for r in have])
        moving = np.asarray([r["clips"][name]["score"] for r in have if r["moves"]])
        gvals = []
        for r in have:
            group = calibrate.broken_group(name, r["clips"]["truth"]["groups"])
            if group is not None:
                gvals.append(r["clips"][name]["groups"].get(group, 0.0))
        piq = physics_iq.score(
            [r["clips"][name]["physics_iq"] for r in have],
            [r["clips"][name]["variance"] for r in have],
        )["physics_iq"]
        stats[name] = {"overall": float(scores.mean()), "physics_iq": piq}
        lines.append(
            f"| {name} | {len(have)} | {scores.mean():.1f} | "
            f"{moving.mean() if moving.size else float('nan'):.1f} (n={moving.size}) | "
            f"{scores.min():.1f} | {scores.max():.1f} | "
            + (f"{'/'.join(calibrate.BROKEN_GROUP[name])} {np.mean(gvals):.1f}" if gvals else "–")
            + f" | {piq:.1f} |"
        )
    return lines, stats


def spearman(stats: dict, names: list[str]) -> float:
    import scipy.stats

    a = [stats[n]["overall"] for n in names]
    b = [stats[n]["physics_iq"] for n in names]
    return float(scipy.stats.spearmanr(a, b).statistic)


def corruption_table(rows: list[dict]) -> list[str]:
    def values(name, metric):
        v = [r["clips"][name]["metrics"].get(metric) for r in rows if name in r["clips"]]
        return np.asarray([x for x in v if x is not None], float)

    lines = [
        "| corruption | metric | ground truth (all formats >= the case's) min / max | corrupted min / median / max | caught |",
        "|---|---|---|---|---|",
    ]
    for kind, (metric, direction) in calibrate.CORRUPTIONS.items():
        truth = np.concatenate([values(t, metric) for t in TRUTH_AT_FORMAT])
        bad = values(kind, metric)
        if not bad.size:
            lines.append(f"| {kind} | {metric} | | none applicable | |")
            continue
        caught = (bad > truth.max()) if direction > 0 else (bad < truth.min())
        lines.append(
            f"| {kind} | {metric} | {_fmt(truth.min())} / {_fmt(truth.max())} | "
            f"{_fmt(bad.min())} / {_fmt(np.median(bad))} / {_fmt(bad.max())} | {caught.sum()}/{bad.size} |"
        )
    return lines


def floor_table(rows: list[dict]) -> list[str]:
    lines = [
        "| scored metric | floor (full marks) | zero | truth clips within the floor | p95 | max |",
        "|---|---|---|---|---|---|",
    ]
    for spec in SCORED:
        v = [r["clips"][t]["metrics"].get(spec.metric) for r in rows for t in TRUTH_AT_FORMAT]
        v = np.asarray([x for x in v if x is not None], float)
        if not v.size:
            continue
        e = 1 - v if spec.invert else v
        lines.append(
            f"| {spec.metric} | {_fmt(spec.floor)} | {_fmt(spec.zero)} | "
            f"{(e <= spec.floor + 1e-9).mean():.1%} of {e.size} | {_fmt(np.percentile(e, 95))} | {_fmt(e.max())} |"
        )
    return lines


def run(num_cases: int, seed: int, workers: int, work: pathlib.Path) -> list[dict]:
    cases_dir, truth_dir = work / "cases", work / "truth"
    if not (truth_dir / "truth_manifest.json").is_file():
        export_cases(
            cases_dir, truth_out=truth_dir, num_cases=num_cases, seed=seed, workers=workers
        )
    ids = [e["id"] for e in read_truth_manifest(truth_dir)["cases"]]
    jobs = [(str(truth_dir), i, str(work / "clips")) for i in ids]
    return list(parallel_map(score_calibration_case, jobs, workers=workers, desc="calibrate"))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    # --cases: the name this flag had before the CLI's vocabulary (--num-*), still accepted.
    parser.add_argument(
        "--num-cases", "--cases", dest="num_cases", type=int, default=120, help="cases to export"
    )
    parser.add_argument("--seed", type=int, default=0, help="export seed (floors: use 1)")
    parser.add_argument("--workers", type=int, default=2, help="cases in parallel")
    parser.add_argument("--floors", action="store_true", help="the floor table only")
    parser.add_argument("--work", help="keep the clips here (default: a temporary folder)")
    parser.add_argument("--no-append", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = pathlib.Path(args.work or tmp)
        start = time.perf_counter()
        rows = run(args.num_cases, args.seed, args.workers, work)
        wall = time.perf_counter() - start
        if args.work:  # every number, for a closer look
            (work / "rows.json").write_text(json.dumps(rows, default=float))
    command = (
        f"python benchmarks/bench_calibration.py --num-cases {args.num_cases} --seed {args.seed}"
        + (" --floors" if args.floors else "")
    )
    header = [
        f"### Benchmark calibration v2{' (floors)' if args.floors else ''}: seed {args.seed} ({datetime.date.today()})",
        "",
        f"- machine: {platform.node() or 'vm'}, {platform.machine()}, Python {platform.python_version()}",
        f"- command: `{command}`",
        f"- {len(rows)} cases (2 s, 64x64, 16 fps, 5 conditioning frames; "
        f"{sum(r['moves'] for r in rows)} move after the conditioning), every clip through mp4; "
        f"{wall:.0f} s wall with {args.workers} workers",
        "",
    ]
    if args.floors:
        body = floor_table(rows)
    else:
        lines, stats = variant_table(rows)
        names = list(stats)
        video = [n for n in names if n not in AUDIO_ONLY]
        body = lines + [
            "",
            f"Spearman rank correlation, overall vs Physics-IQ-style score: "
            f"**{spearman(stats, names):.2f}** over all {len(names)} variants, "
            f"**{spearman(stats, video):.2f}** over the {len(video)} video-only ones.",
            "",
        ]
        body += corruption_table(rows) + [""] + floor_table(rows)
    text = "\n".join(header + body) + "\n"
    print(text)
    if not args.no_append:
        with RESULTS.open("a") as f:
            f.write("\n" + text)


if __name__ == "__main__":
    main()
