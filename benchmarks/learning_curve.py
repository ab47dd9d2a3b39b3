r"""Benchmark score against training minutes: a world-model recipe trained in segments and
scored after each, beside the trivial continuations and the autoencoders' ceiling.

    python benchmarks/learning_curve.py --config experiments/cpu_physics.py \
        --workdir runs/curve [--points 6] [--num-cases 60] [--seed 0] [--steps 20] \
        [--set stages.av_dit.steps=3000 ...] [--no-append]

1. The recipe's dataset is simulated (`worldsim data build`, unless it exists) and the
   autoencoders trained (`worldsim train --config.stages.order=video_vae,audio_vae`).
2. The transformer stage trains in `--points` equal segments of its steps (`worldsim
   train --stop-at`; each segment resumes exactly where the last one stopped, so the
   curve's last point is the uninterrupted recipe). A point's training minutes are the
   wall time of everything before it: simulation, autoencoders, latents, segments
   (process starts included); evaluation is not counted.
3. After each segment: the benchmark on one fixed held-out export (`--num-cases` cases,
   all families, in and out of range, conflict cases included), first-frame conditioned
   (`generate_cases`, what `worldsim bench run` does), scored with `score_folder`.
4. On the same cases: the trivial continuations freeze and constant velocity, and the
   autoencoders' round trip of the truth (the ceiling, benchmarks/vae_ceiling.py),
   scored the same way.

Writes WORKDIR/curve.json and WORKDIR/curve.png (overall score against minutes, with the
floors and the ceiling as lines), prints the table at each point and the final point's
per-family table, and appends both to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import pathlib
import subprocess
import sys
import time

import numpy as np

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
BASELINES = ("freeze", "constant_velocity")
LAW_FAMILIES = ("throw", "bounce")  # velocity and gravity targets: in-range cases of these


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "worldsim.cli", *args]


def timed(command: list[str], log: pathlib.Path) -> float:
    """Runs `command` (output to `log`), returns its wall seconds; raises on failure."""
    start = time.perf_counter()
    with log.open("a") as f:
        done = subprocess.run(command, stdout=f, stderr=subprocess.STDOUT)
    if done.returncode != 0:
        raise SystemExit(f"learning_curve: `{' '.join(command)}` failed; see {log}")
    return time.perf_counter() - start


def ensure_dataset(config, log: pathlib.Path) -> tuple[float, str]:
    """Simulates the recipe's dataset (`worldsim data build`) unless it exists: (wall
    seconds, a note for the report: 0 s and "existed" when it was built before)."""
    from data_pipelines import find_dataset_dir

    data_dir = str(config.data.dir)
    try:
        find_dataset_dir(data_dir)
        return 0.0, f"dataset {data_dir} existed (its simulation not counted)"
    except FileNotFoundError:
        pass
    build = cli(
        "data",
        "build",
        "physics_clips",
        "--out",
        data_dir,
        "--num-clips",
        str(config.data.num_clips),
        "--seed",
        "0",
    )
    return timed(build, log), f"dataset simulated: {config.data.num_clips} clips"


def _mean(values) -> float | None:
    finite = [float(v) for v in values if v is not None and np.isfinite(v)]
    return float(np.mean(finite)) if finite else None


def measure(results, truth_dir: pathlib.Path) -> dict:
    """The figures the issue asks for, from the scorer's per-case results."""
    from vae_ceiling import object_frames_tracked

    from worldsim.bench.report import aggregate

    summary = aggregate(results)
    scored = [r for r in results if r.status == "scored"]

    def metric(name, rows):
        return _mean(r.metrics.get(name) for r in rows)

    law = [r for r in scored if r.family in LAW_FAMILIES and r.split_tag == "in_range"]
    inside = [r for r in scored if r.split_tag == "in_range"]
    outside = [r for r in scored if r.split_tag == "out_of_range"]
    v_in, v_out = metric("velocity_error_diag", inside), metric("velocity_error_diag", outside)
    return {
        "overall": summary["overall"]["score"],
        "in_range": summary["in_range"]["score"],
        "out_of_range": summary["out_of_range"]["score"],
        "families": {
            f: {
                k: s[k]["score"] if k != "score" else s["score"]
                for k in ("score", "in_range", "out_of_range")
            }
            for f, s in summary["families"].items()
        },
        "groups": summary["overall"]["groups"],
        "object_frames_tracked": object_frames_tracked(results, truth_dir),
        "velocity_error_law": metric("velocity_error_diag", law),
        "gravity_error_law": metric("gravity_error", law),
        "onset_f1": metric("onset_f1", scored),
        "velocity_error_out_over_in": (v_out / v_in) if v_in and v_out is not None else None,
        "optimism_rate": summary["conflict"].get("optimism_rate"),
        "not_scored": len(results) - len(scored),
    }


