"""From metrics to one 0-100 score per case, and the benchmark's overall score.

The scale: **100 is the simulator's own clip, 0 is the better of the trivial
continuations of that case** (freezing the last conditioning frame, constant-velocity
extrapolation, the background alone, colour noise, the conditioning looped:
calibrate.BASELINES). A model earns points only for what a trivial answer does not
already get right, and loses them for breaking what it does.

1. Points per metric. Each scored metric is an error e (0 is perfect) with two documented
   constants, a *floor* f (the error tracking itself introduces, measured on the
   simulator's clips at other resolutions and frame rates) and a *zero* z:
   p = 100 * clip((z - e) / (z - f), 0, 1). The sync offset is multiplied by onset
   precision, the contact scores by kink precision (so clicking or jittering all the time
   buys nothing). A metric that the truth has but the clip cannot be measured on scores 0.
2. References, per case, stored with its truth at export (reference.py): the points of
   the simulator's clip through mp4 (the *ceiling* c of each metric) and of each trivial
   continuation through mp4; b = the best trivial points of that metric.
3. Law metrics (groups motion, gravity, bounce, contacts, outcome, sound):
   - where the trivial continuations leave headroom (c - b >= MIN_HEADROOM points), the
     metric is a *skill*: s = clip((p - b) / (c - b), 0, 1);
   - where a trivial continuation already gets it right (c - b < MIN_HEADROOM: nothing
     moves, no contact to hear, a miss that a frozen ball also "misses"), it is a *guard*:
     the clip earns nothing for it, and breaking it costs up to LAW_GUARD_WEIGHT of the
     case: factor 1 - LAW_GUARD_WEIGHT * (1 - min(p / c, 1)).
4. Gates: continuity (teleports, vanishing, appearing) and identity (size, count) are
   always guards of full weight (factor min(p / c, 1)): a clip whose objects jump,
   vanish or change keeps only that share. One teleport closes the continuity gate in a
   scene of up to five objects (in a larger one it keeps 1 - 5/N); an object missing from
   a third of its frames leaves a third of it (vanishing), and of the identity gate
   (count). Several broken guards multiply.
5. A case's score = 100 * mean over the law groups with a skill (each the mean of its
   skills) * the product of every guard; where no law metric has headroom (nothing
   happens after the conditioning that a trivial clip misses) it is 100 * the product of
   the guards, so a frozen clip of a still scene scores as the truth does. A metric whose
   ceiling is below MIN_CEILING (the simulator's own clip cannot show it through the
   tracker) does not judge the case. A clip shorter than its case is held at its last
   frame for the rest of it (scoring.py): the missing part earns what freezing earns.

Each trivial continuation therefore scores 0 wherever something moves that it misses;
the benchmark's overall score is the mean over cases (a missing clip scores 0).
"""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class Scored:
    metric: str  # a name in metrics.METRICS
    group: str
    floor: float
    zero: float
    invert: bool = False  # the metric is a success rate: e = 1 - value
    scale_by: str | None = None  # another metric in [0, 1] that scales this one's score


# Floors and zeros calibrated on the seed-1 export (benchmarks/bench_calibration.py
# --floors --seed 1); the calibration table reports the disjoint seed-0 export.
SCORED: tuple[Scored, ...] = (
    Scored("position_error", "motion", 0.01, 0.25),
    Scored("velocity_error_diag", "motion", 0.05, 1.0),
    Scored("gravity_error", "gravity", 0.1, 0.5),  # half or double g earns nothing
    Scored("horizontal_accel", "gravity", 0.1, 1.0),
    Scored("restitution_error", "bounce", 0.1, 0.6),
    Scored("energy_gain_rate", "bounce", 0.0, 0.5),
    Scored("outcome_agree", "outcome", 0.0, 1.0, invert=True),
    Scored("contact_timing_ms", "contacts", 20.0, 250.0, scale_by="kink_precision"),
    Scored("contact_miss_rate", "contacts", 0.1, 1.0, scale_by="kink_precision"),
    # Scaled by precision: a clip that clicks all the time has an onset near every contact.
    Scored("sync_offset_ms", "sound", 5.0, 250.0, scale_by="onset_precision"),
    Scored("onset_f1", "sound", 0.15, 1.0, invert=True),
    # Gates. 0.2 teleports per object (one in a scene of five) closes the gate; an object
    # missing in half the frames where it should be seen does too.
    Scored("teleports", "continuity", 0.0, 0.2),
    Scored("vanish_rate", "continuity", 0.0, 0.5),
    Scored("appear_rate", "continuity", 0.0, 0.5),
    Scored("size_spread", "identity", 0.1, 0.6),
    Scored("size_error", "identity", 0.1, 0.6),
    Scored("count_error_rate", "identity", 0.02, 0.5),
)
GROUPS = tuple(dict.fromkeys(s.group for s in SCORED))
GATE_GROUPS = ("continuity", "identity")
LAW_GROUPS = tuple(g for g in GROUPS if g not in GATE_GROUPS)
MIN_HEADROOM = 10.0  # points a trivial continuation must leave for a metric to be a skill
MIN_CEILING = 50.0  # points the simulator's own clip must reach for a metric to judge
LAW_GUARD_WEIGHT = 0.5  # the share of a case that breaking a trivially kept law costs
# Bump when tracking, metrics, sound events or the trivial continuations change what a
# clip measures: exports hold points measured by the code of their day (scored_digest).
MEASURE_REVISION = 1
_BY_METRIC = {s.metric: s for s in SCORED}


