"""`worldsim generate`: arguments checked -> Generator calls -> mp4 files (video + muxed audio).

Every argument is checked before the model is loaded (about 10 s on a CPU), so a typo
costs nothing: durations and counts, the context flags, every media file (it exists and
decodes), the output folder (writable), the prompts (present, and within the model's
text window unless --truncate-prompts).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from worldsim.cli.args import HelpFormatter, add_sampler_flags, positive_int, world_run_facts
from worldsim.errors import WorldsimError


class GenerateError(WorldsimError):
    """Bad generate arguments: one line for the user."""


def output_paths(out: str | Path, num_prompts: int, num_samples: int) -> list[list[Path]]:
    """out for one clip; out_p<i>_s<j>.mp4 (same folder) for several."""
    out = Path(out)
    if out.suffix.lower() != ".mp4":
        raise GenerateError(f"--out must end in .mp4, got {out}")
    if num_prompts == 1 and num_samples == 1:
        return [[out]]
    return [
        [out.with_name(f"{out.stem}_p{i}_s{j}.mp4") for j in range(num_samples)]
        for i in range(num_prompts)
    ]


def read_prompts(args: argparse.Namespace) -> list[str]:
    prompts = [p.strip() for p in args.prompt]
    if any(not p for p in prompts):
        raise GenerateError("--prompt is empty")
    if args.prompts_file:
        path = Path(args.prompts_file)
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as e:
            raise GenerateError(f"--prompts-file {path}: cannot read it ({e})") from None
        from_file = [line.strip() for line in lines if line.strip()]
        if not from_file:
            raise GenerateError(f"--prompts-file {path} has no prompts (only empty lines)")
        prompts += from_file
    if not prompts:
        raise GenerateError("give --prompt TEXT (repeatable) or --prompts-file FILE")
    return prompts


def _media_frames(flag: str, path: str, fps: int, size: int) -> int:
    """Frames the clip gives at the model's rate; the clip must exist and decode."""
    from worldsim.media.video_io import MediaError, probe, read_audio, read_video

    if Path(path).is_dir():
        raise GenerateError(f"{flag} {path}: a folder, not a video file")
    try:
        frames, _ = read_video(path, size=(size, size), fps=fps)
        if probe(path)["has_audio"]:
            read_audio(path, sample_rate=16_000)  # the sound must decode too
    except MediaError as e:
        reason = str(e.reason).splitlines()[0][:200]
        raise GenerateError(f"{flag} {path}: {reason}") from None
    if len(frames) == 0:
        raise GenerateError(f"{flag} {path}: no video frames")
    return len(frames)


def check_prompt_lengths(prompts: list[str], tokenizer, text_len: int, truncate: bool) -> None:
    for i, n in enumerate(tokenizer.lengths(prompts), start=1):
        if n > text_len and not truncate:
            raise GenerateError(
                f"prompt {i} has {n} tokens; the model's text window is {text_len} "
                f"(model.text_len): shorten it or pass --truncate-prompts"
            )


def check_arguments(args: argparse.Namespace) -> tuple[list[str], list[list[Path]]]:
    """Every argument, before any model work; (prompts, output paths) or GenerateError."""
    from data_pipelines.tokenizer import Tokenizer
    from worldsim.train.lock import check_writable_dir

    if args.seconds is not None and not (args.seconds > 0 and math.isfinite(args.seconds)):
        raise GenerateError(f"--seconds must be a finite number > 0, got {args.seconds}")
    given = [
        f
        for f, v in (
            ("--init-video", args.init_video),
            ("--reference", args.reference),
            ("--previous-shot", args.previous_shot),
        )
        if v
    ]
    if len(given) > 1:
        raise GenerateError(f"give at most one of {', '.join(given)} per generation")
    if args.init_frames and not args.init_video:
        raise GenerateError(
            "--init-frames needs --init-video (the clip whose first frames to keep)"
        )
    if args.init_video and args.init_frames < 1:
        raise GenerateError("--init-video needs --init-frames K >= 1")
    prompts = read_prompts(args)
    workdir = Path(args.workdir)
    facts = world_run_facts(workdir)
    model = facts["model"]
    fps, size, text_len = int(model["fps"]), int(model["frame_size"]), int(model["text_len"])
    if args.init_video:
        available = _media_frames("--init-video", args.init_video, fps, size)
        if args.init_frames > available:
            raise GenerateError(
                f"--init-frames {args.init_frames}: --init-video {args.init_video} has only "
                f"{available} frames at the model's {fps} fps"
            )
    for flag, path in (("--reference", args.reference), ("--previous-shot", args.previous_shot)):
        if path:
            _media_frames(flag, path, fps, size)
    tokenizer = Tokenizer.load(workdir / "tokenizer.model")
    check_prompt_lengths(prompts, tokenizer, text_len, args.truncate_prompts)
    paths = output_paths(args.out, len(prompts), args.num_samples)
    check_writable_dir(paths[0][0].parent, what="--out folder")
    return prompts, paths


