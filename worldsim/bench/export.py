"""Write a benchmark export: the model-facing cases folder and, apart, the truth folder.

    worldsim bench export --out CASES --truth-out TRUTH [--num-cases N] [--seed S] [--workers W]

The layout of both folders is in cases.py. Hand CASES to the model under test; keep TRUTH
for the scorer (it holds the scene parameters and seeds, with which every case can be
re-simulated). Both manifests (and every truth file) carry the same `export_id`, a
random token, so `bench score` can tell that a cases folder and a truth folder belong
together.

Per case (cases in parallel with `workers`): simulate, write the conditioning clip and
the full clip, track the objects' areas in the conditioning clip, measure the score
references (reference.py: the full clip and every trivial continuation through the
scorer) and the Physics-IQ physical variance (a second take drawn at another size).
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import secrets
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from worldsim.bench.cases import (
    BENCHMARK,
    CONDITION_FRAMES,
    KINDS,
    TRUTH_MANIFEST,
    VERSION,
    CaseSpec,
    case_specs,
    case_truth,
    simulate_case,
)
from worldsim.bench.score import scored_digest
from worldsim.bench.track import track
from worldsim.bench.truth import case_from_json
from worldsim.physics import families as families_lib
from worldsim.physics.types import RenderConfig

SUBMISSION = (
    "one mp4 per case named <id>.mp4, covering the whole clip from t = 0 (its first "
    "condition_frames frames may repeat the conditioning clip), with sound; any "
    "resolution and frame rate (resampled to the case's)"
)


def _add_condition_areas(truth: dict, condition: Path) -> None:
    """Each object's tracked area in the conditioning clip as written (codec included): the
    reference for the size metrics, so a codec's blur of small objects cancels."""
    from worldsim.media.video_io import read_video

    frames, _ = read_video(condition)
    tracks = track(frames, truth["objects"])
    vis = np.asarray(truth["visibility"])[: len(frames)]
    for n, obj in enumerate(truth["objects"]):
        seen = (vis[:, n] >= 0.999) & tracks.present[:, n]
        obj["condition_area_px"] = float(np.median(tracks.area[seen, n])) if seen.any() else None


def write_json(path: Path, data) -> None:
    """Atomic JSON write: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=1))
    os.replace(tmp, path)


@dataclasses.dataclass(frozen=True)
class _Job:
    spec: CaseSpec
    cases_dir: Path
    truth_dir: Path
    condition_frames: int
    config: RenderConfig
    export_id: str


def _export_case(job: _Job) -> dict:
    """Write one case's conditioning clip, full clip and truth; its truth-manifest entry."""
    from worldsim.bench.reference import physical_variance, reference_for
    from worldsim.media.video_io import write_mp4

    spec, k = job.spec, job.condition_frames
    clip, params = simulate_case(spec, job.config)
    truth = case_truth(spec, clip, params, k, job.config)
    k_samples = int(round(k * job.config.sample_rate / job.config.fps))
    condition = job.cases_dir / "condition" / f"{spec.case_id}.mp4"
    write_mp4(condition, clip.video[:k], clip.audio[:k_samples], clip.fps, clip.sample_rate)
    full = write_mp4(
        job.truth_dir / f"{spec.case_id}.mp4", clip.video, clip.audio, clip.fps, clip.sample_rate
    )
    _add_condition_areas(truth, condition)
    case = case_from_json(truth)
    truth["reference"] = reference_for(case, full).to_json()
    truth["physics_iq_variance"] = physical_variance(case, full)
    truth["export_id"] = job.export_id
    write_json(job.truth_dir / f"{spec.case_id}.json", truth)
    return {
        "id": spec.case_id,
        "family": spec.family,
        "split_tag": clip.split_tag,
        "conflict": spec.conflict,
        "outcome": clip.outcome,
        "caption": clip.caption,
    }


def default_truth_dir(cases_dir: str | os.PathLike) -> Path:
    cases_dir = Path(cases_dir).resolve()
    return cases_dir.with_name(cases_dir.name + "-truth")


def _check_folders(out: Path, truth_out: Path) -> None:
    """The two folders apart (neither inside the other), and --out holding nothing but an
    earlier export's model-facing files (a stale truth there would reach the model)."""
    a, b = out.resolve(), truth_out.resolve()
    if a == b or a in b.parents or b in a.parents:
        raise ValueError(
            f"--truth-out {truth_out} and --out {out} must be apart, neither inside the other "
            "(the model is given --out)"
        )
    if out.is_dir():
        extra = sorted(
            p.name
            for p in out.iterdir()
            if p.name not in {"manifest.json", "prompts.csv", "condition"}
        )
        if extra:
            raise ValueError(
                f"--out {out} holds {', '.join(extra[:5])}: export into an empty folder (or one "
                "written by an earlier export), so nothing but the cases reaches the model"
            )


def export_cases(
    out: str | os.PathLike,
    *,
    truth_out: str | os.PathLike | None = None,
    num_cases: int = 120,
    families: Sequence[str] = families_lib.FAMILIES,
    kinds: Sequence[str] = KINDS,
    seed: int | None = None,
    condition_frames: int = CONDITION_FRAMES,
    config: RenderConfig = RenderConfig(),
    workers: int = 1,
    progress: bool = True,
) -> tuple[Path, Path]:
    """Write CASES (`out`) and TRUTH (`truth_out`, default `<out>-truth`); returns both
    manifests' paths. seed: None draws a secret one (kept in TRUTH only); a given seed
    makes the export reproducible, and re-simulable by anyone who knows it."""
    from worldsim.bench.parallel import parallel_map

    out = Path(out)
    truth_out = default_truth_dir(out) if truth_out is None else Path(truth_out)
    _check_folders(out, truth_out)
    if seed is None:
        seed = secrets.randbits(32)  # kept in TRUTH only
    if not 1 <= condition_frames < config.num_frames:
        raise ValueError(
            f"--condition-frames must be in [1, {config.num_frames}), got {condition_frames}"
        )
    specs = case_specs(num_cases, tuple(families), seed, tuple(kinds))
    fmt = {
        "width": config.width,
        "height": config.height,
        "fps": config.fps,
        "seconds": config.num_frames / config.fps,
        "num_frames": config.num_frames,
        "sample_rate": config.sample_rate,
    }
    ident = secrets.token_hex(8)  # ties CASES to TRUTH; random, so it tells nothing
    jobs = [_Job(spec, out, truth_out, condition_frames, config, ident) for spec in specs]
    truth_out.mkdir(parents=True, exist_ok=True)
    entries = list(
        parallel_map(_export_case, jobs, workers=workers, desc="export", progress=progress)
    )
    prompts = [
        {"id": e["id"], "caption": e["caption"], "condition": f"condition/{e['id']}.mp4"}
        for e in entries
    ]
    with open(out / "prompts.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "caption", "condition"])
        for p in prompts:
            writer.writerow([p["id"], p["caption"], p["condition"]])
    common = {
        "benchmark": BENCHMARK,
        "version": VERSION,
        "export_id": ident,
        "condition_frames": condition_frames,
        "format": fmt,
    }
    manifest = common | {"submission": SUBMISSION, "cases": prompts}
    truth_manifest = common | {
        "seed": seed,
        "families": list(families),
        "scored_digest": scored_digest(),  # the score constants the references hold points of
        "cases": entries,
    }
    write_json(out / "manifest.json", manifest)
    write_json(truth_out / TRUTH_MANIFEST, truth_manifest)
    return out / "manifest.json", truth_out / TRUTH_MANIFEST
