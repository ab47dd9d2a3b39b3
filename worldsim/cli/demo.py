"""`worldsim demo --workdir RUN [--out DIR]`: the demo page of a trained world model."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from worldsim.cli.args import HelpFormatter, add_sampler_flags, positive_int, world_run_facts


def run(args: argparse.Namespace) -> int:
    from worldsim.errors import WorldsimError
    from worldsim.train.lock import check_writable_dir

    workdir = Path(args.workdir)
    data_dir = Path(world_run_facts(workdir)["data"]["dir"])
    if not data_dir.is_dir():
        raise WorldsimError(
            f"the run's dataset {data_dir} (data.dir in {workdir / 'config.json'}) is not "
            f"there: build it with `worldsim data build physics_clips --out {data_dir}`"
        )
    if args.bench:
        check_bench_dir(Path(args.bench))  # before any work
    out = check_writable_dir(args.out or workdir.parent / f"{workdir.name}-demo", what="--out")

    from worldsim.world.demo import build_demo

    figures = build_demo(
        workdir,
        out,
        num_clips=args.num_clips,
        steps=args.steps,
        solver=args.solver,
        cfg_scale=args.cfg_scale,
    )
    if args.bench:
        figures["benchmark"] = bench_figures(Path(args.bench))
        (out / "demo.json").write_text(json.dumps(figures, indent=1))
    print(json.dumps(figures, indent=1))
    print(f"open {figures['page']}")
    return 0


FLOORS = ("freeze", "constant_velocity")  # trivial continuations scored beside the model


def _summary_figures(summary: dict) -> dict:
    overall = summary["overall"]
    tracked = overall["metrics"]["tracked_share"]["mean"]
    return {
        "score": overall["score"],
        "tracked_share": tracked,
        "in_range": summary["in_range"]["score"],
        "out_of_range": summary["out_of_range"]["score"],
    }


def check_bench_dir(bench_dir: Path) -> None:
    from worldsim.errors import WorldsimError

    for need in ("report.json", "cases/manifest.json", "cases-truth/truth_manifest.json"):
        if not (bench_dir / need).is_file():
            raise WorldsimError(
                f"--bench {bench_dir}: no {need} (write it with `worldsim bench run --out {bench_dir}`)"
            )


def bench_figures(bench_dir: Path) -> dict:
    """The model's benchmark figures from `worldsim bench run`'s report in `bench_dir`, beside
    the trivial continuations (FLOORS) of the same cases, scored the same way here.

    score: 0-100 (worldsim.bench.score); tracked_share: the mean over cases of the worst
    object's share of its frames the tracker found (metrics.METRICS)."""
    from worldsim.bench import calibrate
    from worldsim.bench.report import aggregate
    from worldsim.bench.scoring import score_folder

    check_bench_dir(bench_dir)
    report = bench_dir / "report.json"
    model = json.loads(report.read_text())
    cases, truth = bench_dir / "cases", bench_dir / "cases-truth"
    figures = {"report": str(report), "cases": model["summary"]["overall"]["cases"]}
    figures["model"] = _summary_figures(model["summary"])
    for kind in FLOORS:
        folder = bench_dir / "baselines" / kind
        calibrate.write_references(truth, kind, folder)
        results, _ = score_folder(cases, truth, folder)
        figures[kind] = _summary_figures(aggregate(results))
    return figures


def add_parser(commands, common: argparse.ArgumentParser) -> None:
    demo = commands.add_parser(
        "demo",
        parents=[common],
        help="the demo page of a trained world model (clips with sound beside the simulator)",
        formatter_class=HelpFormatter,
        description=(
            "For a few validation clips of the run's own dataset (data.dir in the run's "
            "config.json): the simulator's clip, a sample from its caption and a sample given "
            "its first frames, with sound, on one page (OUT/index.html) with demo.json. "
            "The run directory is only read."
        ),
    )
    demo.add_argument("--workdir", required=True, help="run directory of `worldsim train`")
    demo.add_argument("--out", help="folder for index.html and the clips (default: RUN-demo)")
    demo.add_argument("--num-clips", type=positive_int, default=3, help="validation clips shown")
    demo.add_argument(
        "--bench",
        metavar="DIR",
        help="a `worldsim bench run --out DIR` of this run: its score and tracked share go into "
        "demo.json beside the trivial continuations' on the same cases",
    )
    add_sampler_flags(demo)
    demo.set_defaults(handler=run)
