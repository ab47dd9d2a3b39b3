"""Benchmark cases: the simulator's clips cut into a conditioning part and a ground truth.

    worldsim bench export --out DIR [--num-cases N] [--families ...] [--seed S]

A case is one simulated clip. A model under test receives its first K frames (an mp4
with their sound) and its caption, and must continue the clip to its full length; the
ground truth is everything the simulator knows about the rest: per-frame states,
visibility, contacts, the outcome. Everything the scorer needs is in the exported
folder, so any model's clips can be scored from files alone:

    DIR/manifest.json          benchmark version, clip format, K, the list of cases
    DIR/prompts.csv            id,caption,condition (what a model is given)
    DIR/condition/<id>.mp4     first K frames with their sound (H.264 + AAC)
    DIR/truth/<id>.json        the ground truth of the whole clip (pixel units)
    DIR/ground_truth/<id>.mp4  the simulator's full clip (--with-ground-truth)

A truth file reads back as a `Case` (worldsim/bench/truth.py).

Coverage. Cases cycle through the families; within a family the kinds cycle through
in-range, out-of-range and conflict (in-range parameters), starting one kind later for
each next family, so every family gets every kind from `3 * len(families)` cases on and
even a small export (two per family) has every kind. A *conflict* case's caption asserts the outcome physics
will not produce ("the ball goes in" for a shot that misses), to measure whether a
model follows the prompt or the physics.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from worldsim.bench.outcomes import read_outcome
from worldsim.bench.track import track, tracks_from_states
from worldsim.bench.truth import Case, case_from_json
from worldsim.physics import families as families_lib
from worldsim.physics.clip import clip_from_params
from worldsim.physics.families import bounce, ramp, tower
from worldsim.physics.families.common import FLOOR_Y
from worldsim.physics.types import STATE_FIELDS, Camera, Clip, RenderConfig

BENCHMARK = "worldsim-physics"
VERSION = 1
CONDITION_FRAMES = 5  # 1 + 4: one causal latent step of the world model's video VAE
KINDS = ("in_range", "out_of_range", "conflict")  # the per-family cycle


@dataclasses.dataclass(frozen=True)
class CaseSpec:
    """What one case is, before simulating it."""

    case_id: str
    family: str
    out_of_range: bool
    conflict: bool
    seed: int


def case_specs(num_cases: int, families: Sequence[str], seed: int) -> list[CaseSpec]:
    """The cases of an export: families round-robin, then KINDS within each family."""
    if num_cases < 1:
        raise ValueError(f"num_cases must be >= 1, got {num_cases}")
    for family in families:
        families_lib.get_family(family)  # raises on an unknown name
    specs = []
    for i in range(num_cases):
        f = i % len(families)
        kind = KINDS[(i // len(families) + f) % len(KINDS)]
        family = families[f]
        case_seed = int(np.random.SeedSequence([seed, i]).generate_state(1)[0])
        specs.append(
            CaseSpec(
                f"{i:04d}_{family}", family, kind == "out_of_range", kind == "conflict", case_seed
            )
        )
    return specs


def simulate_case(spec: CaseSpec, config: RenderConfig) -> tuple[Clip, dict]:
    """The full clip of a case and its sampled parameters."""
    params_seed = np.random.SeedSequence(spec.seed).spawn(3)[0]
    params = families_lib.sample_params(
        spec.family, np.random.default_rng(params_seed), spec.out_of_range
    )
    split_tag = "out_of_range" if spec.out_of_range else "in_range"
    clip = clip_from_params(
        spec.family, params, spec.seed, config, split_tag=split_tag, conflict=spec.conflict
    )
    return clip, params


def truth_clip(case: Case) -> Clip:
    """Re-simulate a case's full clip (deterministic: the same bytes the export wrote)."""
    return clip_from_params(
        case.family,
        case.params,
        case.seed,
        case.render_config,
        split_tag=case.split_tag,
        conflict=case.conflict,
    )


