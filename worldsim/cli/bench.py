"""`worldsim bench ...`: thin wrappers over worldsim.bench (and, for `run`, the world model).

This is the command-line layer DESIGN.md names: `bench run` composes export (bench),
generation (worldsim.world) and scoring (bench); bench/ itself imports no model code.
Heavy imports happen inside the handlers so `--help` stays instant.
"""

from __future__ import annotations

import argparse
import sys

from worldsim.cli.args import (
    HelpFormatter,
    add_cases_dir_flag,
    add_families_flag,
    add_num_cases_flag,
    add_render_flags,
    add_sampler_flags,
    positive_int,
    render_config,
    world_run_facts,
)


def cmd_bench_export(args: argparse.Namespace) -> int:
    from worldsim.bench.cases import export_cases
    from worldsim.console import progress

    path = export_cases(
        args.out,
        num_cases=args.num_cases,
        families=args.families,
        seed=args.seed,
        condition_frames=args.condition_frames,
        config=render_config(args),
        with_ground_truth=args.with_ground_truth,
        progress=lambda xs: progress(xs, desc="export", unit="case"),
    )
    print(f"{args.num_cases} cases written to {path.parent} (manifest {path.name}, prompts.csv)")
    return 0


def _score_and_report(cases: str, videos: str, out: str, fit: str, title: str) -> int:
    from worldsim.bench.cases import read_manifest
    from worldsim.bench.report import aggregate, write_report
    from worldsim.bench.scoring import score_folder

    results, timing = score_folder(cases, videos, fit=fit)
    js, page = write_report(out, results, read_manifest(cases), timing, cases, title)
    summary = aggregate(results)
    status = summary["status"]
    print(
        f"score {summary['overall']['score']:.1f} / 100 over {len(results)} cases "
        f"({status['scored']} scored, {status['missing']} missing, {status['unreadable']} "
        f"unreadable, {status['error']} failed: they score 0); "
        f"{timing['clips_per_second']:.1f} clips/s"
    )
    for r in results:
        if r.status != "scored":
            print(f"  {r.case_id}: {r.status}{': ' + r.error if r.error else ''}", file=sys.stderr)
    print(f"wrote {js} and {page}")
    return 0


def cmd_bench_score(args: argparse.Namespace) -> int:
    return _score_and_report(
        args.cases_dir, args.videos_dir, args.out, args.fit, args.title or f"{args.videos_dir}"
    )


def cmd_bench_run(args: argparse.Namespace) -> int:
    """Export (unless --cases-dir), generate a clip per case with our model, score."""
    from pathlib import Path

    from worldsim.bench.cases import export_cases
    from worldsim.world.generate import SamplerConfig
    from worldsim.world.generate_cases import generate_cases

    world_run_facts(args.workdir)  # a trained world model, before any case is exported
    from worldsim.train.lock import check_writable_dir

    out = check_writable_dir(args.out, what="--out")
    cases = Path(args.cases_dir) if args.cases_dir else out / "cases"
    if not (cases / "manifest.json").is_file():
        export_cases(
            cases,
            num_cases=args.num_cases,
            families=args.families,
            seed=args.seed,
            condition_frames=args.condition_frames,
            config=render_config(args),
        )
    sampler = SamplerConfig(steps=args.steps, solver=args.solver, cfg_scale=args.cfg_scale)
    generate_cases(
        args.workdir,
        cases,
        out / "videos",
        sampler=sampler,
        batch_size=args.batch_size,
        seed=args.seed,
    )
    return _score_and_report(
        str(cases), str(out / "videos"), str(out), "stretch", f"worldsim model {args.workdir}"
    )


def cmd_bench_reference(args: argparse.Namespace) -> int:
    """Baselines and corruptions of the ground truth, one mp4 per case that it applies to."""
    from pathlib import Path

    from worldsim.bench import calibrate
    from worldsim.bench.cases import load_cases
    from worldsim.console import progress
    from worldsim.media.video_io import write_mp4

    written = 0
    for case in progress(load_cases(args.cases_dir), desc=args.kind, unit="case"):
        if args.command_kind == "baseline":
            video, audio = calibrate.baseline(case, args.kind)
        elif calibrate.applies(case, args.kind):
            video, audio = calibrate.corrupt(case, args.kind)
        else:
            continue
        write_mp4(Path(args.out) / f"{case.case_id}.mp4", video, audio, case.fps, case.sample_rate)
        written += 1
    print(f"{written} clips written to {args.out}")
    return 0


