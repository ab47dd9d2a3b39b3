r"""What provenance costs per generated clip: seconds, and as a share of generation time.

    python benchmarks/provenance_cost.py --workdir runs/demo/train [--clips 3] [--no-append]

`worldsim generate` adds, per run: the prompt filter, the consent registry's checks of a
`--reference` (here a file, checked against one revoked subject, so its perceptual
fingerprint is computed), the signing key's lookup, the conditioning input's sha256 and the
parameters' sha256; and per clip: the visible watermark and the C2PA signature. Each is
timed here with the functions generate calls, beside the generation of the same clip
(`Generator.generate`, one clip of the training clips' length, after one untimed warm-up
that compiles the sampler) and the mp4 write that happens either way. Per-run costs are
shown once and spread over one clip (the `worldsim generate` of a single prompt).
"""

from __future__ import annotations

import argparse
import datetime
import pathlib
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))


def _timed(fn, *args, **kwargs) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - start, out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workdir", required=True, help="a trained world model's run directory")
    parser.add_argument("--clips", type=int, default=3, help="clips timed (after one warm-up)")
    parser.add_argument("--steps", type=int, default=20, help="sampler steps (generate's default)")
    parser.add_argument("--no-append", action="store_true")
    args = parser.parse_args(argv)
    if args.clips < 1:
        parser.error(f"--clips must be >= 1, got {args.clips}")
    if not (pathlib.Path(args.workdir) / "av_dit").is_dir():
        parser.error(f"--workdir {args.workdir}: no trained transformer stage (av_dit/)")

    import numpy as np
    from results import command_line, machine, publish

    from worldsim.media.video_io import write_mp4
    from worldsim.provenance import watermark
    from worldsim.provenance.credentials import (
        GenerationFacts,
        hash_file,
        make_development_keys,
        now_iso,
        resolve_signing_dir,
        sign_mp4,
    )
    from worldsim.provenance.prompt_filter import load_filter
    from worldsim.provenance.registry import CameoError, Registry
    from worldsim.world.generate import Generator, SamplerConfig

    prompt = "A red ball is thrown from the left and bounces off the floor."
    gen = Generator(args.workdir)
    spec = gen.spec
    sampler = SamplerConfig(steps=args.steps)
    gen.generate([prompt], sampler=sampler, seed=0)  # compiles the sampler: not timed
    per_run: dict[str, float] = {}
    per_clip: dict[str, list[float]] = {"generation": [], "mp4 write (either way)": []}
    per_clip |= {"watermark": [], "signature": []}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        frames, audio = gen.generate([prompt], sampler=sampler, seed=1)
        subject = write_mp4(tmp / "subject.mp4", frames[0], audio[0], spec.fps, spec.sample_rate)
        other = "A blue ball rolls down a ramp from the right."  # other footage: not refused
        frames, audio = gen.generate([other], sampler=sampler, seed=2)
        reference = write_mp4(tmp / "other.mp4", frames[0], audio[0], spec.fps, spec.sample_rate)
        with Registry(tmp / "cameo.sqlite") as registry:
            registry.register("Ada", subject, consent_by="Ada")
            registry.revoke("Ada", by="Ada", reason="benchmark")
            start = time.perf_counter()
            with Registry(tmp / "cameo.sqlite") as again:
                load_filter(None, again).check(prompt)
            per_run["prompt filter (registry names)"] = time.perf_counter() - start
            start = time.perf_counter()
            try:
                registry.check_reference_file(reference)
            except CameoError:  # the model drew the same clip twice: still timed
                pass
            per_run["reference vs revoked subjects"] = time.perf_counter() - start
        make_development_keys(tmp / "keys")  # not the user's key folder
        per_run["signing key lookup"], (keys, _) = _timed(resolve_signing_dir, str(tmp / "keys"))
        per_run["input sha256"], _ = _timed(hash_file, reference)
        per_run["parameter sha256"], params_hash = _timed(gen.params_sha256)
        facts = dict(
            run_name=pathlib.Path(args.workdir).resolve().name,
            checkpoint_step=int(gen.step),
            params_hash=params_hash,
            config_hash=hash_file(pathlib.Path(args.workdir) / "config.json"),
            prompt=prompt,
            watermark={"enabled": True, "text": "AI"},
        )
        for i in range(args.clips):
            seconds, (frames, audio) = _timed(gen.generate, [prompt], sampler=sampler, seed=10 + i)
            per_clip["generation"].append(seconds)
            seconds, marked = _timed(watermark.apply, np.asarray(frames[0]))
            per_clip["watermark"].append(seconds)
            path = tmp / f"clip{i}.mp4"
            seconds, _ = _timed(write_mp4, path, marked, audio[0], spec.fps, spec.sample_rate)
            per_clip["mp4 write (either way)"].append(seconds)
            seconds, _ = _timed(sign_mp4, path, GenerationFacts(created=now_iso(), **facts), keys)
            per_clip["signature"].append(seconds)

    generation = float(np.median(per_clip["generation"]))
    rows = [("generation of one clip", generation, None)]
    rows += [(f"per clip: {k}", float(np.median(v)), None) for k, v in per_clip.items()][1:]
    rows += [(f"per run: {k}", v, None) for k, v in per_run.items()]
    provenance = sum(float(np.median(per_clip[k])) for k in ("watermark", "signature"))
    provenance += sum(per_run.values())
    rows.append(("provenance in all, one-clip run", provenance, None))
    lines = [
        f"#### Provenance cost per generated clip ({datetime.date.today().isoformat()})",
        "",
        f"- machine: {machine()}; command: `{command_line('provenance_cost.py', argv)}`",
        f"- run: {args.workdir} ({spec.frame_size}x{spec.frame_size}, "
        f"{spec.clip_frames} frames, {args.steps} sampler steps); medians of {args.clips} clips",
        "",
        "| step | seconds | share of generation |",
        "|---|---|---|",
    ]
    for name, seconds, _ in rows:
        if name.startswith("per clip: mp4"):
            lines.append(
                f"| {name} | {seconds:.3f} | {seconds / generation:.1%} (not provenance) |"
            )
        else:
            lines.append(f"| {name} | {seconds:.3f} | {seconds / generation:.1%} |")
    publish("\n".join(lines) + "\n", append=not args.no_append)
    return 0


if __name__ == "__main__":
    sys.exit(main())
