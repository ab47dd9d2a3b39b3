"""One benchmark case as the scorer reads it back: the `Case` record and its JSON form.

`truth/<id>.json` (written by worldsim/bench/cases.py) holds everything the simulator knows
about a case; `case_from_json` turns it into a `Case`. This module sits below everything else
in bench/ (export, outcome rules, metrics, scoring) and imports none of it.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from worldsim.physics.types import RenderConfig


@dataclasses.dataclass
class Case:
    """One case's ground truth, as the scorer reads it back (pixel units of the case)."""

    case_id: str
    family: str
    split_tag: str  # in_range | out_of_range
    conflict: bool
    caption: str
    asserted_outcome: str | None  # conflict cases: what the caption claims
    outcome: str  # what the simulation did
    seed: int
    params: dict  # the sampled scene parameters (re-simulate with clip_from_params)
    width: int
    height: int
    fps: int
    sample_rate: int
    num_frames: int
    substeps_per_frame: int
    condition_frames: int
    pixels_per_meter: float
    gravity_px_s2: float  # downwards, i.e. +y in pixels
    objects: list[dict]  # name, shape, color, size_px, area_px
    states: np.ndarray  # [T, N, 6] STATE_FIELDS, px
    visibility: np.ndarray  # [T, N]
    contacts: list[dict]  # frame, time_s, object_a, object_b, impulse, static
    geometry: dict  # what the outcome rule of the family needs, px
    walls: list[dict] | None = None  # static segments (name, a, b, half_thickness_px), px;
    # None in exports written before they were recorded
    outcome_observable: bool = True  # the prediction's frames decide the outcome (see case_truth)
    view_width_m: float = 8.0
    ambient_noise: float = 0.002
    reference: dict | None = None  # score.Reference as JSON: ceiling and trivial points
    physics_iq_variance: dict | None = None  # physics_iq measures, truth vs a second take
    truth_video: str | None = None  # the simulator's clip (TRUTH/<id>.mp4), set by load_case

    @property
    def render_config(self) -> RenderConfig:
        return RenderConfig(
            width=self.width,
            height=self.height,
            fps=self.fps,
            seconds=self.num_frames / self.fps,
            sample_rate=self.sample_rate,
            view_width_m=self.view_width_m,
            ambient_noise=self.ambient_noise,
            substeps_per_frame=self.substeps_per_frame,
        )

    @property
    def diagonal(self) -> float:
        return float(np.hypot(self.width, self.height))

    @property
    def num_samples(self) -> int:
        return int(round(self.num_frames / self.fps * self.sample_rate))

    @property
    def condition_seconds(self) -> float:
        return self.condition_frames / self.fps


def case_from_json(data: dict) -> Case:
    return Case(
        case_id=data["id"],
        family=data["family"],
        split_tag=data["split_tag"],
        conflict=bool(data["conflict"]),
        caption=data["caption"],
        asserted_outcome=data.get("asserted_outcome"),
        outcome=data["outcome"],
        seed=int(data["seed"]),
        params=data["params"],
        width=int(data["width"]),
        height=int(data["height"]),
        fps=int(data["fps"]),
        sample_rate=int(data["sample_rate"]),
        num_frames=int(data["num_frames"]),
        substeps_per_frame=int(data["substeps_per_frame"]),
        condition_frames=int(data["condition_frames"]),
        pixels_per_meter=float(data["pixels_per_meter"]),
        gravity_px_s2=float(data["gravity_px_s2"]),
        objects=data["objects"],
        states=np.asarray(data["states"], np.float64).reshape(data["num_frames"], -1, 6),
        visibility=np.asarray(data["visibility"], np.float64).reshape(data["num_frames"], -1),
        contacts=data["contacts"],
        geometry=data["geometry"],
        walls=data.get("walls"),
        outcome_observable=bool(data.get("outcome_observable", True)),
        view_width_m=float(data.get("view_width_m", 8.0)),
        ambient_noise=float(data.get("ambient_noise", 0.002)),
        reference=data.get("reference"),
        physics_iq_variance=data.get("physics_iq_variance"),
    )
