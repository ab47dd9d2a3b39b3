"""`worldsim` command line: thin wrappers over importable functions.

    worldsim data build physics_clips --out DIR [--num-clips N] [--seed S] [--families ...]
    worldsim data build video_folder --src FOLDER --out DIR
    worldsim data show DIR --split SPLIT --index I --out FILE.mp4
    worldsim data stats DIR
    worldsim data tokenizer DIR [--vocab-size N]
    worldsim train --config experiments/NAME.py[:ARG] --workdir DIR [--config.a.b=V ...]
    worldsim train --config experiments/NAME.py --dry-run --topology v5p-512
    worldsim generate --workdir DIR --prompt "..." [--seconds S] [--init-video F --init-frames K]
                      [--reference F] [--previous-shot F] [--num-samples N] --out OUT.mp4
    worldsim bench export --out CASES [--cases N] [--families ...] [--seed S] [--with-ground-truth]
    worldsim bench score --cases CASES --videos CLIPS --out REPORT
    worldsim bench run --workdir RUN --out REPORT [--cases-dir CASES] [--num-cases N]
    worldsim bench baseline|corrupt --cases CASES --kind KIND --out CLIPS

Heavy imports (TFDS, grain, imageio) happen inside the handlers so `--help` stays instant.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from worldsim.bench_cli import BASELINES, CORRUPTIONS, add_bench_parser  # noqa: F401
from worldsim.cli_args import FAMILIES
from worldsim.cli_args import add_render_flags as _add_render_flags
from worldsim.cli_args import parse_families as _families
from worldsim.cli_args import render_config as _render_config


def cmd_build_physics(args: argparse.Namespace) -> int:
    from data_pipelines import build_physics_clips

    path = build_physics_clips(
        args.out,
        num_clips=args.num_clips,
        seed=args.seed,
        families=args.families,
        config=_render_config(args),
    )
    print(f"physics_clips written to {path}")
    return 0


def cmd_build_video_folder(args: argparse.Namespace) -> int:
    from data_pipelines import build_video_folder

    path, stats = build_video_folder(args.src, args.out, config=_render_config(args))
    print(f"video_folder written to {path}")
    print(json.dumps(stats, indent=2, sort_keys=True))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from data_pipelines.show import show_example

    written = show_example(args.dir, split=args.split, index=args.index, out_mp4=args.out)
    for path in written:
        print(f"wrote {path}")
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    from data_pipelines import dataset_stats
    from data_pipelines.show import format_stats

    stats = dataset_stats(args.dir)
    print(json.dumps(stats, indent=2, sort_keys=True) if args.json else format_stats(stats))
    return 0


def cmd_tokenizer(args: argparse.Namespace) -> int:
    from data_pipelines import catalog
    from data_pipelines.tokenizer import Tokenizer, train_tokenizer

    path = train_tokenizer(args.dir, vocab_size=args.vocab_size)
    tokenizer = Tokenizer.load(path)
    print(f"tokenizer written to {path} (vocab size {tokenizer.vocab_size})")
    caption = catalog.open_split(args.dir, "train", skip=catalog.HEAVY_FIELDS)[0]["caption"]
    ids = tokenizer.encode([caption], max_len=64)[0]
    print(f"sample: {caption.decode('utf-8')!r}")
    print(f"  ids: {ids[ids != tokenizer.PAD_ID].tolist()}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from worldsim.parallel import maybe_initialize

    # Joins the process group before anything touches a device (no-op for one process).
    maybe_initialize(args.coordinator, args.num_processes, args.process_id)
    if args.dry_run:
        import jax

        # Compile-only TPU devices sit beside the CPU backend; keeping JAX's own backend
        # on the CPU stops libtpu from probing for a chip (noise on stderr, a lock file).
        jax.config.update("jax_platforms", "cpu")
        from worldsim.train.dry_run import dry_run

        config = args.config
        if config.model.kind == "world_model":  # the transformer stage is the one to size
            from worldsim.world.stages import stage_config

            config = stage_config(config, "av_dit")
        report = dry_run(config, args.topology)
        return 0 if report.fits else 1
    if args.config.model.kind == "world_model":  # staged: video VAE, audio VAE, transformer
        from worldsim.world.stages import train_world

        result = train_world(args.config, args.workdir, stop_at=args.stop_at)
    else:
        from worldsim.train.trainer import train

        result = train(args.config, args.workdir, stop_at=args.stop_at)
    return 0 if result.status in ("done", "interrupted") else 1


def cmd_generate(args: argparse.Namespace) -> int:
    from worldsim.world.generate_cli import run_generate

    for path in run_generate(args):
        print(path)
    return 0


def _add_generate_parser(commands) -> None:
    gen = commands.add_parser(
        "generate",
        help="generate clips with sound from a trained world model",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Sample video with its sound from the world model in --workdir (the transformer "
            "stage's EMA weights) and write mp4 files (H.264 + AAC). Context clips are given "
            "in context: --init-video with --init-frames K holds its first K frames, "
            "--reference injects a subject from a clip, --previous-shot continues a shot."
        ),
        epilog=(
            "examples:\n"
            '  worldsim generate --workdir runs/tiny --prompt "a red ball bounces" --out a.mp4\n'
            "  worldsim generate --workdir runs/tiny --prompts-file prompts.txt --num-samples 2 \\\n"
            "      --seconds 3 --out outs/clip.mp4\n"
            '  worldsim generate --workdir runs/tiny --prompt "..." --init-video in.mp4 '
            "--init-frames 5 --out cont.mp4"
        ),
    )
    gen.add_argument("--workdir", required=True, help="run directory of `worldsim train`")
    gen.add_argument("--prompt", action="append", default=[], help="caption (repeatable)")
    gen.add_argument("--prompts-file", help="one caption per line")
    gen.add_argument("--seconds", type=float, help="duration (default: one window)")
    gen.add_argument("--init-video", help="video whose first frames the output starts with")
    gen.add_argument("--init-frames", type=int, default=0, help="how many first frames to keep")
    gen.add_argument("--reference", help="clip to take a subject from (cameo)")
    gen.add_argument("--previous-shot", help="the shot before this one (multi-shot)")
    gen.add_argument("--num-samples", type=int, default=1, help="samples per prompt")
    gen.add_argument("--steps", type=int, default=20, help="ODE steps")
    gen.add_argument("--solver", choices=("euler", "heun"), default="heun")
    gen.add_argument("--cfg-scale", type=float, default=3.0, help="classifier-free guidance")
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument("--raw-params", action="store_true", help="use raw params, not the EMA")
    gen.add_argument(
        "--out", required=True, help="OUT.mp4; several outputs become OUT_p<prompt>_s<sample>.mp4"
    )
    gen.set_defaults(handler=cmd_generate)


def _add_train_parser(commands) -> None:
    train = commands.add_parser(
        "train",
        help="train from an experiment config (resumes from the workdir)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Train the model of an experiment config on a device mesh. Checkpoints, "
            "metrics.jsonl and TensorBoard events go to --workdir; starting the same command "
            "again resumes from the newest readable checkpoint. SIGTERM/SIGINT save and exit."
        ),
        epilog=(
            "config flags (parsed by ml_collections):\n"
            "  --config PATH[:ARG]        experiment file with get_config(arg), e.g.\n"
            "                             experiments/tiny_cpu.py or experiments/tiny_cpu.py:smoke\n"
            "  --config.FIELD=VALUE       override any field, e.g. --config.train.steps=200;\n"
            "                             an unknown field is an error that names it\n\n"
            "examples:\n"
            "  worldsim train --config experiments/tiny_cpu.py --workdir runs/tiny\n"
            "  XLA_FLAGS=--xla_force_host_platform_device_count=8 worldsim train \\\n"
            "      --config experiments/tiny_cpu.py --workdir runs/tiny8 \\\n"
            "      --config.mesh.data=2 --config.mesh.fsdp=2 --config.mesh.tensor=2\n"
            "  worldsim train --config experiments/pod_1b.py --dry-run --topology v5p-512"
        ),
    )
    train.add_argument("--workdir", help="run directory: checkpoints, metrics, config")
    train.add_argument(
        "--stop-at",
        type=int,
        metavar="STEP",
        help="save and exit after this step (jobs of bounded length; the learning-rate "
        "schedule still follows train.steps); run again to continue",
    )
    train.add_argument(
        "--dry-run",
        action="store_true",
        help="compile the sharded train step for --topology on this machine, print per-chip "
        "memory and FLOPs, and exit (needs libtpu: pip install -e .[tpu])",
    )
    train.add_argument(
        "--topology",
        help="TPU slice for --dry-run: v5p-128, v5p-512, v5p-2048, v6e-256, v5e-256, ...",
    )
    group = train.add_argument_group(
        "multi-process (or $WORLDSIM_COORDINATOR, $WORLDSIM_NUM_PROCESSES, $WORLDSIM_PROCESS_ID)"
    )
    group.add_argument("--coordinator", help="host:port of process 0")
    group.add_argument("--num-processes", type=int, help="number of processes")
    group.add_argument("--process-id", type=int, help="this process's index")
    train.set_defaults(handler=cmd_train)


def _parse_train(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    """`train` takes ml_collections config flags, which argparse cannot parse: they go first."""
    from worldsim.train.config import load_config

    if any(a in ("-h", "--help") for a in argv[1:]):
        return parser.parse_args(argv)  # prints help and exits
    config, rest = load_config(argv[1:])
    args = parser.parse_args([argv[0], *rest])
    if args.dry_run and not args.topology:
        parser.error("--dry-run needs --topology (e.g. v5p-512)")
    if not args.dry_run and not args.workdir:
        parser.error("train needs --workdir DIR")
    args.config = config
    return args


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="worldsim",
        description="worldsim: a physics-aware audio-video world simulator (data, train, generate, bench).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    data = commands.add_parser("data", help="build, inspect and summarise datasets")
    data_commands = data.add_subparsers(dest="data_command", required=True, metavar="SUBCOMMAND")

    build = data_commands.add_parser("build", help="build a TFDS dataset (array_record shards)")
    builders = build.add_subparsers(dest="builder", required=True, metavar="BUILDER")

    physics = builders.add_parser(
        "physics_clips",
        help="simulate clips from the physics world",
        description=(
            "Simulate clips (video + impact sound + ground truth) from the physics world and write "
            "them as a TFDS dataset with splits train/validation/test (in-range parameters, "
            "80/10/10 of --num-clips) and test_ood (out-of-range parameters, 10%% more)."
        ),
    )
    physics.add_argument("--out", required=True, help="output directory (TFDS data_dir)")
    physics.add_argument("--num-clips", type=int, default=200, help="in-range clips (default 200)")
    physics.add_argument("--seed", type=int, default=0, help="seed; same seed => same bytes")
    physics.add_argument(
        "--families",
        type=_families,
        default=FAMILIES,
        help=f"comma/space separated subset of: {', '.join(FAMILIES)} (default all)",
    )
    _add_render_flags(physics)
    physics.set_defaults(handler=cmd_build_physics)

    folder = builders.add_parser(
        "video_folder",
        help="import a folder of your own videos",
        description=(
            "Turn a folder of videos (mp4, mov, webm, mkv, avi, m4v) into clip records: frames "
            "resized and resampled, audio decoded and resampled (silence if none). Captions come "
            "from a sidecar NAME.txt or a captions.csv (file,caption). Unreadable files are "
            "skipped and counted."
        ),
    )
    folder.add_argument("--src", required=True, help="folder of videos (searched recursively)")
    folder.add_argument("--out", required=True, help="output directory (TFDS data_dir)")
    _add_render_flags(folder)
    folder.set_defaults(handler=cmd_build_video_folder)

    show = data_commands.add_parser(
        "show",
        help="write one clip as mp4 (with sound), contact-sheet png and json",
        description=(
            "Write FILE.mp4 (video with its sound), FILE.png (contact sheet of frames) and "
            "FILE.json (caption, family, outcome, contacts with times in seconds, per-frame object "
            "states in pixel coordinates)."
        ),
    )
    show.add_argument("dir", help="dataset directory given to `data build --out`")
    show.add_argument("--split", default="train", help="split name (default train)")
    show.add_argument("--index", type=int, default=0, help="record index in the split (default 0)")
    show.add_argument("--out", required=True, help="output FILE.mp4; .png and .json go beside it")
    show.set_defaults(handler=cmd_show)

    stats = data_commands.add_parser("stats", help="counts per split, family and outcome")
    stats.add_argument("dir", help="dataset directory given to `data build --out`")
    stats.add_argument("--json", action="store_true", help="print JSON instead of a table")
    stats.set_defaults(handler=cmd_stats)

    tokenizer = data_commands.add_parser(
        "tokenizer",
        help="train the caption tokenizer (sentencepiece) of a dataset",
        description=(
            "Train a sentencepiece model on the captions of the train split and save it with "
            "the dataset (tokenizer/spm.model beside dataset_info.json), replacing any earlier one."
        ),
    )
    tokenizer.add_argument("dir", help="dataset directory given to `data build --out`")
    tokenizer.add_argument(
        "--vocab-size",
        type=int,
        default=256,
        help="largest vocabulary, special ids included (default 256; may come out smaller)",
    )
    tokenizer.set_defaults(handler=cmd_tokenizer)

    _add_train_parser(commands)
    _add_generate_parser(commands)
    add_bench_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from worldsim.errors import WorldsimError

    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        if argv[:1] == ["train"]:
            args = _parse_train(parser, argv)
        else:
            args = parser.parse_args(argv)
        return args.handler(args)
    except WorldsimError as error:
        print(f"worldsim: error: {error}", file=sys.stderr)
        return 2
    except (FileNotFoundError, KeyError, ValueError) as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        print(f"worldsim: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
