"""The ceiling of a run's autoencoders: the benchmark's truth clips through them, scored.

    python benchmarks/vae_ceiling.py --workdir runs/cpu_physics --num-cases 60 --seed 0 \\
        --out runs/ceiling [--workers 1] [--no-append]

A world model built on a run's video and audio autoencoders can only show what survives
them: its clips are decoded latents. This script exports the benchmark's cases (all
families; `export_cases` picks them), takes every truth clip (TRUTH/<id>.mp4, as a model
would be judged against it) and writes it back through the run's parts:

- video: frames fitted to the run's `model.frame_size` (mean-pooled if smaller), the
  clip padded with its last frame to 1 + k * time_factor frames, encoded to the latent
  means, decoded, cropped to its length;
- audio: log-mel -> audio VAE (latent means) -> log-mel -> Griffin-Lim (the codec's
  vocoder), padded with silence to whole latents and cropped back;

muxes them into OUT/<row>/<id>.mp4 at the run's fps and scores each folder with the
benchmark's own scorer (`score_folder`, what `worldsim bench score` does) beside the
untouched truth. Rows: the truth as exported; the full round trip (the ceiling); the
video autoencoder alone (truth sound); the audio autoencoder alone (truth frames); the
vocoder alone (mel -> Griffin-Lim, no VAE: the part of the sound loss the VAE is not to
blame for). Columns: overall score, every score group, the share of object-frames where
the tracker finds an object the truth shows (visibility >= 0.5, after the conditioning
frames, pooled over all cases), the worst-object tracked share (the benchmark's
`tracked_share`, mean over cases), onset F1, and the video round trip's PSNR and
foreground error on these clips. Prints the table and appends it to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import pathlib
import sys
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from results import machine, publish  # noqa: E402

ROWS = {  # folder -> (label, video through the VAE, audio: "truth" | "vae" | "vocoder")
    "truth": ("truth as exported", False, "truth"),
    "round_trip": ("autoencoder round trip (video + audio VAE, Griffin-Lim)", True, "vae"),
    "video_only": ("video VAE only (truth sound)", True, "truth"),
    "audio_only": ("audio VAE + Griffin-Lim only (truth frames)", False, "vae"),
    "vocoder_only": ("Griffin-Lim only (truth mel, truth frames)", False, "vocoder"),
}
TRAIN_HINT = (
    "train them first: worldsim train --config experiments/cpu_physics.py --workdir DIR "
    "--config.stages.order=video_vae,audio_vae"
)


class CeilingError(ValueError):
    """A run directory this script cannot use; the message is one line."""


# ---------------------------------------------------------------------- the run's parts
def run_config(path: pathlib.Path):
    """A run's saved config, with the fields added since it was written read as what the
    run did without them (`worldsim.world.settings.ADDED_FIELDS`)."""
    from worldsim.train.config import read_config
    from worldsim.world.settings import with_added_fields

    return with_added_fields(read_config(path))


def load_codec(workdir: str | pathlib.Path):
    """(spec, Codec) with the run's trained autoencoders and identity latent statistics.

    Needs only the VAE stages (no transformer, no latent statistics, no tokenizer):
    normalising latents and un-normalising them again is the identity, so the round trip
    does not depend on statistics the transformer stage measures.
    """
    from worldsim.models.vae_audio import AudioVAE
    from worldsim.train.checkpoint import CheckpointError
    from worldsim.train.load import load_model
    from worldsim.train.settings import ConfigError
    from worldsim.world.codec import Codec, LatentStats, make_video_vae
    from worldsim.world.settings import validate_world

    workdir = pathlib.Path(workdir)
    if not (workdir / "config.json").is_file():
        raise CeilingError(f"--workdir {workdir}: no config.json, not a worldsim run")
    try:
        spec = validate_world(run_config(workdir / "config.json")).spec
    except (ConfigError, ValueError) as e:
        problem = " ".join(str(e).split())
        raise CeilingError(f"--workdir {workdir}: config.json: {problem}") from e
    parts = {}
    for stage, make in (
        ("video_vae", lambda rngs: make_video_vae(spec.video_vae_config, rngs)),
        ("audio_vae", lambda rngs: AudioVAE(spec.audio_vae_config, rngs=rngs)),
    ):
        if not (workdir / stage / "checkpoints").is_dir():
            raise CeilingError(f"--workdir {workdir}: no trained {stage} ({TRAIN_HINT})")
        try:
            parts[stage], _ = load_model(workdir / stage, make)
        except CheckpointError as e:
            raise CeilingError(f"--workdir {workdir}: {stage}: {e}") from e
    identity = LatentStats(0.0, 1.0, 0.0, 1.0)
    return spec, Codec(spec, parts["video_vae"], parts["audio_vae"], None, identity)


def round_trip_video(codec, frames: np.ndarray) -> np.ndarray:
    """uint8 [T, H, W, 3] -> uint8 [T, S, S, 3] through the video VAE (S = model.frame_size).

    The causal VAE takes T' = 1 + k * time_factor frames: the clip is padded by repeating
    its last frame (which changes no earlier latent) and cropped after decoding.
    """
    tf = codec.spec.video_vae_config.time_factor
    t = len(frames)
    padded = 1 + -(-(t - 1) // tf) * tf  # the next valid length >= t
    frames = np.concatenate([frames, np.repeat(frames[-1:], padded - t, axis=0)])
    latents = codec.encode_video(frames[None])  # [1, t', h, w, Z]
    return codec.decode_video(latents)[0, :t]


def _padded_audio(codec, audio: np.ndarray) -> np.ndarray:
    """Silence-padded to whole audio latents (hop * time_factor samples)."""
    block = codec.spec.mel_config.hop_length * codec.spec.audio_vae_config.time_factor
    return np.pad(audio, (0, -len(audio) % block))


def round_trip_audio(codec, audio: np.ndarray) -> np.ndarray:
    """float32 [S] -> [S]: log-mel -> audio VAE -> log-mel -> Griffin-Lim."""
    audio = np.asarray(audio, np.float32)
    latents = codec.encode_audio(_padded_audio(codec, audio)[None])  # [1, U, Y]
    return codec.decode_audio(latents)[0, : len(audio)]


def vocode_only(codec, audio: np.ndarray) -> np.ndarray:
    """float32 [S] -> [S]: log-mel -> Griffin-Lim, no VAE."""
    from worldsim.media.audio_features import log_mel

    audio = np.asarray(audio, np.float32)
    mel = log_mel(_padded_audio(codec, audio), codec.spec.mel_config)  # [M, F]
    return codec.vocoder.to_waveform(mel)[: len(audio)]


def reconstruction_error(truth: np.ndarray, recon: np.ndarray) -> dict:
    """PSNR (dB) of uint8 frames, and the mean absolute error (in [0, 1]) on foreground
    pixels: those unlike their frame's median colour, as vae_video.vae_loss weighs them."""
    a, b = truth.astype(np.float32) / 255.0, recon.astype(np.float32) / 255.0
    mse = float(np.mean((a - b) ** 2))
    background = np.median(a, axis=(1, 2), keepdims=True)  # [T, 1, 1, 3]
    foreground = np.max(np.abs(a - background), axis=-1) > 0.05  # [T, H, W] (0.1 in [-1, 1])
    err = np.abs(a - b).max(axis=-1)  # [T, H, W]
    return {
        "psnr": 10 * np.log10(1.0 / max(mse, 1e-10)),
        "fg_mae": float(err[foreground].mean()) if foreground.any() else float("nan"),
    }