def _f(v, fmt="{:.1f}") -> str:
    return "–" if v is None else fmt.format(v)


COLUMNS = (
    ("overall", "overall", "{:.1f}"),
    ("in_range", "in range", "{:.1f}"),
    ("out_of_range", "out of range", "{:.1f}"),
    ("object_frames_tracked", "object-frames tracked", "{:.1%}"),
    ("velocity_error_law", "velocity error (in-range throw+bounce)", "{:.3f}"),
    ("gravity_error_law", "gravity error (same)", "{:.3f}"),
    ("onset_f1", "onset F1", "{:.2f}"),
    ("velocity_error_out_over_in", "velocity error out/in", "{:.2f}"),
    ("optimism_rate", "optimism (conflict cases)", "{:.2f}"),
)


def table(rows: list[tuple[str, dict]]) -> list[str]:
    lines = ["| clips | " + " | ".join(c[1] for c in COLUMNS) + " |"]
    lines.append("|" + "---|" * (len(COLUMNS) + 1))
    for label, m in rows:
        lines.append(f"| {label} | " + " | ".join(_f(m.get(k), f) for k, _, f in COLUMNS) + " |")
    return lines


def family_table(rows: list[tuple[str, dict]]) -> list[str]:
    families = sorted({f for _, m in rows for f in m["families"]})
    lines = ["| clips | " + " | ".join(f"{f} (in / out)" for f in families) + " |"]
    lines.append("|" + "---|" * (len(families) + 1))
    for label, m in rows:
        cells = []
        for f in families:
            s = m["families"].get(f, {})
            cells.append(
                f"{_f(s.get('score'))} ({_f(s.get('in_range'))} / {_f(s.get('out_of_range'))})"
            )
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def plot(points: list[dict], references: dict, path: pathlib.Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    minutes = [p["minutes"] for p in points]
    ax.plot(minutes, [p["overall"] for p in points], "o-", label="model (first frames given)")
    ax2.plot(minutes, [p["object_frames_tracked"] for p in points], "o-", label="model")
    styles = {"ceiling": "g--", "freeze": "r:", "constant_velocity": "m:"}
    for name, m in references.items():
        ax.axhline(m["overall"], linestyle=styles[name][1:], color=styles[name][0], label=name)
        if m.get("object_frames_tracked") is not None:
            ax2.axhline(
                m["object_frames_tracked"],
                linestyle=styles[name][1:],
                color=styles[name][0],
                label=name,
            )
    ax.set(
        xlabel="training minutes (2-core CPU)", ylabel="benchmark overall (0-100)", title="score"
    )
    ax2.set(
        xlabel="training minutes", ylabel="share of object-frames tracked", title="objects kept"
    )
    ax.legend(fontsize=8)
    ax2.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--config", default="experiments/cpu_physics.py")
    parser.add_argument("--workdir", required=True, help="folder for the run, cases and clips")
    parser.add_argument("--points", type=int, default=6, help="transformer segments (points)")
    parser.add_argument("--num-cases", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0, help="the held-out export's seed")
    parser.add_argument("--steps", type=int, default=20, help="sampler steps")
    parser.add_argument("--cfg-scale", type=float, default=3.0)
    parser.add_argument("--batch-size", type=int, default=8, help="cases per sampler call")
    parser.add_argument("--workers", type=int, default=1, help="processes for export/scoring")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="config override (repeatable), e.g. stages.av_dit.steps=3000",
    )
    parser.add_argument("--no-append", action="store_true", help="do not append to RESULTS.md")
    args = parser.parse_args(argv)
    if args.points < 1 or args.num_cases < 1:
        parser.error("--points and --num-cases must be >= 1")

    from results import command_line, machine, publish
    from vae_ceiling import load_codec, write_rows

    from worldsim.bench import calibrate
    from worldsim.bench.cases import read_truth_manifest
    from worldsim.bench.export import export_cases
    from worldsim.bench.scoring import score_folder
    from worldsim.train.config import load_config
    from worldsim.world.generate import SamplerConfig
    from worldsim.world.generate_cases import generate_cases

    work = pathlib.Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    log = work / "train.log"
    overrides = [f"--config.{s}" for s in args.set]
    config, _ = load_config(["--config", args.config, *overrides])
    run = work / "run"
    train = cli("train", "--config", args.config, "--workdir", str(run), *overrides)
    timing: dict[str, float] = {}

    # 1. data and autoencoders (timed: they are part of the recipe's minutes)
    timing["data_s"], data_note = ensure_dataset(config, log)
    timing["autoencoders_s"] = timed(train + ["--config.stages.order=video_vae,audio_vae"], log)

    # the held-out cases, once
    cases, truth = work / "cases", work / "cases-truth"
    if not (truth / "truth_manifest.json").is_file():
        export_cases(
            cases, truth_out=truth, num_cases=args.num_cases, seed=args.seed, workers=args.workers
        )
    ids = [e["id"] for e in read_truth_manifest(truth)["cases"]]

    def score(videos: pathlib.Path) -> dict:
        results, _ = score_folder(cases, truth, videos, workers=args.workers)
        return measure(results, truth)

    references = {}
    _, codec = load_codec(run)
    write_rows(codec, truth, ids, work / "ceiling")
    references["ceiling"] = score(work / "ceiling" / "round_trip")
    for kind in BASELINES:
        calibrate.write_references(truth, kind, work / kind)
        references[kind] = score(work / kind)

    # 2-3. the transformer in segments, scored after each
    total = int(config.stages.av_dit.steps)
    marks = sorted({max(1, round(total * (i + 1) / args.points)) for i in range(args.points)})
    sampler = SamplerConfig(steps=args.steps, cfg_scale=args.cfg_scale)
    before = timing["data_s"] + timing["autoencoders_s"]
    points = []
    for mark in marks:
        before += timed(train + ["--stop-at", str(mark)], log)
        videos = work / f"step_{mark:06d}"
        generate_cases(run, cases, videos, sampler=sampler, batch_size=args.batch_size)
        point = {"step": mark, "minutes": before / 60, **score(videos)}
        points.append(point)
        print("\n".join(table([(f"step {mark} ({point['minutes']:.1f} min)", point)])), flush=True)
    timing["total_training_s"] = before

    rows = [(f"model, step {p['step']} ({p['minutes']:.1f} min)", p) for p in points]
    rows += [(name, m) for name, m in references.items()]
    (work / "curve.json").write_text(
        json.dumps(
            {"points": points, "references": references, "timing": timing, "marks": marks}, indent=1
        )
    )
    plot(points, references, work / "curve.png")
    command = command_line("learning_curve.py", argv)
    last = [rows[len(points) - 1], *rows[len(points) :]]
    text = "\n".join(
        [
            f"#### Learning curve: {args.config} ({datetime.date.today()})",
            "",
            f"- machine: {machine()}, 2 cores",
            f"- command: `{command}`",
            f"- {data_note}; autoencoders {timing['autoencoders_s'] / 60:.1f} min; whole recipe "
            f"{before / 60:.1f} min of training wall time (evaluation not counted); "
            f"{len(ids)} held-out cases (seed {args.seed}), first frames given, sampler "
            f"{args.steps} steps, CFG {args.cfg_scale}; curve: `{work / 'curve.png'}`",
            "",
            *table(rows),
            "",
            "Per family at the last point (score; in range / out of range):",
            "",
            *family_table(last),
            "",
        ]
    )
    publish(text, append=not args.no_append)
    return 0


if __name__ == "__main__":
    sys.exit(main())
