"""`worldsim generate`: arguments -> Generator calls -> mp4 files (video + muxed audio)."""

from __future__ import annotations

import argparse
from pathlib import Path

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
    prompts = list(args.prompt)
    if args.prompts_file:
        lines = Path(args.prompts_file).read_text(encoding="utf-8").splitlines()
        prompts += [line.strip() for line in lines if line.strip()]
    if not prompts:
        raise GenerateError("give --prompt TEXT (repeatable) or --prompts-file FILE")
    return prompts


def run_generate(args: argparse.Namespace) -> list[Path]:
    from tqdm import tqdm

    from worldsim.media.video_io import write_mp4
    from worldsim.world.generate import Generator, SamplerConfig

    prompts = read_prompts(args)
    if args.num_samples < 1:
        raise GenerateError(f"--num-samples must be >= 1, got {args.num_samples}")
    paths = output_paths(args.out, len(prompts), args.num_samples)
    if not (Path(args.workdir) / "config.json").exists():
        raise GenerateError(
            f"{args.workdir}: not a `worldsim train` run directory (no config.json)"
        )
    try:
        sampler = SamplerConfig(steps=args.steps, solver=args.solver, cfg_scale=args.cfg_scale)
        gen = Generator(args.workdir, use_ema=not args.raw_params)
        context = gen.context(
            init_video=args.init_video,
            init_frames=args.init_frames,
            reference=args.reference,
            previous_shot=args.previous_shot,
        )
    except (ValueError, FileNotFoundError) as e:
        raise GenerateError(str(e)) from e
    seconds = args.seconds or gen.spec.window_seconds
    written = []
    total = args.num_samples * gen.windows_for(seconds)
    with tqdm(total=total, desc="generate", unit="window") as bar:
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
                path.parent.mkdir(parents=True, exist_ok=True)
                write_mp4(path, frames[i], audio[i], gen.spec.fps, gen.spec.sample_rate)
                written.append(path)
    return written