# ---------------------------------------------------------------------- clips and scores
def write_rows(codec, truth_dir: pathlib.Path, ids: list[str], out: pathlib.Path) -> dict:
    """Write OUT/<row>/<id>.mp4 for every row but the truth; returns the video errors."""
    from worldsim.console import progress
    from worldsim.media.video_io import read_audio, read_video, write_mp4

    spec = codec.spec
    for row in ROWS:
        if row != "truth":
            (out / row).mkdir(parents=True, exist_ok=True)
    errors = []
    for case_id in progress(ids, desc="round trip", unit="clip"):
        path = truth_dir / f"{case_id}.mp4"
        frames, fps = read_video(path)
        audio = read_audio(path, sample_rate=spec.sample_rate)
        if int(round(fps)) != spec.fps:
            raise CeilingError(f"{path}: {fps} fps, the run's model.fps is {spec.fps}")
        video_rt = round_trip_video(codec, frames)
        sounds = {
            "truth": audio,
            "vae": round_trip_audio(codec, audio),
            "vocoder": vocode_only(codec, audio),
        }
        if video_rt.shape[1:3] == frames.shape[1:3]:
            errors.append(reconstruction_error(frames, video_rt))
        for row, (_, through_vae, sound) in ROWS.items():
            if row == "truth":
                continue
            video = video_rt if through_vae else frames
            write_mp4(
                out / row / f"{case_id}.mp4", video, sounds[sound], spec.fps, spec.sample_rate
            )
    if not errors:
        return {"psnr": None, "fg_mae": None}
    return {k: float(np.mean([e[k] for e in errors])) for k in ("psnr", "fg_mae")}


