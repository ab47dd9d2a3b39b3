"""Physics metrics of one clip against its case's ground truth (definitions: METRICS).

Every metric looks only at the *prediction*: frames from the case's `condition_frames`
on, contacts and sound from `condition_seconds` on. Positions are in pixels of the
case's resolution, times in seconds. A metric that has nothing to measure in a case
(no free flight, no bounce, no contact) is None there, and the report says how many
cases each mean covers.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from worldsim.bench import kinematics as kin
from worldsim.bench.outcomes import read_outcome
from worldsim.bench.sound import cluster_times, impact_events
from worldsim.bench.track import Tracks
from worldsim.bench.truth import Case

VISIBLE = 0.5  # ground-truth visibility at or above which an object should be seen
HIDDEN = 0.05  # ... at or below which it should not
MOSTLY_VISIBLE = 0.9  # frames where position and velocity are compared
FULLY_VISIBLE = 0.999  # frames where the tracked size is compared
TELEPORT_FACTOR = 1.5  # a jump beyond 1.5x the truth's fastest frame-to-frame motion...
TELEPORT_MARGIN_PX = 2.0  # ... plus 2 px is a teleport
WALL_MARGIN_PX = 0.5  # a centre this far past a wall's face is clearly on that side...
WALL_END_PX = 1.0  # ... and a path that meets the wall 1 px inside its ends went through it
CONTACT_MATCH_FRAMES = 3  # a recovered contact within 3 frames of the truth's is that contact
BOUNCE_ISOLATION_S = 0.2  # bounces measured only if the object has no other contact this near
ENERGY_GAIN_RATIO = 1.1  # a bounce whose speed rises by more than 10% gains energy
MIN_FLIGHT_FRAMES = 4
# A true contact counts only if it kinks the exact trajectory by 8 g; the clip's kinks are
# searched at 4 g (kinematics.KINK_ACCEL_G), so tracking noise (~1 g) cannot hide one.
TRUE_KINK_G = 8.0
# Gravity is judged only where the free flight could measure it to 10% with tracking noise
# of 0.15 px (measured: median 0.1 px on the simulator's clips through H.264).
TRACK_NOISE_PX = 0.15
MAX_GRAVITY_STDERR = 0.1


@dataclasses.dataclass(frozen=True)
class Metric:
    name: str
    unit: str
    range: str
    definition: str


METRICS: tuple[Metric, ...] = (
    Metric(
        "position_error",
        "frame diagonals",
        "[0, 1]",
        "mean distance between tracked and true centres, over object-frames after the conditioning where the truth shows the object (visibility >= 0.9) and the tracker finds it, divided by the frame diagonal",
    ),
    Metric(
        "velocity_error",
        "px/s",
        "[0, inf)",
        "PhyWorld's velocity error: mean |v - v_true| over the same object-frames whose previous frame is also shown and tracked, v from positions of adjacent frames (v_t = (p_t - p_{t-1}) * fps) for both",
    ),
    Metric(
        "velocity_error_diag",
        "frame diagonals/s",
        "[0, inf)",
        "velocity_error divided by the frame diagonal (resolution-free; what the score uses)",
    ),
    Metric(
        "gravity_error",
        "ratio",
        "[0, inf)",
        "|g_est - g| / g (1 if the truth's flight pins g but the clip shows too little of it), g_est fitted jointly over every free-flight segment of a ball after the conditioning (the truth is in free flight there, and the clip shows no kink inside); each segment has its own start and velocity, gravity is shared",
    ),
    Metric(
        "horizontal_accel",
        "ratio of g",
        "[0, inf)",
        "|a_x| / g, the horizontal acceleration fitted jointly with g_est (0 in free flight)",
    ),
    Metric(
        "restitution_error",
        "ratio",
        "[0, 1]",
        "mean over the truth's isolated bounces of balls on static geometry after the conditioning of min(|e - e_true|, 1), e = -v_after.n / v_before.n along the true normal, from the parabolas either side of the clip's own kink (or of the true contact if the clip has none nearby); an unmeasurable bounce counts 1",
    ),
    Metric(
        "energy_gain_rate",
        "share",
        "[0, 1]",
        "share of those bounces whose speed after exceeds 1.1x the speed before (a passive bounce cannot gain energy)",
    ),
    Metric(
        "teleports",
        "per object",
        "[0, inf)",
        "frame-to-frame jumps after the conditioning (over gaps: per frame of gap) longer than 1.5x that object's fastest true frame-to-frame motion there + 2 px, per object",
    ),
    Metric(
        "wall_crossings",
        "per object",
        "[0, inf)",
        "passages after the conditioning of an object's tracked centre through a static wall (floor, obstacle, backboard, ramp): from more than the wall's half thickness + 0.5 px off its centre line on one side to as far on the other, over consecutive frames, meeting the line 1 px or more inside the wall's ends; per object; diagnostic, not scored",
    ),
    Metric(
        "vanish_rate",
        "share",
        "[0, 1]",
        "the worst object's share of the frames after the conditioning where the truth shows it (visibility >= 0.5) but the tracker does not find it",
    ),
    Metric(
        "appear_rate",
        "share",
        "[0, 1]",
        "share of object-frames after the conditioning where the truth hides the object (visibility <= 0.05) but the tracker finds it",
    ),
    Metric(
        "size_spread",
        "coefficient of variation",
        "[0, inf)",
        "per object, std / mean of the tracked area over fully visible frames after the conditioning; mean over objects",
    ),
    Metric(
        "size_error",
        "ratio",
        "[0, inf)",
        "per object, |median tracked area after the conditioning / its median tracked area in the clip's own first K frames - 1| (in the exported conditioning clip if the clip does not show it there, else the true area); mean over objects",
    ),
    Metric(
        "count_error_rate",
        "share",
        "[0, 1]",
        "share of frames after the conditioning whose blob count is wrong: an object's colour in 0 or 2+ blobs where the truth shows it once (or in any where it is hidden), or blobs in palette colours the case does not have",
    ),
    Metric(
        "outcome_agree",
        "0/1",
        "{0, 1}",
        "1 if the outcome read off the tracks by the family's rule equals the simulator's; None where even the exact states do not show the outcome (e.g. the ball rolled out of view)",
    ),
    Metric(
        "follows_caption",
        "0/1",
        "{0, 1}",
        "conflict cases only: 1 if the clip's outcome is the one the caption asserts (physics says otherwise); its mean is the optimism rate",
    ),
    Metric(
        "contact_timing_ms",
        "ms",
        "[0, inf)",
        "median |t - t_true| over the truth's contacts after the conditioning that show as kinks in the true trajectory, each matched to the clip's nearest kink of the same object within 3 frames",
    ),
    Metric(
        "contact_miss_rate",
        "share",
        "[0, 1]",
        "share of those contacts with no kink of the clip within 3 frames",
    ),
    Metric(
        "kink_precision",
        "share",
        "[0, 1]",
        "share of the clip's kinks after the conditioning within 3 frames of a contact or a kink of the true trajectory of the same object; scales the contact scores, so jitter that kinks every frame cannot match every contact",
    ),
    Metric(
        "sync_offset_ms",
        "ms",
        "[0, inf)",
        "median over the truth's contacts after the conditioning of |nearest audio onset - contact| (inf without onsets)",
    ),
    Metric(
        "sync_within_frame",
        "share",
        "[0, 1]",
        "share of those contacts whose nearest onset is within one frame (1 / fps)",
    ),
    Metric(
        "onset_precision",
        "share",
        "[0, 1]",
        "impact events (sound.py) after the conditioning matched one-to-one to a contact (contacts within 20 ms merged) within one frame / events",
    ),
    Metric(
        "onset_recall",
        "share",
        "[0, 1]",
        "contacts matched to an onset within one frame / contacts",
    ),
    Metric("onset_f1", "share", "[0, 1]", "harmonic mean of onset precision and recall"),
    Metric("phantom_sound_rate", "share", "[0, 1]", "1 - onset_precision: sounds with no contact"),
    Metric("silent_contact_rate", "share", "[0, 1]", "1 - onset_recall: contacts with no sound"),
    Metric(
        "av_offset_ms",
        "ms",
        "[0, inf)",
        "median |nearest onset - kink| over the clip's own kinks after the conditioning: is the sound on the clip's own impacts, whatever the truth (diagnostic, not scored)",
    ),
    Metric(
        "tracked_share",
        "share",
        "[0, 1]",
        "1 - vanish_rate: the worst object's share of its frames found (diagnostic)",
    ),
)
METRIC_NAMES = tuple(m.name for m in METRICS)


def _mean(values) -> float | None:
    values = [v for v in values if v is not None and np.isfinite(v)]
    return float(np.mean(values)) if values else None


def _object_contacts(case: Case, name: str) -> list[dict]:
    return [c for c in case.contacts if name in (c["object_a"], c["object_b"])]


def _true_kinks(case: Case, n: int) -> list[kin.Kink]:
    """Kinks of the true trajectory where the truth shows the object clearly."""
    clear = case.visibility[:, n, None] >= MOSTLY_VISIBLE
    xy = np.where(clear, case.states[:, n, :2], np.nan)
    return kin.detect_kinks(xy, case.fps, case.gravity_px_s2, accel_g=TRUE_KINK_G)


def _visible_contacts(case: Case) -> list[tuple[int, dict, kin.Kink]]:
    """(object, contact, true kink) for contacts after the conditioning that kink the truth."""
    out = []
    k0 = case.condition_seconds
    for n, obj in enumerate(case.objects):
        kinks = _true_kinks(case, n)
        for c in _object_contacts(case, obj["name"]):
            if c["time_s"] < k0:
                continue
            near = [k for k in kinks if abs(k.time_s - c["time_s"]) * case.fps <= 1.5]
            if near:
                out.append((n, c, min(near, key=lambda k: abs(k.time_s - c["time_s"]))))
    return out


def motion_metrics(case: Case, tracks: Tracks) -> dict:
    k = case.condition_frames
    true_xy = case.states[:, :, :2]  # [T, N, 2]
    vis = case.visibility
    ok = (vis >= MOSTLY_VISIBLE) & tracks.present
    ok[:k] = False
    d = np.linalg.norm(tracks.xy - true_xy, axis=-1)  # [T, N]
    position = float(d[ok].mean()) / case.diagonal if ok.any() else None
    v = (tracks.xy[1:] - tracks.xy[:-1]) * case.fps  # [T-1, N, 2] at frames 1..T-1
    v_true = (true_xy[1:] - true_xy[:-1]) * case.fps
    pair = ok[1:] & (vis[:-1] >= MOSTLY_VISIBLE) & tracks.present[:-1]
    dv = np.linalg.norm(v - v_true, axis=-1)
    velocity = float(dv[pair].mean()) if pair.any() else None
    should_see = vis >= VISIBLE
    should_see[:k] = False
    seen_by = should_see.sum(axis=0)  # [N]
    missed_by = (should_see & ~tracks.present).sum(axis=0)  # [N]
    vanish = float((missed_by[seen_by > 0] / seen_by[seen_by > 0]).max()) if seen_by.any() else None
    hidden = vis <= HIDDEN
    hidden[:k] = False
    appear = float((hidden & tracks.present).sum() / hidden.sum()) if hidden.any() else None
    return {
        "position_error": position,
        "velocity_error": velocity,
        "velocity_error_diag": None if velocity is None else velocity / case.diagonal,
        "vanish_rate": vanish,
        "tracked_share": None if vanish is None else 1.0 - vanish,
        "appear_rate": appear,
    }


def teleport_metrics(case: Case, tracks: Tracks) -> dict:
    k = case.condition_frames
    true_xy = case.states[max(k - 1, 0) :, :, :2]  # from the last conditioning frame on
    steps = np.linalg.norm(true_xy[1:] - true_xy[:-1], axis=-1)  # [T-K, N]
    jumps = 0
    for n in range(len(case.objects)):
        limit = TELEPORT_FACTOR * float(steps[:, n].max(initial=0.0)) + TELEPORT_MARGIN_PX
        frames = np.flatnonzero(tracks.present[:, n])
        for a, b in zip(frames[:-1], frames[1:]):
            if b < k:
                continue
            if np.linalg.norm(tracks.xy[b, n] - tracks.xy[a, n]) > limit * (b - a):
                jumps += 1
    return {"teleports": jumps / max(len(case.objects), 1)}


def _wall_crossings(wall: dict, xy: np.ndarray, seen: np.ndarray, start: int) -> int:
    """Times the path xy [T, 2] (frames `start` on, where `seen`) goes through `wall`: from
    clearly one side of it (the centre more than its half thickness + WALL_MARGIN_PX off
    its centre line) to clearly the other, over consecutive frames, meeting the centre line
    inside the wall's span (WALL_END_PX inside its ends). A slow push through the wall
    counts; going round an end (over an obstacle's top) meets the line beyond it."""
    a, b = np.asarray(wall["a"], float), np.asarray(wall["b"], float)
    d = b - a
    length = float(np.hypot(*d))
    if length <= 2 * WALL_END_PX:
        return 0
    side = (d[0] * (xy[:, 1] - a[1]) - d[1] * (xy[:, 0] - a[0])) / length  # [T] signed px
    clear = wall["half_thickness_px"] + WALL_MARGIN_PX
    crossings, clear_side, met_inside = 0, 0.0, False
    for t in range(start, len(xy)):
        if not seen[t]:
            clear_side, met_inside = 0.0, False  # a gap: the path is unknown (see teleports)
            continue
        s0, s1 = side[t - 1], side[t]
        if t > start and seen[t - 1] and s0 * s1 <= 0 and s0 != s1:  # met the centre line
            at = xy[t - 1] + s0 / (s0 - s1) * (xy[t] - xy[t - 1])
            along = float(np.dot(at - a, d)) / length
            met_inside = WALL_END_PX <= along <= length - WALL_END_PX
        if abs(side[t]) > clear:
            now = float(np.sign(side[t]))
            if clear_side and now != clear_side and met_inside:
                crossings += 1
            clear_side, met_inside = now, False
    return crossings


def wall_metrics(case: Case, tracks: Tracks) -> dict:
    """Objects through walls: what no simulator allows (None for exports without walls)."""
    if case.walls is None:
        return {"wall_crossings": None}
    start = max(case.condition_frames - 1, 0)  # from the last given frame on
    crossings = sum(
        _wall_crossings(wall, tracks.xy[:, n], tracks.present[:, n], start)
        for n in range(len(case.objects))
        for wall in case.walls
    )
    return {"wall_crossings": crossings / max(len(case.objects), 1)}


def identity_metrics(case: Case, tracks: Tracks) -> dict:
    k = case.condition_frames
    spreads, errors = [], []
    for n, obj in enumerate(case.objects):
        ok = (case.visibility[:, n] >= FULLY_VISIBLE) & tracks.present[:, n]
        ok[:k] = False
        if ok.sum() < 2:
            continue
        # Size against the object as the clip's own first K frames show it (the given
        # conditioning, at the clip's format): the codec's and the resampling's blur of
        # small objects is then on both sides. Else as the exported conditioning clip
        # shows it (tracked at export), else its true area.
        given = (case.visibility[:k, n] >= FULLY_VISIBLE) & tracks.present[:k, n]
        reference = (
            float(np.median(tracks.area[:k, n][given]))
            if given.any()
            else obj.get("condition_area_px") or obj["area_px"]
        )
        ratio = tracks.area[ok, n] / reference
        spreads.append(float(ratio.std() / ratio.mean()))
        errors.append(abs(float(np.median(ratio)) - 1.0))
    expected = np.where(case.visibility >= VISIBLE, 1, np.where(case.visibility <= HIDDEN, 0, -1))
    wrong = ((expected >= 0) & (tracks.blobs != expected)).any(axis=1) | (tracks.extra_blobs > 0)
    return {
        "size_spread": _mean(spreads),
        "size_error": _mean(errors),
        "count_error_rate": float(wrong[k:].mean()) if len(wrong) > k else None,
    }


def gravity_metrics(case: Case, tracks: Tracks) -> dict:
    """Ballistic law on the truth's free flight of balls. Whether gravity is measurable is
    decided on the truth alone (its free flight must pin g to MAX_GRAVITY_STDERR); a clip
    that then shows too little of that flight (kinks inside it, the ball gone) gets the
    worst error, not a pass."""
    k, g = case.condition_frames, case.gravity_px_s2
    true_pieces, clip_pieces = [], []
    for n, obj in enumerate(case.objects):
        if obj["shape"] != "circle":
            continue  # a tumbling block's visible centroid wobbles; balls carry the law
        contact_frames = [int(c["frame"]) for c in _object_contacts(case, obj["name"])]
        free = kin.free_flight_frames(case.states[:, n, :2], case.fps, g, contact_frames)
        free &= case.visibility[:, n] >= MOSTLY_VISIBLE
        free[:k] = False
        for frames in kin.segments(free, MIN_FLIGHT_FRAMES):
            true_pieces.append((frames, case.states[frames, n, :2]))
        free &= ~np.isnan(tracks.xy[:, n, 0])
        # The clip bounced here: split. Only clear kinks (a real bounce is well above
        # TRUE_KINK_G); a weak one (tracking noise) bends a parabola fit too little to matter.
        for kink in kin.detect_kinks(tracks.xy[:, n], case.fps, g, start=k, accel_g=TRUE_KINK_G):
            free[kink.frame - 1 : kink.frame + 2] = False
        for frames in kin.segments(free, MIN_FLIGHT_FRAMES):
            clip_pieces.append((frames, tracks.xy[frames, n]))

    def measurable(fit, slack: float) -> bool:
        return fit is not None and TRACK_NOISE_PX * fit[2] <= slack * MAX_GRAVITY_STDERR * g

    if not measurable(kin.fit_ballistic(true_pieces, case.fps), 1.0):
        return {"gravity_error": None, "horizontal_accel": None}  # too little flight to tell
    fit = kin.fit_ballistic(clip_pieces, case.fps)
    # The clip may lose a frame or two of that flight to its own kinks: twice the noise.
    if not measurable(fit, 2.0):
        return {"gravity_error": 1.0, "horizontal_accel": None}
    g_est, ax, _ = fit
    return {"gravity_error": abs(g_est - g) / g, "horizontal_accel": abs(ax) / g}


def _kink_precision(case: Case, clip_kinks: list[list[kin.Kink]]) -> float | None:
    """Share of the clip's kinks (after the conditioning) that the truth explains, one to
    one: each contact or kink of the object's true trajectory (quiet touches are not
    contacts; the two merged within a frame) explains at most one kink within
    CONTACT_MATCH_FRAMES. Jitter that kinks every frame scores near 0."""
    total = sum(len(ks) for ks in clip_kinks)
    if total == 0:
        return None
    explained = 0
    for n, kinks in enumerate(clip_kinks):
        times = [c["time_s"] for c in _object_contacts(case, case.objects[n]["name"])]
        true_kinks = kin.detect_kinks(case.states[:, n, :2], case.fps, case.gravity_px_s2)
        times = cluster_times(times + [q.time_s for q in true_kinks], window=1.0 / case.fps)
        explained += _match_one_to_one(
            times, np.asarray([q.time_s for q in kinks]), CONTACT_MATCH_FRAMES / case.fps
        )
    return explained / total


def contact_metrics(case: Case, tracks: Tracks) -> tuple[dict, list[list[kin.Kink]]]:
    """Contact timing, bounces (restitution) and the clip's own kinks per object."""
    g, k = case.gravity_px_s2, case.condition_frames
    clip_kinks = [
        kin.detect_kinks(tracks.xy[:, n], case.fps, g, start=k) for n in range(len(case.objects))
    ]
    timing, missed = [], 0
    restitution_errors, gains = [], []
    for n, contact, true_kink in _visible_contacts(case):
        near = [
            q
            for q in clip_kinks[n]
            if abs(q.time_s - contact["time_s"]) * case.fps <= CONTACT_MATCH_FRAMES
        ]
        best = min(near, key=lambda q: abs(q.time_s - contact["time_s"])) if near else None
        if best is None:
            missed += 1
        else:
            timing.append(abs(best.time_s - contact["time_s"]))
        others = [
            c
            for c in _object_contacts(case, case.objects[n]["name"])
            if c is not contact and abs(c["time_s"] - contact["time_s"]) < BOUNCE_ISOLATION_S
        ]
        if not contact["static"] or others or case.objects[n]["shape"] != "circle":
            continue  # a spinning box's bounce is not one restitution
        e_true, _, normal = kin.restitution(true_kink)
        measured = best or kin.contact_at(tracks.xy[:, n], true_kink.frame, case.fps, g)
        e, ratio = (np.nan, np.nan) if measured is None else kin.restitution(measured, normal)[:2]
        restitution_errors.append(min(abs(e - e_true), 1.0) if np.isfinite(e) else 1.0)
        if np.isfinite(ratio):
            gains.append(float(ratio > ENERGY_GAIN_RATIO))
    n_contacts = len(timing) + missed
    return {
        "contact_timing_ms": 1000.0 * float(np.median(timing)) if timing else None,
        "contact_miss_rate": missed / n_contacts if n_contacts else None,
        "kink_precision": _kink_precision(case, clip_kinks),
        "restitution_error": _mean(restitution_errors),
        "energy_gain_rate": _mean(gains),
    }, clip_kinks


def _match_one_to_one(contacts: np.ndarray, onsets: np.ndarray, tol: float) -> int:
    """Pairs (contact, onset) within tol, closest first, each used once."""
    pairs = sorted(
        (abs(o - c), i, j)
        for i, c in enumerate(contacts)
        for j, o in enumerate(onsets)
        if abs(o - c) <= tol
    )
    used_c, used_o = set(), set()
    for _, i, j in pairs:
        if i not in used_c and j not in used_o:
            used_c.add(i)
            used_o.add(j)
    return len(used_c)


def sound_metrics(case: Case, audio: np.ndarray, clip_kinks: list[list[kin.Kink]]) -> dict:
    t0, frame = case.condition_seconds, 1.0 / case.fps  # onsets and contacts from t0 on
    onsets = impact_events(audio, case.sample_rate)
    onsets = onsets[onsets >= t0]
    contacts = cluster_times([c["time_s"] for c in case.contacts if c["time_s"] >= t0])
    out: dict = {}
    if contacts.size:
        nearest = (
            np.abs(onsets[None, :] - contacts[:, None]).min(axis=1)
            if onsets.size
            else np.full(contacts.size, np.inf)
        )
        out["sync_offset_ms"] = 1000.0 * float(np.median(nearest))
        out["sync_within_frame"] = float((nearest <= frame).mean())
    else:
        out["sync_offset_ms"] = out["sync_within_frame"] = None
    matched = _match_one_to_one(contacts, onsets, frame)
    precision = matched / onsets.size if onsets.size else (1.0 if not contacts.size else None)
    recall = matched / contacts.size if contacts.size else None
    if precision is None and recall is not None:
        precision = 0.0  # contacts but not a sound: nothing right was said
    f1 = None
    if precision is not None and recall is not None:
        f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    elif precision is not None:
        f1 = precision  # no contacts to hear: only phantom sounds can be wrong
    out |= {
        "onset_precision": precision,
        "onset_recall": recall,
        "onset_f1": f1,
        "phantom_sound_rate": None if precision is None else 1.0 - precision,
        "silent_contact_rate": None if recall is None else 1.0 - recall,
    }
    own = [q.time_s for kinks in clip_kinks for q in kinks if q.time_s >= t0]
    if own and onsets.size:
        out["av_offset_ms"] = 1000.0 * float(
            np.median(np.abs(onsets[None, :] - np.asarray(own)[:, None]).min(axis=1))
        )
    else:
        out["av_offset_ms"] = None
    return out


def outcome_metrics(case: Case, tracks: Tracks) -> dict:
    seen = read_outcome(case, tracks)
    return {
        "outcome_seen": seen,
        "outcome_agree": float(seen == case.outcome) if case.outcome_observable else None,
        "follows_caption": float(seen == case.asserted_outcome) if case.conflict else None,
    }


def seen_clearly(case: Case, tracks: Tracks) -> Tracks:
    """Tracks with positions kept only where the truth shows the object mostly unhidden:
    a partly covered object's visible centroid is off its centre, which would read as
    motion. Kinematic metrics (free flight, contacts, bounces) use these."""
    clear = case.visibility >= MOSTLY_VISIBLE
    return dataclasses.replace(tracks, xy=np.where(clear[..., None], tracks.xy, np.nan))


def case_metrics(case: Case, tracks: Tracks, audio: np.ndarray) -> tuple[dict, dict]:
    """(metrics by METRIC_NAMES plus `outcome_seen`, details for the report)."""
    clear = seen_clearly(case, tracks)
    contacts, clip_kinks = contact_metrics(case, clear)
    metrics = (
        motion_metrics(case, tracks)
        | teleport_metrics(case, tracks)
        | wall_metrics(case, tracks)
        | identity_metrics(case, tracks)
        | gravity_metrics(case, clear)
        | contacts
        | sound_metrics(case, audio, clip_kinks)
        | outcome_metrics(case, tracks)
    )
    details = {"kinks": [[round(q.time_s, 4) for q in ks] for ks in clip_kinks]}
    return metrics, details
