"""Benchmark cases: the simulator's clips cut into a conditioning part and a ground truth.

    worldsim bench export --out CASES --truth-out TRUTH [--num-cases N] [--seed S]

A case is one simulated clip. A model under test receives its first K frames (an mp4
with their sound) and its caption, and must continue the clip to its full length; the
ground truth is everything the simulator knows about the rest: per-frame states,
visibility, contacts, the outcome. The export writes two folders (export.py):

    CASES/  what a model is given, nothing else:
      manifest.json          benchmark version, clip format, K, the cases' ids and captions
      prompts.csv            id,caption,condition
      condition/<id>.mp4     first K frames with their sound (H.264 + AAC)
    TRUTH/  what the scorer needs, kept away from the model (it holds the scene
            parameters and seeds: with them the cases can be re-simulated):
      truth_manifest.json    the same export's id, each case's family, split and outcome
      <id>.json              the ground truth of the whole clip (pixel units) and the
                             case's score references (score.py) and physical variance
      <id>.mp4               the simulator's full clip

A truth file reads back as a `Case` (worldsim/bench/truth.py).

Coverage. Cases cycle through the families; within a family each block of three cases
holds one in-range, one out-of-range and one conflict case (in-range parameters), in an
order drawn from the export's seed, so every family gets every kind from
`3 * len(families)` cases on and an id says nothing of its kind. A *conflict* case's
caption asserts the outcome physics will not produce ("the ball goes in" for a shot that
misses), to measure whether a model follows the prompt or the physics.

Secrecy. Everything follows from the export's seed; `bench export` draws it from the
operating system unless given, and keeps it in TRUTH only. With a known seed (the
calibration's, or `--seed`), anyone can re-simulate the cases: use one for public
reference numbers, not for a leaderboard.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from worldsim.bench.outcomes import read_outcome
from worldsim.bench.track import tracks_from_states
from worldsim.bench.truth import Case, case_from_json
from worldsim.physics import families as families_lib
from worldsim.physics.clip import clip_from_params
from worldsim.physics.families import bounce, ramp, tower
from worldsim.physics.families.common import FLOOR_Y
from worldsim.physics.types import STATE_FIELDS, Camera, Clip, RenderConfig

BENCHMARK = "worldsim-physics"
VERSION = 2  # 2: truth in its own folder, the trivial-continuation scale, Physics-IQ
TRUTH_MANIFEST = "truth_manifest.json"
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


def case_specs(
    num_cases: int, families: Sequence[str], seed: int, kinds: Sequence[str] = KINDS
) -> list[CaseSpec]:
    """The cases of an export: families round-robin, then `kinds` (all KINDS unless a
    study asks for fewer, e.g. conflict cases only) within each family."""
    if num_cases < 1:
        raise ValueError(f"num_cases must be >= 1, got {num_cases}")
    for family in families:
        families_lib.get_family(family)  # raises on an unknown name
    unknown = sorted(set(kinds) - set(KINDS))
    if not kinds or unknown:
        raise ValueError(f"case kinds must be a non-empty subset of {KINDS}, got {list(kinds)}")
    specs = []
    for i in range(num_cases):
        f, j = i % len(families), i // len(families)  # family, and the case's place in it
        # Each block of len(kinds) cases of a family holds every kind once, in an order
        # drawn from the seed: with a secret seed, an id tells nothing of its kind.
        order = np.random.default_rng([seed, f, j // len(kinds)]).permutation(len(kinds))
        kind = kinds[order[j % len(kinds)]]
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


def _walls(clip: Clip, camera: Camera) -> list[dict]:
    """The scene's static segments (floor, obstacle, backboard, ramp) in pixels: no object
    passes through one (metrics.wall_metrics). The rim's small discs are left out."""
    walls = []
    for static in clip.statics:
        if static.kind != "segment":
            continue
        (ax, ay), (bx, by) = (camera.to_pixels(np.array(p)) for p in static.points)
        walls.append(
            {
                "name": static.name,
                "a": [float(ax), float(ay)],
                "b": [float(bx), float(by)],
                "half_thickness_px": float(static.radius * camera.pixels_per_meter),
            }
        )
    return walls


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
        "walls": _walls(clip, camera),
    }
    truth["outcome_observable"] = outcome_observable(case_from_json(truth))
    return truth


