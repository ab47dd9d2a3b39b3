"""`worldsim data ...`: build, inspect and summarise datasets (TFDS builders in data_pipelines/)."""

from __future__ import annotations

import argparse
import json

from worldsim.cli.args import HelpFormatter, add_families_flag, add_render_flags, render_config


def cmd_build_physics(args: argparse.Namespace) -> int:
    from data_pipelines import build_physics_clips

    path = build_physics_clips(
        args.out,
        num_clips=args.num_clips,
        seed=args.seed,
        families=args.families,
        config=render_config(args),
    )
    print(f"physics_clips written to {path}")
    return 0


def cmd_build_video_folder(args: argparse.Namespace) -> int:
    from data_pipelines import build_video_folder

    path, stats = build_video_folder(args.src, args.out, config=render_config(args))
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
    from data_pipelines.tokenizer import Tokenizer, caption_report, train_tokenizer

    path = train_tokenizer(args.dir, vocab_size=args.vocab_size)
    tokenizer = Tokenizer.load(path)
    print(f"tokenizer written to {path} (vocab size {tokenizer.vocab_size})")
    report = caption_report(args.dir)
    per_split = ", ".join(f"{k} {v['longest_tokens']}" for k, v in report["splits"].items())
    print(
        f"longest caption: {report['longest_caption_tokens']} tokens with EOS ({per_split}); "
        f"the benchmark's longest possible prompt: {report['longest_prompt_tokens']} "
        f"(of {report['prompts_measured']} the caption grammar can write); a world model's "
        "model.text_len=0 sizes its text window from the longer"
    )
    caption = catalog.open_split(args.dir, "train", skip=catalog.HEAVY_FIELDS)[0]["caption"]
    ids = tokenizer.encode([caption], max_len=report["longest_caption_tokens"])[0]
    print(f"sample: {caption.decode('utf-8')!r}")
    print(f"  ids: {ids[ids != tokenizer.PAD_ID].tolist()}")
    return 0


def add_parser(commands, common: argparse.ArgumentParser) -> None:
    def sub(parent, name, **kwargs):
        return parent.add_parser(name, parents=[common], formatter_class=HelpFormatter, **kwargs)

    data = sub(commands, "data", help="build, inspect and summarise datasets")
    data_commands = data.add_subparsers(dest="data_command", required=True, metavar="SUBCOMMAND")

    build = sub(data_commands, "build", help="build a TFDS dataset (array_record shards)")
    builders = build.add_subparsers(dest="builder", required=True, metavar="BUILDER")

    physics = sub(
        builders,
        "physics_clips",
        help="simulate clips from the physics world",
        description=(
            "Simulate clips (video + impact sound + ground truth) from the physics world and write "
            "them as a TFDS dataset with splits train/validation/test (in-range parameters, "
            "80/10/10 of --num-clips) and test_ood (out-of-range parameters, 10%% more)."
        ),
    )
    physics.add_argument("--out", required=True, help="output directory (TFDS data_dir)")
    physics.add_argument("--num-clips", type=int, default=200, help="in-range clips")
    physics.add_argument("--seed", type=int, default=0, help="seed; same seed => same bytes")
    add_families_flag(physics)
    add_render_flags(physics)
    physics.set_defaults(handler=cmd_build_physics)

    folder = sub(
        builders,
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
    add_render_flags(folder)
    folder.set_defaults(handler=cmd_build_video_folder)

    show = sub(
        data_commands,
        "show",
        help="write one clip as mp4 (with sound), contact-sheet png and json",
        description=(
            "Write FILE.mp4 (video with its sound), FILE.png (contact sheet of frames) and "
            "FILE.json (caption, family, outcome, contacts with times in seconds, per-frame object "
            "states in pixel coordinates)."
        ),
    )
    show.add_argument("dir", help="dataset directory given to `data build --out`")
    show.add_argument("--split", default="train", help="split name")
    show.add_argument("--index", type=int, default=0, help="record index in the split")
    show.add_argument("--out", required=True, help="output FILE.mp4; .png and .json go beside it")
    show.set_defaults(handler=cmd_show)

    stats = sub(data_commands, "stats", help="counts per split, family and outcome")
    stats.add_argument("dir", help="dataset directory given to `data build --out`")
    stats.add_argument("--json", action="store_true", help="print JSON instead of a table")
    stats.set_defaults(handler=cmd_stats)

    tokenizer = sub(
        data_commands,
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
        help="largest vocabulary, special ids included (may come out smaller)",
    )
    tokenizer.set_defaults(handler=cmd_tokenizer)