def _outcome_geometry(clip: Clip, camera: Camera, info: dict) -> dict:
    """Family geometry in pixels, for reading an outcome off tracked positions."""
    ppm = camera.pixels_per_meter

    def px(x: float, y: float) -> list[float]:
        return [float(v) for v in camera.to_pixels(np.array([x, y]))]

    geo: dict = {"floor_y": px(0.0, FLOOR_Y)[1]}
    p = clip.scene_params
    if clip.family == "hoop":
        geo |= {
            "rim_front_x": px(info["rim_front_x"], 0)[0],
            "rim_back_x": px(info["rim_back_x"], 0)[0],
            "rim_y": px(0, info["rim_y"])[1],
        }
    elif clip.family == "throw":
        geo["obstacle_x"] = px(p["obstacle_x"], 0)[0]
    elif clip.family == "bounce":
        geo |= {
            "settle_window_s": bounce.SETTLE_WINDOW_S,
            "settle_height": bounce.SETTLE_HEIGHT * ppm,
        }
    elif clip.family == "ramp":
        geo |= {
            "ramp_bottom_x": px(info["ramp_bottom_x"], 0)[0],
            "angle_deg": float(p["angle_deg"]),
            "stay_distance": ramp.STAY_DISTANCE * ppm,
        }
    elif clip.family == "tower":
        geo |= {"topple_angle": tower.TOPPLE_ANGLE, "topple_drop": tower.TOPPLE_DROP}
    return geo


def _objects(clip: Clip, ppm: float) -> list[dict]:
    out = []
    for obj in clip.objects:
        size_px = [float(s) * ppm for s in obj.size]
        area = np.pi * size_px[0] ** 2 if obj.shape == "circle" else size_px[0] * size_px[1]
        out.append(
            {
                "name": obj.name,
                "shape": obj.shape,
                "color": [int(c) for c in obj.color],
                "size_px": size_px,  # (radius,) or (width, height)
                "area_px": float(area),
                "mass": float(obj.mass),
                "material": obj.material,
            }
        )
    return out


# Outcomes that, once they happen, stay happened: if the conditioning frames already show
# one, the prediction cannot be judged on it.
EVENT_OUTCOMES = frozenset({"hit", "make", "clears"})


def case_truth(spec: CaseSpec, clip: Clip, params: dict, k: int, config: RenderConfig) -> dict:
    """The JSON ground truth of one case (`config`: the format `clip` was made with)."""
    camera = config.camera
    info = clip.scene_info
    statics = {s.name for s in clip.statics}
    asserted = (
        families_lib.conflicting_outcome(clip.family, clip.outcome) if spec.conflict else None
    )
    truth = {
        "id": spec.case_id,
        "family": clip.family,
        "split_tag": clip.split_tag,
        "conflict": spec.conflict,
        "caption": clip.caption,
        "asserted_outcome": asserted,
        "outcome": clip.outcome,
        "is_failure": bool(clip.is_failure),
        "seed": spec.seed,
        "params": params,
        "width": config.width,
        "height": config.height,
        "fps": clip.fps,
        "sample_rate": clip.sample_rate,
        "num_frames": int(clip.video.shape[0]),
        "substeps_per_frame": config.substeps_per_frame,
        "view_width_m": config.view_width_m,
        "ambient_noise": config.ambient_noise,
        "condition_frames": k,
        "pixels_per_meter": camera.pixels_per_meter,
        "gravity_px_s2": float(clip.scene_params["gravity_px_s2"]),
        "coordinates": "pixels: x right, y down, pixel (row i, column j) centred at (j, i)",
        "state_fields": list(STATE_FIELDS),
        "objects": _objects(clip, camera.pixels_per_meter),
        "states": np.round(clip.states.astype(np.float64), 5).tolist(),
        "visibility": np.round(clip.visibility.astype(np.float64), 4).tolist(),
        "contacts": [
            dict(dataclasses.asdict(c), static=c.object_b in statics) for c in clip.contacts
        ],
        "geometry": _outcome_geometry(clip, camera, info),
    }
    # Some outcomes cannot be read off frames even with perfect tracking (the ball rolled
    # out of view, a touch between frames, a bounce peak between frames), and some are
    # already shown by the conditioning frames (a hit in the first K frames): such cases
    # do not count for outcome agreement. Checked with the exact states as the "tracks".
    case = case_from_json(truth)
    exact = tracks_from_states(case.states, case.visibility, case.objects)
    observable = read_outcome(case, exact) == clip.outcome
    if clip.outcome in EVENT_OUTCOMES:
        shown = case.visibility.copy()
        shown[k:] = 0.0  # only the conditioning frames
        early = tracks_from_states(case.states, shown, case.objects)
        observable &= read_outcome(case, early) != clip.outcome
    truth["outcome_observable"] = bool(observable)
    return truth


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