def scored_digest() -> str:
    """A digest of the score constants and metric definitions: an export's references hold
    points measured under them."""
    import hashlib
    import json

    from worldsim.bench.metrics import METRICS

    constants = [dataclasses.asdict(s) for s in SCORED] + [dataclasses.asdict(m) for m in METRICS]
    constants.append({"measure_revision": MEASURE_REVISION, "min_headroom": MIN_HEADROOM})
    return hashlib.sha256(json.dumps(constants, sort_keys=True).encode()).hexdigest()[:12]


def metric_score(spec: Scored, value: float) -> float:
    e = 1.0 - value if spec.invert else value
    return 100.0 * float(np.clip((spec.zero - e) / (spec.zero - spec.floor), 0.0, 1.0))


def metric_points(metrics: dict) -> dict[str, float]:
    """Points 0-100 of every scored metric the clip has (step 1 of the module doc)."""
    points = {}
    for spec in SCORED:
        value = metrics.get(spec.metric)
        if value is None:
            continue
        s = 0.0 if np.isnan(value) else metric_score(spec, float(value))
        if spec.scale_by is not None and metrics.get(spec.scale_by) is not None:
            s *= float(metrics[spec.scale_by])
        points[spec.metric] = s
    return points


@dataclasses.dataclass(frozen=True)
class Reference:
    """A case's yardsticks: the simulator's clip's points and each trivial continuation's."""

    ceiling: dict[str, float]  # metric -> points of the simulator's clip through mp4
    trivial: dict[str, dict[str, float]]  # baseline kind -> metric -> points

    def best_trivial(self, metric: str) -> float:
        return max((t.get(metric, 0.0) for t in self.trivial.values()), default=0.0)

    def to_json(self) -> dict:
        return {"ceiling": self.ceiling, "trivial": self.trivial}

    @classmethod
    def from_json(cls, data: dict) -> Reference:
        return cls(dict(data["ceiling"]), {k: dict(v) for k, v in data["trivial"].items()})


@dataclasses.dataclass
class CaseScore:
    overall: float  # 0-100
    groups: dict[str, float]  # group -> 100 * mean skill * its guards (100 * guards if no skill)
    roles: dict[str, str]  # metric -> "skill" | "guard" | "unjudged"
    values: dict[str, float]  # metric -> its skill or guard in [0, 1]


def case_score(points: dict[str, float], reference: Reference) -> CaseScore:
    """A case's score from a clip's points and the case's references (module doc)."""
    skills: dict[str, list[float]] = {}
    guards: dict[str, list[float]] = {}
    roles, values = {}, {}
    for metric, ceiling in reference.ceiling.items():
        spec = _BY_METRIC.get(metric)
        if spec is None:
            continue
        if ceiling < MIN_CEILING:
            roles[metric] = "unjudged"
            continue
        p = points.get(metric, 0.0)
        best = reference.best_trivial(metric)
        if spec.group in LAW_GROUPS and ceiling - best >= MIN_HEADROOM:
            roles[metric] = "skill"
            values[metric] = float(np.clip((p - best) / (ceiling - best), 0.0, 1.0))
            skills.setdefault(spec.group, []).append(values[metric])
        else:
            roles[metric] = "guard"
            kept = float(min(p / ceiling, 1.0))
            weight = 1.0 if spec.group in GATE_GROUPS else LAW_GUARD_WEIGHT
            values[metric] = 1.0 - weight * (1.0 - kept)
            guards.setdefault(spec.group, []).append(values[metric])
    group_skill = {g: float(np.mean(v)) for g, v in skills.items()}
    group_guard = {g: float(np.prod(v)) for g, v in guards.items()}
    groups = {
        g: 100.0 * group_skill.get(g, 1.0) * group_guard.get(g, 1.0)
        for g in GROUPS
        if g in group_skill or g in group_guard
    }
    skill = float(np.mean(list(group_skill.values()))) if group_skill else 1.0
    overall = 100.0 * skill * float(np.prod(list(group_guard.values())))
    return CaseScore(overall, groups, roles, values)
