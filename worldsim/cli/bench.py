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


def _export(args: argparse.Namespace, out, truth_out):
    """`export_cases` with the case flags export and run share; both manifests' paths."""
    from worldsim.bench.export import export_cases

    return export_cases(
        out,
        truth_out=truth_out,
        num_cases=args.num_cases,
        families=args.families,
        seed=args.seed,
        condition_frames=args.condition_frames,
        config=render_config(args),
        workers=args.workers,
    )


def cmd_bench_export(args: argparse.Namespace) -> int:
    cases, truth = _export(args, args.out, args.truth_out)
    print(
        f"{args.num_cases} cases written: give {cases.parent} to the model (manifest.json, "
        f"prompts.csv, condition/); keep {truth.parent} for scoring (the ground truth)"
    )
    return 0


def _score_and_report(
    cases: str, truth: str, videos: str, out: str, fit: str, title: str, workers: int
) -> int:
    from worldsim.bench.cases import read_truth_manifest
    from worldsim.bench.report import aggregate, write_report
    from worldsim.bench.scoring import check_folder, score_folder
    from worldsim.train.lock import check_writable_dir

    check_folder(cases, truth, videos)  # every input, then the output, before any work
    check_writable_dir(out, what="--out")
    results, timing = score_folder(cases, truth, videos, fit=fit, workers=workers)
    js, page = write_report(out, results, read_truth_manifest(truth), timing, truth, title)
    summary = aggregate(results)
    status = summary["status"]
    piq = summary["overall"]["physics_iq"]["score"]
    print(
        f"score {summary['overall']['score']:.1f} / 100 over {len(results)} cases "
        f"({status['scored']} scored, {status['missing']} missing, {status['unreadable']} "
        f"unreadable, {status['error']} failed: they score 0); Physics-IQ-style score "
        f"{'–' if piq is None else f'{piq:.1f}'} (not in the score); "
        f"{timing['clips_per_second']:.1f} clips/s with {workers} worker(s)"
    )
    for r in results:
        if r.status != "scored":
            print(f"  {r.case_id}: {r.status}{': ' + r.error if r.error else ''}", file=sys.stderr)
        for flag in r.flags:
            print(f"  {r.case_id}: {flag}", file=sys.stderr)
    if timing["unmatched"]:
        names = ", ".join(timing["unmatched"][:10])
        more = len(timing["unmatched"]) - 10
        print(
            f"  {len(timing['unmatched'])} file(s) in {videos} match no case: {names}"
            + (f" and {more} more" if more > 0 else ""),
            file=sys.stderr,
        )
    print(f"wrote {js} and {page}")
    return 0


def cmd_bench_score(args: argparse.Namespace) -> int:
    return _score_and_report(
        args.cases_dir,
        args.truth_dir,
        args.videos_dir,
        args.out,
        args.fit,
        args.title or f"{args.videos_dir}",
        args.workers,
    )


def cmd_bench_run(args: argparse.Namespace) -> int:
    """Export (unless --cases-dir), generate a clip per case with our model, score."""
    from pathlib import Path

    from worldsim.bench.cases import check_same_export
    from worldsim.bench.export import default_truth_dir
    from worldsim.world.generate import SamplerConfig
    from worldsim.world.generate_cases import generate_cases

    world_run_facts(args.workdir)  # a trained world model, before any case is exported
    from worldsim.train.lock import check_writable_dir

    out = check_writable_dir(args.out, what="--out")
    if args.cases_dir:
        cases = Path(args.cases_dir)
        truth = Path(args.truth_dir) if args.truth_dir else default_truth_dir(cases)
        check_same_export(cases, truth)
    else:
        cases = out / "cases"
        truth = default_truth_dir(cases)
        if (cases / "manifest.json").is_file() and (truth / "truth_manifest.json").is_file():
            check_same_export(cases, truth)
            print(f"reusing the cases in {cases} (delete it to export others)", file=sys.stderr)
        else:
            _export(args, cases, truth)
    sampler = SamplerConfig(steps=args.steps, solver=args.solver, cfg_scale=args.cfg_scale)
    generate_cases(
        args.workdir,
        cases,
        out / "videos",
        sampler=sampler,
        batch_size=args.batch_size,
        seed=args.noise_seed,
    )
    return _score_and_report(
        str(cases),
        str(truth),
        str(out / "videos"),
        str(out),
        "stretch",
        f"worldsim model {args.workdir}",
        args.workers,
    )


def cmd_bench_reference(args: argparse.Namespace) -> int:
    """Trivial continuations and corruptions of the ground truth, one mp4 per case."""
    from worldsim.bench import calibrate

    written = calibrate.write_references(
        args.truth_dir, args.kind, args.out, corruption=args.command_kind != "baseline"
    )
    print(f"{written} clips written to {args.out}")
    return 0


# Checked in tests against worldsim.bench.calibrate (kept literal so --help stays instant).
BASELINES = ("freeze", "constant_velocity", "background", "colour_noise", "loop")
CORRUPTIONS = ("teleport", "gravity", "remove", "audio_delay", "mute_impacts", "miss_to_make")


