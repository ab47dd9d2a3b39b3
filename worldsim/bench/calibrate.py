"""Reference clips that tell what the benchmark's numbers mean: trivial continuations and corruptions.

    worldsim bench baseline --truth-dir TRUTH --kind freeze --out VIDEOS
    worldsim bench corrupt --truth-dir TRUTH --kind teleport --out VIDEOS

Trivial continuations (BASELINES: what a model that learned nothing would produce from
the conditioning; the score's zero, see score.py):
- `freeze`: the last conditioning frame held to the end;
- `constant_velocity`: every object keeps the velocity it had over the last two
  conditioning frames (no gravity, no contacts), drawn by the simulator's renderer;
- `background`: the scene with its objects erased after the conditioning;
- `colour_noise`: uniform colour noise after the conditioning (what an untrained
  sampler draws), with white noise for sound;
- `loop`: the conditioning frames (and their sound) played again and again.
All but `colour_noise` and `loop` are digital silence after the conditioning sound.
Noise is seeded from the case's id, so a case's trivial clips are always the same.

Corruptions of the ground truth, each aimed at one law (CORRUPTIONS says which metric
and which score group): an object teleported mid-clip, gravity altered, an object removed
for some frames, the audio delayed by 150 ms, the impact sounds removed, a miss replaced
by a make. Each is the simulator's clip with one thing changed, drawn by the same
renderer and synthesiser.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from worldsim.bench.cases import truth_clip
from worldsim.bench.outcomes import read_outcome
from worldsim.bench.track import tracks_from_states
from worldsim.bench.truth import Case
from worldsim.physics.clip import clip_from_params
from worldsim.physics.render import render_video
from worldsim.physics.simulate import simulate
from worldsim.physics.sound import synthesize
from worldsim.physics.types import Trajectory

BASELINES = ("freeze", "constant_velocity", "background", "colour_noise", "loop")
TELEPORT_PX = 16.0  # how far the object jumps, at least...
TELEPORT_STEPS = 3.0  # ...and at least 3x the clip's fastest frame-to-frame motion
REMOVED_FRAMES = 8  # how long the object is gone
AUDIO_DELAY_S = 0.150
GRAVITY_FACTOR = 0.5
MOVED_PX = 2.0  # a corruption that moves no object this far does not apply

# corruption -> (metric meant to catch it, the direction it moves: +1 up, -1 down)
CORRUPTIONS: dict[str, tuple[str, int]] = {
    "teleport": ("teleports", +1),
    "gravity": ("gravity_error", +1),
    "remove": ("vanish_rate", +1),
    "audio_delay": ("sync_offset_ms", +1),
    "mute_impacts": ("silent_contact_rate", +1),
    "miss_to_make": ("outcome_agree", -1),
}
# corruption -> the score groups of the law it breaks, the first a case has is where it
# must show (halved gravity on a ramp or a tower, with no free flight: in the motion)
BROKEN_GROUP: dict[str, tuple[str, ...]] = {
    "teleport": ("continuity",),
    "gravity": ("gravity", "motion"),
    "remove": ("continuity",),
    "audio_delay": ("sound",),
    "mute_impacts": ("sound",),
    "miss_to_make": ("outcome",),
}


def broken_group(kind: str, groups: dict) -> str | None:
    """The group where corruption `kind` must show, among a case's `groups`."""
    return next((g for g in BROKEN_GROUP.get(kind, ()) if g in groups), None)


NOISE_AUDIO_LEVEL = 0.1  # colour_noise's sound: uniform white noise of this peak level


def case_rng(case: Case, salt: str) -> np.random.Generator:
    """A generator that depends only on the case's id (and what it is for)."""
    import zlib

    return np.random.default_rng([zlib.crc32(case.case_id.encode()), zlib.crc32(salt.encode())])


def _trajectory(case: Case) -> Trajectory:
    return simulate(case.family, case.params, case.render_config)