# Checked in tests against worldsim.bench.calibrate (kept literal so --help stays instant).
BASELINES = ("freeze", "constant_velocity")
CORRUPTIONS = ("teleport", "gravity", "remove", "audio_delay", "mute_impacts", "miss_to_make")


def add_parser(commands, common: argparse.ArgumentParser) -> None:
    bench = commands.add_parser(
        "bench",
        parents=[common],
        help="physics-consistency benchmark: export cases, score any model's clips",
        formatter_class=HelpFormatter,
        description=(
            "A benchmark grounded in the simulator. `export` writes cases (conditioning clip "
            "with sound, caption, ground truth); a model continues each case to its full length "
            "as CLIPS/<id>.mp4 (any resolution and frame rate); `score` tracks the objects and "
            "impact sounds in those files and compares them with the simulator."
        ),
        epilog=(
            "benchmarking another model's clips:\n"
            "  worldsim bench export --out cases            # cases/prompts.csv + cases/condition/*.mp4\n"
            "  (your model: cases/condition/<id>.mp4 + caption -> clips/<id>.mp4, whole clip from t=0)\n"
            "  worldsim bench score --cases-dir cases --videos-dir clips --out report"
        ),
    )
    sub = bench.add_subparsers(dest="bench_command", required=True, metavar="SUBCOMMAND")

    def subcommand(name: str, **kwargs):
        return sub.add_parser(name, parents=[common], formatter_class=HelpFormatter, **kwargs)

    def case_flags(p, default_cases: int):
        add_num_cases_flag(p, default_cases)
        add_families_flag(p)
        p.add_argument("--seed", type=int, default=0, help="seed; same seed => same cases")
        p.add_argument(
            "--condition-frames", type=positive_int, default=5, help="frames given to the model"
        )
        add_render_flags(p)

    export = subcommand(
        "export",
        help="write benchmark cases",
        description=(
            "Write cases cycling through the families: in-range, out-of-range and conflict "
            "cases (the caption asserts an outcome physics will not produce). Per case: "
            "condition/<id>.mp4 (the first K frames with sound), truth/<id>.json; prompts.csv "
            "and manifest.json list them."
        ),
    )
    export.add_argument("--out", required=True, help="output folder (the cases folder)")
    export.add_argument(
        "--with-ground-truth", action="store_true", help="also write the simulator's full clips"
    )
    case_flags(export, 120)
    export.set_defaults(handler=cmd_bench_export)

    score = subcommand(
        "score",
        help="score a folder of clips named <id>.mp4",
        description=(
            "Score CLIPS/<id>.mp4 against the cases (resampled to each case's resolution and "
            "frame rate). Missing, unreadable and failing clips are listed and score 0. Writes "
            "OUT/report.json and a self-contained OUT/report.html."
        ),
    )
    add_cases_dir_flag(score, required=True, help="folder written by `bench export`")
    score.add_argument(
        "--videos-dir", required=True, metavar="CLIPS", help="folder of <id>.mp4 clips"
    )
    score.add_argument("--out", required=True, help="report folder")
    score.add_argument(
        "--fit",
        choices=("stretch", "crop"),
        default="stretch",
        help="clips of another aspect ratio: stretch to the case's frame or centre-crop",
    )
    score.add_argument("--title", help="report title (default: the clips folder)")
    score.set_defaults(handler=cmd_bench_score)

    run = subcommand(
        "run",
        help="export, generate with a worldsim model, and score",
        description="Generate every case with the world model in --workdir, then score it.",
    )
    run.add_argument("--workdir", required=True, help="run directory of `worldsim train`")
    run.add_argument("--out", required=True, help="report folder (cases/ and videos/ go inside)")
    add_cases_dir_flag(run, required=False, help="existing cases (default: export to OUT/cases)")
    case_flags(run, 24)
    add_sampler_flags(run)
    run.add_argument("--batch-size", type=positive_int, default=8, help="cases per sampler call")
    run.set_defaults(handler=cmd_bench_run)

    for name, kinds, what in (
        (
            "baseline",
            BASELINES,
            "trivial baselines: freeze the last conditioning frame, or extrapolate at constant velocity",
        ),
        (
            "corrupt",
            tuple(CORRUPTIONS),
            "the ground truth with one thing wrong (for calibrating metrics)",
        ),
    ):
        p = subcommand(name, help=what, description=what)
        add_cases_dir_flag(p, required=True, help="folder written by `bench export`")
        p.add_argument("--kind", required=True, choices=kinds)
        p.add_argument("--out", required=True, help="folder for <id>.mp4 clips")
        p.set_defaults(handler=cmd_bench_reference, command_kind=name)