def object_frames_tracked(results, truth_dir: pathlib.Path) -> float | None:
    """Share of object-frames after the conditioning where the truth shows an object
    (visibility >= VISIBLE) and the tracker finds it, pooled over the cases."""
    from worldsim.bench.cases import load_case
    from worldsim.bench.metrics import VISIBLE

    seen = shown = 0
    for r in results:
        case = load_case(truth_dir, r.case_id)
        should = case.visibility >= VISIBLE  # [T, N]
        should[: case.condition_frames] = False
        shown += int(should.sum())
        if r.tracks is not None:
            seen += int((should & r.tracks.present).sum())
    return seen / shown if shown else None


def summarise(results, truth_dir: pathlib.Path) -> dict:
    from worldsim.bench.report import aggregate

    overall = aggregate(results)["overall"]
    metrics = overall["metrics"]
    return {
        "overall": overall["score"],
        "groups": overall["groups"],
        "object_frames_tracked": object_frames_tracked(results, truth_dir),
        "tracked_share": metrics["tracked_share"]["mean"],
        "onset_f1": metrics["onset_f1"]["mean"],
        "not_scored": sum(r.status != "scored" for r in results),
    }


def run(workdir, num_cases: int, seed: int, out: pathlib.Path, workers: int = 1) -> dict:
    """Export (once: an existing OUT/truth is reused), round-trip, score; every number."""
    from worldsim.bench.cases import read_truth_manifest
    from worldsim.bench.export import export_cases
    from worldsim.bench.scoring import score_folder

    spec, codec = load_codec(workdir)  # fail fast, before the export
    cases_dir, truth_dir = out / "cases", out / "truth"
    timing = {}
    start = time.perf_counter()
    if not (truth_dir / "truth_manifest.json").is_file():
        export_cases(cases_dir, truth_out=truth_dir, num_cases=num_cases, seed=seed, workers=workers)  # fmt: skip
    manifest = read_truth_manifest(truth_dir)
    ids = [e["id"] for e in manifest["cases"]]
    if len(ids) != num_cases or manifest.get("seed", seed) != seed:
        raise CeilingError(
            f"--out {out}: holds an export of {len(ids)} cases; use another --out for "
            f"{num_cases} cases at seed {seed}"
        )
    timing["export_s"] = time.perf_counter() - start
    start = time.perf_counter()
    video_error = write_rows(codec, truth_dir, ids, out)
    timing["round_trip_s"] = time.perf_counter() - start
    start = time.perf_counter()
    rows = {}
    for row in ROWS:
        videos = truth_dir if row == "truth" else out / row
        results, _ = score_folder(cases_dir, truth_dir, videos, workers=workers)
        rows[row] = summarise(results, truth_dir)
    timing["score_s"] = time.perf_counter() - start
    families = sorted({e["family"] for e in manifest["cases"]})
    return {
        "spec": dataclasses.asdict(spec),
        "video_latent_grid": spec.video_latent_grid,
        "video_error": video_error,
        "rows": rows,
        "timing": timing,
        "families": families,
        "num_cases": len(ids),
    }