def outcome_observable(case: Case) -> bool:
    """Whether the prediction's frames decide the case's outcome. Some outcomes cannot be
    read off frames even with perfect tracking (the ball rolled out of view, a touch
    between frames, a bounce peak between frames), and some are already shown by the
    conditioning frames (a hit in the first K frames): such cases do not count for outcome
    agreement. Checked with the exact states as the "tracks"."""
    exact = tracks_from_states(case.states, case.visibility, case.objects)
    observable = read_outcome(case, exact) == case.outcome
    if case.outcome in EVENT_OUTCOMES:
        shown = case.visibility.copy()
        shown[case.condition_frames :] = 0.0  # only the conditioning frames
        early = tracks_from_states(case.states, shown, case.objects)
        observable &= read_outcome(case, early) != case.outcome
    return bool(observable)


def _read_json_manifest(path: Path, what: str) -> dict:
    from worldsim.bench.errors import BenchError

    if not path.is_file():
        raise BenchError(
            f"{path.parent}: no {path.name}; write {what} with `worldsim bench export`"
        )
    manifest = json.loads(path.read_text())
    if manifest.get("benchmark") != BENCHMARK:
        raise BenchError(f"{path}: not a {BENCHMARK} manifest")
    if manifest.get("version") != VERSION:
        raise BenchError(
            f"{path}: benchmark version {manifest.get('version')}, this scorer reads {VERSION}"
            " (export the cases again)"
        )
    return manifest


def read_manifest(cases_dir: str | os.PathLike) -> dict:
    """The model-facing manifest of CASES (ids, captions, conditioning clips, format)."""
    return _read_json_manifest(Path(cases_dir) / "manifest.json", "one")


def read_truth_manifest(truth_dir: str | os.PathLike) -> dict:
    """The truth folder's manifest (each case's family, split, conflict, outcome)."""
    from worldsim.bench.errors import BenchError
    from worldsim.bench.score import scored_digest

    path = Path(truth_dir) / TRUTH_MANIFEST
    manifest = _read_json_manifest(path, "the truth folder")
    if manifest.get("scored_digest") != scored_digest():
        raise BenchError(
            f"{path}: its score references were measured under other score constants "
            f"({manifest.get('scored_digest')}, this scorer has {scored_digest()}); export again"
        )
    return manifest


def check_same_export(cases_dir: str | os.PathLike, truth_dir: str | os.PathLike) -> dict:
    """The truth manifest, after checking that CASES and TRUTH come from one export."""
    from worldsim.bench.errors import BenchError

    cases, truth = read_manifest(cases_dir), read_truth_manifest(truth_dir)
    if cases.get("export_id") != truth.get("export_id"):
        raise BenchError(
            f"--cases-dir {cases_dir} (export {cases.get('export_id')}) and --truth-dir "
            f"{truth_dir} (export {truth.get('export_id')}) are not the same export"
        )
    return truth


def load_case(truth_dir: str | os.PathLike, case_id: str) -> Case:
    """One case from TRUTH/<id>.json (its clip TRUTH/<id>.mp4 as `truth_video`)."""
    truth_dir = Path(truth_dir)
    case = case_from_json(json.loads((truth_dir / f"{case_id}.json").read_text()))
    video = truth_dir / f"{case_id}.mp4"
    return dataclasses.replace(case, truth_video=str(video) if video.is_file() else None)


def load_cases(truth_dir: str | os.PathLike) -> list[Case]:
    manifest = read_truth_manifest(truth_dir)
    return [load_case(truth_dir, entry["id"]) for entry in manifest["cases"]]