def _silent_after_condition(case: Case, audio: np.ndarray) -> np.ndarray:
    out = np.zeros(case.num_samples, np.float32)
    k = int(round(case.condition_seconds * case.sample_rate))
    out[:k] = audio[:k]
    return out


def _erase_objects(case: Case, traj: Trajectory) -> np.ndarray:
    """The scene's frames with every dynamic object moved far out of view after the
    conditioning (the renderer draws the statics alone there)."""
    pos = traj.positions_m.copy()
    pos[case.condition_frames :] += np.array([-1e3, 0.0])
    video, _ = render_video(dataclasses.replace(traj, positions_m=pos), case.render_config)
    return video


def baseline(case: Case, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """(video uint8 [T, H, W, 3], audio [S]) of a trivial continuation of `case`."""
    clip = truth_clip(case)
    k = case.condition_frames
    audio = _silent_after_condition(case, clip.audio)
    if kind == "freeze":
        video = clip.video.copy()
        video[k:] = clip.video[k - 1]
        return video, audio
    if kind == "constant_velocity":
        traj = _trajectory(case)
        pos = traj.positions_m.copy()  # [T, N, 2] metres
        last = pos[k - 1]
        v = (pos[k - 1] - pos[k - 2]) * case.fps if k >= 2 else np.zeros_like(last)
        dt = (np.arange(case.num_frames) - (k - 1))[:, None, None] / case.fps  # [T, 1, 1]
        pos[k:] = (last[None] + v[None] * dt)[k:]
        angles = traj.angles.copy()
        angles[k:] = angles[k - 1]
        moved = dataclasses.replace(traj, positions_m=pos, angles=angles)
        video, _ = render_video(moved, case.render_config)
        video[:k] = clip.video[:k]
        return video, audio
    if kind == "background":
        video = _erase_objects(case, _trajectory(case))
        video[:k] = clip.video[:k]
        return video, audio
    if kind == "colour_noise":
        rng = case_rng(case, "colour_noise")
        video = clip.video.copy()
        video[k:] = rng.integers(0, 256, size=video[k:].shape, dtype=np.uint8)
        s = int(round(case.condition_seconds * case.sample_rate))
        audio[s:] = rng.uniform(-1, 1, size=audio.size - s) * NOISE_AUDIO_LEVEL
        return video, audio
    if kind == "loop":
        frames = np.arange(case.num_frames) % k  # [T]
        per_frame = case.sample_rate / case.fps
        samples = np.arange(case.num_samples) % int(round(k * per_frame))  # [S]
        return clip.video[frames], clip.audio[samples].astype(np.float32)
    raise ValueError(f"unknown baseline {kind!r}; choose from {BASELINES}")


def write_references(truth_dir, kind: str, out, *, corruption: bool = False) -> int:
    """OUT/<id>.mp4 with sound for every case in `truth_dir`: the trivial continuation
    `kind` (`baseline`), or with `corruption` the truth corrupted by `kind` (`corrupt`, on
    the cases it applies to); returns how many were written."""
    from pathlib import Path

    from worldsim.bench.cases import load_cases
    from worldsim.console import progress
    from worldsim.media.video_io import write_mp4

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = 0
    for case in progress(load_cases(truth_dir), desc=kind, unit="case"):
        if not corruption:
            video, audio = baseline(case, kind)
        elif applies(case, kind):
            video, audio = corrupt(case, kind)
        else:
            continue
        write_mp4(out / f"{case.case_id}.mp4", video, audio, case.fps, case.sample_rate)
        written += 1
    return written


def _moved(case: Case, traj: Trajectory, frames: slice, offset_m: np.ndarray) -> np.ndarray:
    pos = traj.positions_m.copy()
    pos[frames, 0] += offset_m
    video, _ = render_video(dataclasses.replace(traj, positions_m=pos), case.render_config)
    return video


def _visible_jump(case: Case, traj: Trajectory, mid: int, jump_m: float) -> np.ndarray:
    """An offset of `jump_m` (left, right, up or down) after which object 0 stays in view
    and uncovered for a few frames; the first direction toward the frame's centre first."""
    from worldsim.physics.render import compute_visibility

    centre_x = case.width / 2 / case.pixels_per_meter
    toward = 1.0 if traj.positions_m[mid, 0, 0] < centre_x else -1.0
    for direction in ((toward, 0.0), (-toward, 0.0), (0.0, 1.0), (0.0, -1.0)):
        offset = np.asarray(direction) * jump_m
        pos = traj.positions_m.copy()
        pos[mid:, 0] += offset
        moved = dataclasses.replace(traj, positions_m=pos)
        if compute_visibility(moved, case.render_config)[mid : mid + 4, 0].min() >= 0.9:
            return offset
    return np.asarray((toward, 0.0)) * jump_m


def _make_params(case: Case) -> dict | None:
    """hoop: parameters of the same shot aimed true, a make that its frames show too
    (the pixel rule on the exact states agrees), or None if none is found nearby."""
    for factor in (1.0, 0.99, 1.01, 0.98, 1.02, 0.97, 1.03):
        params = dict(case.params, angle_deg=case.params["aim_angle_deg"])
        params["speed"] = case.params["aim_speed"] * factor
        clip = clip_from_params("hoop", params, case.seed, case.render_config)
        exact = tracks_from_states(clip.states, clip.visibility, case.objects)
        if clip.outcome == "make" and read_outcome(case, exact) == "make":
            return params
    return None


def applies(case: Case, kind: str) -> bool:
    """Whether `kind` can corrupt this case (e.g. miss_to_make needs a missed shot)."""
    if kind == "miss_to_make":
        return case.family == "hoop" and case.outcome == "miss" and _make_params(case) is not None
    if kind in ("audio_delay", "mute_impacts"):
        return any(c["time_s"] >= case.condition_seconds for c in case.contacts)
    if kind == "remove":
        mid = case.num_frames // 2
        return bool((case.visibility[mid : mid + REMOVED_FRAMES, 0] >= 0.5).all())
    if kind == "gravity":  # only where halving gravity changes what the clip shows
        params = dict(case.params, gravity=case.params["gravity"] * GRAVITY_FACTOR)
        other = clip_from_params(case.family, params, case.seed, case.render_config)
        k = case.condition_frames
        shift = np.linalg.norm(other.states[k:, :, :2] - case.states[k:, :, :2], axis=-1)
        return bool((shift * (case.visibility[k:] >= 0.5)).max(initial=0.0) > MOVED_PX)
    if kind == "teleport":  # object 0 in view where it jumps
        mid = case.num_frames // 2
        return bool((case.visibility[mid - 1 : mid + 4, 0] >= 0.9).all())
    return False


def corrupt(case: Case, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """(video, audio) of the case's ground truth with one thing wrong (see CORRUPTIONS)."""
    clip = truth_clip(case)
    config = case.render_config
    mid = case.num_frames // 2
    if kind == "teleport":
        traj = _trajectory(case)
        steps = np.linalg.norm(np.diff(case.states[:, :, :2], axis=0), axis=-1)  # [T-1, N] px
        jump = max(TELEPORT_PX, TELEPORT_STEPS * float(steps.max(initial=0.0)))
        offset = _visible_jump(case, traj, mid, jump / config.camera.pixels_per_meter)
        return _moved(case, traj, slice(mid, None), offset), clip.audio
    if kind == "remove":
        traj = _trajectory(case)
        return _moved(
            case, traj, slice(mid, mid + REMOVED_FRAMES), np.array([-1e3, 0.0])
        ), clip.audio
    if kind == "gravity":
        params = dict(case.params, gravity=case.params["gravity"] * GRAVITY_FACTOR)
        other = clip_from_params(case.family, params, case.seed, config, split_tag=case.split_tag)
        return other.video, other.audio
    if kind == "audio_delay":
        shift = int(round(AUDIO_DELAY_S * case.sample_rate))
        audio = np.concatenate([np.zeros(shift, np.float32), clip.audio])[: case.num_samples]
        return clip.video, audio
    if kind == "mute_impacts":
        traj = dataclasses.replace(_trajectory(case), contacts=[])
        seed = np.random.SeedSequence(case.seed).spawn(3)[1]
        return clip.video, synthesize(traj, config, np.random.default_rng(seed)).astype(np.float32)
    if kind == "miss_to_make":
        params = _make_params(case)
        if params is None:
            raise ValueError(f"{case.case_id}: no make found near this shot")
        other = clip_from_params("hoop", params, case.seed, config, split_tag=case.split_tag)
        return other.video, other.audio
    raise ValueError(f"unknown corruption {kind!r}; choose from {tuple(CORRUPTIONS)}")


def rerender(case: Case, *, size: tuple[int, int], fps: int) -> tuple[np.ndarray, np.ndarray]:
    """The case's clip drawn by the simulator at another (height, width) and frame rate,
    with the same physics: the physics step (1 / (fps * substeps)) must stay the same."""
    steps_per_second = case.fps * case.substeps_per_frame
    if steps_per_second % fps:
        raise ValueError(
            f"{fps} fps does not divide the {steps_per_second} physics steps per second"
        )
    config = dataclasses.replace(
        case.render_config,
        height=size[0],
        width=size[1],
        fps=fps,
        substeps_per_frame=steps_per_second // fps,
    )
    clip = clip_from_params(case.family, case.params, case.seed, config, split_tag=case.split_tag)
    return clip.video, clip.audio


# ----------------------------------------------------------------------------- the table

# Ground truth at the case's format and at others: (height, width, fps, how).
TRUTH_VARIANTS: dict[str, tuple[int, int, int, str]] = {
    "truth": (0, 0, 0, "the simulator's clip as exported (mp4)"),
    "rerender_128x128_32fps": (128, 128, 32, "drawn by the simulator at 2x size and 2x fps"),
    "reencode_96x96": (96, 96, 16, "the exported mp4 re-encoded by ffmpeg at 96x96 (bicubic)"),
    "rerender_48x48_8fps": (48, 48, 8, "drawn at 3/4 size and half the fps (information lost)"),
}

# The ground truth's range is taken over the clips at the case's format or finer.
TRUTH_AT_FORMAT = ("truth", "rerender_128x128_32fps", "reencode_96x96")


def calibration_clips(case: Case, work, truth_mp4) -> dict[str, object]:
    """Every calibration clip of one case written as mp4 under `work`: name -> path.

    Truth variants (TRUTH_VARIANTS), BASELINES, and the CORRUPTIONS that apply to it.
    """
    from pathlib import Path

    from worldsim.media.video_io import transcode, write_mp4

    work = Path(work)
    paths = {}

    def put(name: str, video, audio, fps: int):
        path = work / name / f"{case.case_id}.mp4"
        paths[name] = write_mp4(path, video, audio, fps, case.sample_rate)

    for name, (h, w, fps, _) in TRUTH_VARIANTS.items():
        if name == "truth":
            paths[name] = Path(truth_mp4)
        elif name.startswith("rerender"):
            put(name, *rerender(case, size=(h, w), fps=fps), fps)
        else:  # what another model's output at its own format looks like to the scorer
            path = work / name / f"{case.case_id}.mp4"
            paths[name] = transcode(truth_mp4, path, size=(h, w), fps=fps)
    for kind in BASELINES:
        put(kind, *baseline(case, kind), case.fps)
    for kind in CORRUPTIONS:
        if applies(case, kind):
            put(kind, *corrupt(case, kind), case.fps)
    return paths


MOVES_PX = 2.0  # a case "moves" if an object gets this far from where the conditioning left it


def moves(case: Case) -> bool:
    """Whether something moves after the conditioning frames (in the truth's states)."""
    k = case.condition_frames
    shift = np.linalg.norm(case.states[k:, :, :2] - case.states[k - 1, :, :2], axis=-1)
    return bool((shift * (case.visibility[k:] >= 0.5)).max(initial=0.0) > MOVES_PX)