def add_parser(commands, common: argparse.ArgumentParser) -> None:
    bench = commands.add_parser(
        "bench",
        parents=[common],
        help="physics-consistency benchmark: export cases, score any model's clips",
        formatter_class=HelpFormatter,
        description=(
            "A benchmark grounded in the simulator. `export` writes the cases a model is given "
            "(conditioning clip with sound, caption) and, apart, their ground truth; a model "
            "continues each case to its full length as CLIPS/<id>.mp4 (any resolution and frame "
            "rate); `score` tracks the objects and impact sounds in those files and compares them "
            "with the simulator: 100 is the simulator's own clip, 0 the best trivial "
            "continuation (freezing, extrapolating, background, noise, looping)."
        ),
        epilog=(
            "benchmarking another model's clips:\n"
            "  worldsim bench export --out cases --truth-out truth   # give cases/ to the model\n"
            "  (your model: cases/condition/<id>.mp4 + caption -> clips/<id>.mp4, whole clip from t=0)\n"
            "  worldsim bench score --cases-dir cases --truth-dir truth --videos-dir clips --out report"
        ),
    )
    sub = bench.add_subparsers(dest="bench_command", required=True, metavar="SUBCOMMAND")

    def subcommand(name: str, **kwargs):
        return sub.add_parser(name, parents=[common], formatter_class=HelpFormatter, **kwargs)

    def workers_flag(p):
        p.add_argument(
            "--workers", type=positive_int, default=1, help="cases in parallel (processes)"
        )

    def case_flags(p, default_cases: int):
        add_num_cases_flag(p, default_cases)
        add_families_flag(p)
        p.add_argument(
            "--seed",
            type=int,
            help="export seed: same seed => same cases, and anyone who knows it can re-simulate "
            "them (default: a secret one, kept in the truth folder only)",
        )
        p.add_argument(
            "--condition-frames", type=positive_int, default=5, help="frames given to the model"
        )
        add_render_flags(p)

    export = subcommand(
        "export",
        help="write benchmark cases (for the model) and their ground truth (for the scorer)",
        description=(
            "Write cases cycling through the families: in-range, out-of-range and conflict "
            "cases (the caption asserts an outcome physics will not produce). --out gets what a "
            "model is given: condition/<id>.mp4 (the first K frames with sound), prompts.csv "
            "and manifest.json. --truth-out gets the ground truth: <id>.json (states, contacts, "
            "scene parameters, score references) and <id>.mp4 (the simulator's full clip); keep "
            "it away from the model."
        ),
    )
    export.add_argument("--out", required=True, help="the cases folder (what a model is given)")
    export.add_argument("--truth-out", help="the truth folder (default: OUT-truth beside OUT)")
    case_flags(export, 120)
    workers_flag(export)
    export.set_defaults(handler=cmd_bench_export)

    score = subcommand(
        "score",
        help="score a folder of clips named <id>.mp4",
        description=(
            "Score CLIPS/<id>.mp4 against the cases (resampled to each case's resolution and "
            "frame rate). Missing, unreadable and failing clips are listed and score 0; clips "
            "shorter or longer than their case are scored on the overlap and flagged; files "
            "that match no case are listed. Writes OUT/report.json and a self-contained "
            "OUT/report.html."
        ),
    )
    add_cases_dir_flag(score, required=True, help="folder written by `bench export --out`")
    score.add_argument(
        "--truth-dir", required=True, metavar="TRUTH", help="folder written by `--truth-out`"
    )
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
    workers_flag(score)
    score.set_defaults(handler=cmd_bench_score)

    run = subcommand(
        "run",
        help="export, generate with a worldsim model, and score",
        description="Generate every case with the world model in --workdir, then score it.",
    )
    run.add_argument("--workdir", required=True, help="run directory of `worldsim train`")
    run.add_argument(
        "--out", required=True, help="report folder (cases/, cases-truth/ and videos/ go inside)"
    )
    add_cases_dir_flag(run, required=False, help="existing cases (default: export to OUT/cases)")
    run.add_argument(
        "--truth-dir", metavar="TRUTH", help="their truth (default: CASES-truth beside CASES)"
    )
    case_flags(run, 24)
    workers_flag(run)
    add_sampler_flags(run)
    run.add_argument("--batch-size", type=positive_int, default=8, help="cases per sampler call")
    run.add_argument(
        "--noise-seed",
        type=int,
        default=0,
        help="sampler noise: each case's from (this, its id), so a resumed run draws the same",
    )
    run.set_defaults(handler=cmd_bench_run)

    for name, kinds, what in (
        (
            "baseline",
            BASELINES,
            "trivial continuations: freeze the last conditioning frame, extrapolate at constant "
            "velocity, the background alone, colour noise, the conditioning looped",
        ),
        (
            "corrupt",
            tuple(CORRUPTIONS),
            "the ground truth with one thing wrong (for calibrating metrics)",
        ),
    ):
        p = subcommand(name, help=what, description=what)
        p.add_argument(
            "--truth-dir", required=True, metavar="TRUTH", help="folder written by `--truth-out`"
        )
        p.add_argument("--kind", required=True, choices=kinds)
        p.add_argument("--out", required=True, help="folder for <id>.mp4 clips")
        p.set_defaults(handler=cmd_bench_reference, command_kind=name)