def _write_json(path: Path, data) -> None:
    """Atomic JSON write: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=1))
    os.replace(tmp, path)


def export_cases(
    out: str | os.PathLike,
    *,
    num_cases: int = 120,
    families: Sequence[str] = families_lib.FAMILIES,
    seed: int = 0,
    condition_frames: int = CONDITION_FRAMES,
    config: RenderConfig = RenderConfig(),
    with_ground_truth: bool = False,
    progress: Iterable | None = None,
) -> Path:
    """Write the benchmark folder (see the module docstring); returns its manifest path."""
    from worldsim.media.video_io import write_mp4

    out = Path(out)
    if not 1 <= condition_frames < config.num_frames:
        raise ValueError(
            f"--condition-frames must be in [1, {config.num_frames}), got {condition_frames}"
        )
    specs = case_specs(num_cases, tuple(families), seed)
    per_frame = config.sample_rate / config.fps
    entries = []
    bar = progress(specs) if progress is not None else specs
    for spec in bar:
        clip, params = simulate_case(spec, config)
        truth = case_truth(spec, clip, params, condition_frames, config)
        k_samples = int(round(condition_frames * per_frame))
        condition = out / "condition" / f"{spec.case_id}.mp4"
        write_mp4(
            condition,
            clip.video[:condition_frames],
            clip.audio[:k_samples],
            clip.fps,
            clip.sample_rate,
        )
        _add_condition_areas(truth, condition)
        _write_json(out / "truth" / f"{spec.case_id}.json", truth)
        if with_ground_truth:
            write_mp4(
                out / "ground_truth" / f"{spec.case_id}.mp4",
                clip.video,
                clip.audio,
                clip.fps,
                clip.sample_rate,
            )
        entries.append(
            {
                "id": spec.case_id,
                "family": spec.family,
                "split_tag": clip.split_tag,
                "conflict": spec.conflict,
                "outcome": clip.outcome,
                "caption": clip.caption,
                "condition": f"condition/{spec.case_id}.mp4",
                "truth": f"truth/{spec.case_id}.json",
            }
        )
    with open(out / "prompts.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "caption", "condition"])
        for e in entries:
            writer.writerow([e["id"], e["caption"], e["condition"]])
    manifest = {
        "benchmark": BENCHMARK,
        "version": VERSION,
        "seed": seed,
        "families": list(families),
        "condition_frames": condition_frames,
        "format": {
            "width": config.width,
            "height": config.height,
            "fps": config.fps,
            "seconds": config.num_frames / config.fps,
            "num_frames": config.num_frames,
            "sample_rate": config.sample_rate,
        },
        "submission": (
            "one mp4 per case named <id>.mp4, covering the whole clip from t = 0 (its first "
            "condition_frames frames may repeat the conditioning clip), with sound; any "
            "resolution and frame rate (resampled to the case's)"
        ),
        "cases": entries,
    }
    path = out / "manifest.json"
    _write_json(path, manifest)
    return path


def read_manifest(cases_dir: str | os.PathLike) -> dict:
    from worldsim.bench.errors import BenchError

    path = Path(cases_dir) / "manifest.json"
    if not path.is_file():
        raise BenchError(f"{cases_dir}: no manifest.json; write one with `worldsim bench export`")
    manifest = json.loads(path.read_text())
    if manifest.get("benchmark") != BENCHMARK:
        raise BenchError(f"{path}: not a {BENCHMARK} manifest")
    if manifest.get("version") != VERSION:
        raise BenchError(
            f"{path}: benchmark version {manifest.get('version')}, this scorer reads {VERSION}"
        )
    return manifest


def load_case(cases_dir: str | os.PathLike, case_id: str) -> Case:
    return case_from_json(json.loads((Path(cases_dir) / "truth" / f"{case_id}.json").read_text()))


def load_cases(cases_dir: str | os.PathLike) -> list[Case]:
    manifest = read_manifest(cases_dir)
    return [load_case(cases_dir, entry["id"]) for entry in manifest["cases"]]
