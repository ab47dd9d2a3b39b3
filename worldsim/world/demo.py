"""The demo page: generated clips with sound beside the simulator's ground truth.

    worldsim demo --workdir runs/demo/train --out runs/demo     # the data dir: the run's config

For a few validation clips: the ground-truth target window (what the simulator
rendered, with its impact sound), a text-only sample from the clip's caption, and
a sample given the clip's first frames (in-context first-frame conditioning). It
writes the mp4s, `index.html` and a `demo.json` of the figures people ask for:
video-VAE PSNR and audio-VAE mel L1 on validation (from the stages' last eval),
and the image-to-video error on the frames the model *generated* (after the given
ones; the sampler holds the given frames fixed, so they measure only the VAE): PSNR
against the simulator's frames, beside the ceiling (the simulator's frames through the
VAE and back) and the floor (the last given frame held).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / max(mse, 1e-10)))


def last_eval(metrics_jsonl: Path, key: str) -> float | None:
    from worldsim.world.report import read_metrics

    values = [r[key] for r in read_metrics(metrics_jsonl) if key in r]
    return values[-1] if values else None


def build_demo(
    workdir: str | Path,
    out_dir: str | Path,
    *,
    data_dir: str | Path | None = None,
    num_clips: int = 3,
    init_frames: int = 5,
    steps: int = 20,
    solver: str = "heun",
    cfg_scale: float = 3.0,
    seed: int = 0,
) -> dict:
    from data_pipelines.catalog import open_split
    from worldsim.console import progress
    from worldsim.media.video_io import write_mp4
    from worldsim.world.codec import fit_frames, windows
    from worldsim.world.generate import Generator, SamplerConfig
    from worldsim.world.report import write_demo_page

    workdir, out_dir = Path(workdir), Path(out_dir)
    gen = Generator(workdir)
    data_dir = data_dir or gen.config.data.dir  # the dataset the run trained on
    clips_dir = out_dir / "clips"
    clips_dir.mkdir(parents=True, exist_ok=True)
    spec = gen.spec
    sampler = SamplerConfig(steps=steps, solver=solver, cfg_scale=cfg_scale)
    per_frame = spec.sample_rate // spec.fps
    source = open_split(data_dir, "validation")
    rows = []
    i2v = {"psnr_db": [], "vae_round_trip_psnr_db": [], "freeze_last_given_psnr_db": []}
    for i in progress(range(min(num_clips, len(source))), desc="demo clips", unit="clip"):
        record = source[i]
        caption = record["caption"].decode("utf-8")
        _, video = windows(record["video"][None], spec)  # target window [1, W, H, W, 3]
        _, audio = windows(record["audio"][None], spec, per_frame)
        truth = out_dir / "clips" / f"{i}_truth.mp4"
        write_mp4(truth, video[0], audio[0], spec.fps, spec.sample_rate)

        frames, sound = gen.generate([caption], seed=seed + i, sampler=sampler)
        text_only = clips_dir / f"{i}_text.mp4"
        write_mp4(text_only, frames[0], sound[0], spec.fps, spec.sample_rate)

        context = gen.context(init_video=str(truth), init_frames=init_frames)
        frames, sound = gen.generate([caption], context=context, seed=seed + i, sampler=sampler)
        conditioned = clips_dir / f"{i}_first{init_frames}.mp4"
        write_mp4(conditioned, frames[0], sound[0], spec.fps, spec.sample_rate)
        # Scored on the generated frames [k, W) only.
        truth_frames = fit_frames(video, spec)[0]  # [W, S, S, 3]
        round_trip = gen.codec.decode_video(gen.codec.encode_video(truth_frames[None]))[0]
        later = slice(init_frames, spec.window_frames)
        held = np.repeat(truth_frames[init_frames - 1 : init_frames], spec.window_frames, 0)
        i2v["psnr_db"].append(_psnr(frames[0, later], truth_frames[later]))
        i2v["vae_round_trip_psnr_db"].append(_psnr(round_trip[later], truth_frames[later]))
        i2v["freeze_last_given_psnr_db"].append(_psnr(held[later], truth_frames[later]))

        rows.append(
            {
                "caption": caption,
                "note": f"outcome: {record['outcome'].decode('utf-8')}",
                "videos": [
                    ("simulator (ground truth)", truth.relative_to(out_dir)),
                    ("generated from the caption", text_only.relative_to(out_dir)),
                    (
                        f"generated, first {init_frames} frames given",
                        conditioned.relative_to(out_dir),
                    ),
                ],
            }
        )
    losses = None
    if (workdir / "losses.png").exists():
        shutil.copyfile(workdir / "losses.png", out_dir / "losses.png")
        losses = "losses.png"
    page = write_demo_page(out_dir, rows, losses, title=f"worldsim demo ({workdir})")
    figures = {
        "video_vae_eval_psnr_db": last_eval(workdir / "video_vae/metrics.jsonl", "eval_psnr_ema"),
        "audio_vae_eval_mel_l1": last_eval(workdir / "audio_vae/metrics.jsonl", "eval_mel_l1_ema"),
        "av_dit_eval_loss": last_eval(workdir / "av_dit/metrics.jsonl", "eval_loss_ema"),
        "image_to_video": {
            "given_frames": init_frames,
            "scored_frames": f"{init_frames}..{spec.window_frames - 1} (the generated ones)",
            **{k: [round(p, 2) for p in v] for k, v in i2v.items()},
        },
        "sampler": {"solver": sampler.solver, "steps": steps, "cfg_scale": sampler.cfg_scale},
        "page": str(page),
    }
    (out_dir / "demo.json").write_text(json.dumps(figures, indent=1))
    return figures
