"""From metrics to one 0-100 score per case, and the benchmark's overall score.

Each scored metric is an error e (0 is perfect) with two documented constants: a
*floor* f, the error that tracking itself introduces (measured on the simulator's own
clips written to mp4 and re-encoded at other resolutions and frame rates; see
benchmarks/RESULTS.md, "Benchmark calibration"), and a *zero* z, the error at which the
metric gives no points. Its score is linear between them:

    s = 100 * clip((z - e) / (z - f), 0, 1)

so the simulator's clips score 100 and trivial baselines land wherever their physics
puts them (freezing the last conditioning frame, or extrapolating its velocity, are
reported beside every model; they are not forced to 0). Metrics measured on tracks are
multiplied by the share of object-frames the tracker found (`tracked_share`): a clip
whose objects are gone cannot score on how they move; the sound's sync offset is
multiplied by onset precision, so clicking all the time cannot buy sync, and the contact
scores by kink precision, so jitter cannot match every contact. Metrics of one group are
averaged, groups weigh the same, and a case's score is the mean over the groups it has
something to measure in. The overall score is the mean over cases; a missing or
unreadable clip scores 0.
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
    on_tracks: bool  # scaled by tracked_share
    invert: bool = False  # the metric is a success rate: e = 1 - value
    scale_by: str | None = None  # another metric in [0, 1] that scales this one's score


SCORED: tuple[Scored, ...] = (
    Scored("position_error", "motion", 0.01, 0.25, True),
    Scored("velocity_error_diag", "motion", 0.05, 1.0, True),
    Scored("gravity_error", "gravity", 0.1, 1.0, True),
    Scored("horizontal_accel", "gravity", 0.1, 1.0, True),
    Scored("restitution_error", "bounce", 0.1, 0.6, True),
    Scored("energy_gain_rate", "bounce", 0.0, 0.5, True),
    Scored("teleports", "continuity", 0.0, 2.0, True),
    Scored("vanish_rate", "continuity", 0.0, 0.5, False),
    Scored("appear_rate", "continuity", 0.0, 0.5, True),
    Scored("size_spread", "identity", 0.1, 0.6, True),
    Scored("size_error", "identity", 0.1, 0.6, True),
    Scored("count_error_rate", "identity", 0.02, 0.5, False),
    Scored("outcome_agree", "outcome", 0.0, 1.0, False, invert=True),
    Scored("contact_timing_ms", "contacts", 20.0, 250.0, True, scale_by="kink_precision"),
    Scored("contact_miss_rate", "contacts", 0.1, 1.0, False, scale_by="kink_precision"),
    # Scaled by precision: a clip that clicks all the time has an onset near every contact.
    Scored("sync_offset_ms", "sound", 5.0, 250.0, False, scale_by="onset_precision"),
    Scored("onset_f1", "sound", 0.15, 1.0, False, invert=True),
)
GROUPS = tuple(dict.fromkeys(s.group for s in SCORED))


def metric_score(spec: Scored, value: float) -> float:
    e = 1.0 - value if spec.invert else value
    return 100.0 * float(np.clip((spec.zero - e) / (spec.zero - spec.floor), 0.0, 1.0))


def case_score(metrics: dict) -> tuple[float, dict[str, float]]:
    """(overall 0-100, per-group scores) of one case's metrics."""
    tracked = metrics.get("tracked_share")
    tracked = 1.0 if tracked is None else tracked
    groups: dict[str, list[float]] = {}
    for spec in SCORED:
        value = metrics.get(spec.metric)
        if value is None:
            continue
        s = 0.0 if np.isnan(value) else metric_score(spec, float(value))
        if spec.on_tracks:
            s *= tracked
        if spec.scale_by is not None and metrics.get(spec.scale_by) is not None:
            s *= float(metrics[spec.scale_by])
        groups.setdefault(spec.group, []).append(s)
    per_group = {g: float(np.mean(v)) for g, v in groups.items()}
    overall = float(np.mean(list(per_group.values()))) if per_group else 0.0
    return overall, per_group
