"""`worldsim` command line: thin wrappers over importable functions.

    worldsim data build physics_clips --out DIR [--num-clips N] [--seed S] [--families ...]
    worldsim data build video_folder --src FOLDER --out DIR
    worldsim data show DIR --split SPLIT --index I --out FILE.mp4
    worldsim data stats DIR

Heavy imports (TFDS, grain, imageio) happen inside the handlers so `--help` stays instant.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

FAMILIES = (
    "throw",
    "bounce",
    "collide",
    "hoop",
    "ramp",
    "tower",
)  # checked in tests against physics


def _render_config(args: argparse.Namespace):
    from worldsim.physics.types import RenderConfig

    return RenderConfig(
        width=args.width,
        height=args.height,
        fps=args.fps,
        seconds=args.seconds,
        sample_rate=args.sample_rate,
    )


def _add_render_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("clip format")
    group.add_argument("--width", type=int, default=64, help="frame width in pixels (default 64)")
    group.add_argument("--height", type=int, default=64, help="frame height in pixels (default 64)")
    group.add_argument("--fps", type=int, default=16, help="frames per second (default 16)")
    group.add_argument("--seconds", type=float, default=2.0, help="clip length (default 2.0)")
    group.add_argument(
        "--sample-rate", type=int, default=16_000, help="audio sample rate in Hz (default 16000)"
    )


def _families(text: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.replace(",", " ").split() if name.strip())
    unknown = [name for name in names if name not in FAMILIES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown family {unknown or text!r}; choose from {', '.join(FAMILIES)}"
        )
    return names


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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except (FileNotFoundError, KeyError, ValueError) as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        print(f"worldsim: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