def run_generate(args: argparse.Namespace) -> list[Path]:
    prompts, paths = check_arguments(args)

    from worldsim.console import progress
    from worldsim.media.video_io import write_mp4
    from worldsim.world.generate import Generator, SamplerConfig

    sampler = SamplerConfig(steps=args.steps, solver=args.solver, cfg_scale=args.cfg_scale)
    gen = Generator(
        args.workdir, use_ema=not args.raw_params, truncate_prompts=args.truncate_prompts
    )
    context = gen.context(
        init_video=args.init_video,
        init_frames=args.init_frames,
        reference=args.reference,
        previous_shot=args.previous_shot,
    )
    seconds = args.seconds or gen.spec.clip_frames / gen.spec.fps  # the training clips' length
    written = []
    total = args.num_samples * gen.windows_for(seconds)
    with progress(total=total, desc="generate", unit="window") as bar:
        for j in range(args.num_samples):  # all prompts of one sample index in one batch
            frames, audio = gen.generate(
                prompts,
                seconds=seconds,
                context=context,
                seed=args.seed + j,
                sampler=sampler,
                progress=bar,
            )
            for i in range(len(prompts)):
                path = paths[i][j]
                write_mp4(path, frames[i], audio[i], gen.spec.fps, gen.spec.sample_rate)
                written.append(path)
    return written


def run(args: argparse.Namespace) -> int:
    for path in run_generate(args):
        print(path)
    return 0


def add_parser(commands, common: argparse.ArgumentParser) -> None:
    gen = commands.add_parser(
        "generate",
        parents=[common],
        help="generate clips with sound from a trained world model",
        formatter_class=HelpFormatter,
        description=(
            "Sample video with its sound from the world model in --workdir (the transformer "
            "stage's EMA weights) and write mp4 files (H.264 + AAC). Context clips are given "
            "in context: --init-video with --init-frames K holds its first K frames, "
            "--reference injects a subject from a clip, --previous-shot continues a shot. "
            "Every argument is checked before the model is loaded."
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
    gen.add_argument(
        "--truncate-prompts",
        action="store_true",
        help="cut prompts longer than the model's text window instead of refusing them",
    )
    gen.add_argument(
        "--seconds",
        type=float,
        help="duration (default: the training clips', 2 s; longer clips continue window by window)",
    )
    gen.add_argument("--init-video", help="video whose first frames the output starts with")
    gen.add_argument("--init-frames", type=int, default=0, help="how many first frames to keep")
    gen.add_argument("--reference", help="clip to take a subject from (cameo)")
    gen.add_argument("--previous-shot", help="the shot before this one (multi-shot)")
    gen.add_argument("--num-samples", type=positive_int, default=1, help="samples per prompt")
    add_sampler_flags(gen)
    gen.add_argument("--seed", type=int, default=0, help="noise seed; same seed, same clips")
    gen.add_argument("--raw-params", action="store_true", help="use raw params, not the EMA")
    gen.add_argument(
        "--out", required=True, help="OUT.mp4; several outputs become OUT_p<prompt>_s<sample>.mp4"
    )
    gen.set_defaults(handler=run)
