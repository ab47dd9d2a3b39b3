"""Continue every case of a benchmark folder with the world model: one mp4 per case.

The benchmark folder is a file contract (worldsim/bench/cases.py): `manifest.json` lists
the cases with their caption and conditioning clip (first K frames with sound). Each
case is generated with its first K frames held (first-frame conditioning) for the
case's whole duration, so frames [0, K) repeat the conditioning as the scorer expects.
Cases go through the sampler in batches; all share K, so one compiled sampler serves.

Each case's noise is drawn from its own seed, `case_seed(seed, id)`, never from its batch
or its place in one: a resumed run (cases already written are skipped, so the batches
change) writes the same clips as an uninterrupted one, and with any `batch_size`.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from worldsim.world.generate import Generator, SamplerConfig, stack_contexts


def case_seed(seed: int, case_id: str) -> int:
    """A stable seed in [0, 2**32) for one case: (seed, the case id's SHA-256) through
    `np.random.SeedSequence` (not `hash()`, which Python salts per process)."""
    digest = int.from_bytes(hashlib.sha256(case_id.encode("utf-8")).digest()[:16], "little")
    return int(np.random.SeedSequence([seed, digest]).generate_state(1, np.uint32)[0])


def generate_cases(
    workdir: str | Path,
    cases_dir: str | Path,
    videos_dir: str | Path,
    *,
    sampler: SamplerConfig = SamplerConfig(),
    batch_size: int = 8,
    seed: int = 0,
    use_ema: bool = True,
) -> list[Path]:
    """Write VIDEOS/<id>.mp4 for every case; a case already written is kept (resumable).

    `seed` (>= 0) and a case's id alone choose its noise (`case_seed`).
    """
    from worldsim.console import progress
    from worldsim.media.video_io import write_mp4

    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    cases_dir, videos_dir = Path(cases_dir), Path(videos_dir)
    manifest = json.loads((cases_dir / "manifest.json").read_text())
    k = int(manifest["condition_frames"])
    seconds = float(manifest["format"]["seconds"])
    todo = [c for c in manifest["cases"] if not (videos_dir / f"{c['id']}.mp4").is_file()]
    written: list[Path] = []
    if not todo:
        return written
    gen = Generator(workdir, use_ema=use_ema)
    videos_dir.mkdir(parents=True, exist_ok=True)
    batches = [todo[i : i + batch_size] for i in range(0, len(todo), batch_size)]
    with progress(
        total=len(batches) * gen.windows_for(seconds), desc="generate", unit="window"
    ) as bar:
        for batch in batches:
            contexts = [
                gen.context(init_video=str(cases_dir / c["condition"]), init_frames=k)
                for c in batch
            ]
            # A partial last batch is padded so every batch compiles to the same sampler.
            pad = batch_size - len(batch)
            context = stack_contexts(contexts + [contexts[-1]] * pad)
            captions = [c["caption"] for c in batch] + [batch[-1]["caption"]] * pad
            seeds = [case_seed(seed, c["id"]) for c in batch]
            frames, audio = gen.generate(
                captions,
                seconds=seconds,
                context=context,
                seed=seeds + seeds[-1:] * pad,  # each case's own noise; padding's is dropped
                sampler=sampler,
                progress=bar,
            )
            for i, c in enumerate(batch):
                path = videos_dir / f"{c['id']}.mp4"
                write_mp4(path, frames[i], audio[i], gen.spec.fps, gen.spec.sample_rate)
                written.append(path)
    return written