# ---------------------------------------------------------------------- the table
def _f(v, fmt: str = "{:.1f}") -> str:
    return "–" if v is None or (isinstance(v, float) and np.isnan(v)) else fmt.format(v)


def table(numbers: dict) -> list[str]:
    from worldsim.bench.score import GROUPS

    head = ["clips", "overall", *GROUPS, "object-frames tracked", "worst-object tracked share", "onset F1"]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row, (label, _, _) in ROWS.items():
        r = numbers["rows"][row]
        cells = [label, _f(r["overall"]), *(_f(r["groups"].get(g)) for g in GROUPS)]
        cells += [_f(r["object_frames_tracked"], "{:.1%}"), _f(r["tracked_share"], "{:.2f}")]
        cells += [_f(r["onset_f1"], "{:.2f}")]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def report(numbers: dict, command: str, workdir: str) -> str:
    s, e, t = numbers["spec"], numbers["video_error"], numbers["timing"]
    grid = "x".join(str(v) for v in numbers["video_latent_grid"])
    header = [
        f"#### Ceiling: {workdir} ({datetime.date.today()})",
        "",
        f"- machine: {machine()}",
        f"- command: `{command}`",
        f"- run: video VAE `{s['video_vae']}` at {s['frame_size']}x{s['frame_size']} "
        f"(latents {grid} per {s['window_frames']}-frame window), audio VAE `{s['audio_vae']}`",
        f"- {numbers['num_cases']} cases ({', '.join(numbers['families'])}); video round trip on "
        f"these clips: PSNR {_f(e['psnr'])} dB, foreground mean abs error {_f(e['fg_mae'], '{:.3f}')}",
        f"- wall: export {t['export_s']:.0f} s, round trip {t['round_trip_s']:.0f} s, "
        f"scoring {len(ROWS)} folders {t['score_s']:.0f} s",
        "",
    ]
    return "\n".join(header + table(numbers)) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workdir", required=True, help="a run with trained VAE stages")
    parser.add_argument("--num-cases", type=int, default=60, help="cases to export")
    parser.add_argument("--seed", type=int, default=0, help="export seed")
    parser.add_argument("--out", required=True, help="folder for cases, truth, clips, numbers")
    parser.add_argument("--workers", type=int, default=1, help="processes for export and scoring")
    parser.add_argument("--no-append", action="store_true", help="do not append to RESULTS.md")
    args = parser.parse_args(argv)
    if args.num_cases < 1 or args.workers < 1:
        parser.error("--num-cases and --workers must be >= 1")
    out = pathlib.Path(args.out)
    try:
        numbers = run(args.workdir, args.num_cases, args.seed, out, args.workers)
    except CeilingError as e:
        print(f"vae_ceiling: error: {e}", file=sys.stderr)
        return 2
    (out / "ceiling.json").write_text(json.dumps(numbers, indent=1, default=float))
    command = (
        f"python benchmarks/vae_ceiling.py --workdir {args.workdir} --num-cases "
        f"{args.num_cases} --seed {args.seed} --out {args.out} --workers {args.workers}"
    )
    publish(report(numbers, command, args.workdir), append=not args.no_append)
    return 0


if __name__ == "__main__":
    sys.exit(main())
