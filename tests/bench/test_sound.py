"""Impact events: one per impact after AAC, pre-echo and clusters merged, and no impact
where a sound merely stops into or starts from digital silence."""

from __future__ import annotations

import numpy as np
import pytest

from worldsim.bench.sound import cluster_times, impact_events
from worldsim.media.onsets import detect_onsets
from worldsim.media.video_io import read_audio, write_mp4
from worldsim.physics import palette
from worldsim.physics.clip import make_clip
from worldsim.physics.sound import synthesize
from worldsim.physics.types import Contact, ObjectInfo, RenderConfig, StaticInfo, Trajectory

CONFIG = RenderConfig()  # 2 s at 16 fps, 16 kHz, the default room tone (0.002 RMS)
SR = CONFIG.sample_rate
CONDITION_S = 5 / CONFIG.fps  # a trivial baseline keeps the sound of the first 5 frames
TOLERANCE_S = 0.002
# Room-tone seeds whose cut to (or from) silence the onset detector does read as an onset.
STEP_SEEDS = (1, 3, 4, 5)

OBJECTS = [
    ObjectInfo("ball", "circle", (0.3,), 0.5, "rubber", palette.dynamic_color(0)),
    ObjectInfo("bell", "circle", (0.3,), 0.5, "metal", palette.dynamic_color(1)),
    ObjectInfo("block", "box", (0.5, 0.5), 1.0, "wood", palette.dynamic_color(2)),
]
STATICS = [
    StaticInfo(
        "floor",
        "segment",
        ((0.0, 0.2), (8.0, 0.2)),
        0.1,
        "concrete",
        palette.STATIC_COLORS["floor"],
    ),
]


def _synthesize(events, seed: int, config: RenderConfig = CONFIG) -> np.ndarray:
    """The simulator's soundtrack for (time_s, object_a, object_b, impulse) contacts."""
    n, t = len(OBJECTS), config.num_frames
    contacts = [Contact(int(time_s * config.fps), time_s, a, b, j) for time_s, a, b, j in events]
    traj = Trajectory(
        objects=OBJECTS,
        statics=STATICS,
        positions_m=np.zeros((t, n, 2)),
        velocities_m=np.zeros((t, n, 2)),
        angles=np.zeros((t, n)),
        angular_velocities=np.zeros((t, n)),
        contacts=contacts,
        outcome="test",
        is_failure=False,
        params={},
        gravity=9.81,
    )
    return synthesize(traj, config, np.random.default_rng(seed))


def _through_mp4(tmp_path, audio: np.ndarray, name: str) -> np.ndarray:
    video = np.zeros((CONFIG.num_frames, 16, 16, 3), np.uint8)
    path = write_mp4(tmp_path / f"{name}.mp4", video, audio, CONFIG.fps, SR)
    return read_audio(path, sample_rate=SR)


def _silent_from(audio: np.ndarray, time_s: float) -> np.ndarray:
    out = np.array(audio, np.float32)
    out[int(round(time_s * SR)) :] = 0.0
    return out


def _silent_until(audio: np.ndarray, time_s: float) -> np.ndarray:
    out = np.array(audio, np.float32)
    out[: int(round(time_s * SR))] = 0.0
    return out


def _matched(times: np.ndarray, among: np.ndarray) -> np.ndarray:
    """bool per time: is one of `among` within TOLERANCE_S of it."""
    if among.size == 0:
        return np.zeros(len(times), bool)
    return np.abs(np.asarray(times)[:, None] - among[None, :]).min(axis=1) <= TOLERANCE_S


def test_cluster_times_keeps_the_heaviest_of_close_times():
    got = cluster_times([0.10, 0.105, 0.112, 0.5], weights=[1, 5, 2, 1])
    np.testing.assert_allclose(got, [0.105, 0.5])


def test_each_contact_is_one_event_after_an_mp4_round_trip(tmp_path):
    found, contacts, extra = 0, 0, 0
    for family, seed in (("throw", 0), ("collide", 2), ("tower", 1), ("bounce", 3)):
        clip = make_clip(family, seed)
        path = write_mp4(tmp_path / f"{family}.mp4", clip.video, clip.audio, clip.fps)
        audio = read_audio(path, sample_rate=clip.sample_rate)
        events = impact_events(audio, clip.sample_rate)
        times = cluster_times([c.time_s for c in clip.contacts])
        near = np.abs(events[None, :] - times[:, None])  # [C, E]
        found += int((near.min(axis=1) <= 0.002).sum()) if events.size else 0
        contacts += len(times)
        extra += int((near.min(axis=0) > 1 / clip.fps).sum()) if times.size else len(events)
    print(f"{found}/{contacts} contacts heard within 2 ms, {extra} events with no contact")
    assert found >= 0.9 * contacts and extra <= 1


@pytest.mark.parametrize("direction", ["room tone then silence", "silence then room tone"])
def test_a_cut_between_room_tone_and_digital_silence_is_no_impact(tmp_path, direction):
    """A trivial baseline's soundtrack: the conditioning sound, then nothing (or the reverse).
    The cut reads as an onset, but it is a change of level, not an impact."""
    cut = _silent_from if direction.startswith("room") else _silent_until
    for seed in STEP_SEEDS:
        audio = _through_mp4(tmp_path, cut(_synthesize([], seed), CONDITION_S), f"step{seed}")
        onsets = detect_onsets(audio, SR)
        assert _matched([CONDITION_S], onsets).all(), f"seed {seed}: the cut is not even an onset"
        events = impact_events(audio, SR)
        assert events.size == 0, f"seed {seed}: events at {np.round(events, 4)} s"


@pytest.mark.parametrize(
    "name, contact_s, cut",
    [
        ("a hit 50 ms after the room tone resumes", CONDITION_S + 0.05, _silent_until),
        ("a loud click 30 ms before the cut", CONDITION_S - 0.03, _silent_from),
        ("a hit 10 ms before the cut", CONDITION_S - 0.01, _silent_from),
    ],
)
def test_an_impact_next_to_a_cut_is_still_an_event(tmp_path, name, contact_s, cut):
    for seed in STEP_SEEDS:
        audio = cut(_synthesize([(contact_s, "block", "floor", 3.0)], seed), CONDITION_S)
        events = impact_events(_through_mp4(tmp_path, audio, f"hit{seed}"), SR)
        assert events.size == 1 and _matched([contact_s], events).all(), (
            f"{name}, seed {seed}: events at {np.round(events, 4)} s"
        )


@pytest.mark.parametrize("pair", [("ball", "floor"), ("block", "ball"), ("bell", "bell")])
def test_an_impact_out_of_digital_silence_is_an_event(tmp_path, pair):
    """Without a room tone every impact starts from silence: its click is louder than its
    own ring (the metal bell's long ring is the closest call), so it is not a level step."""
    config = RenderConfig(ambient_noise=0.0)
    for seed in range(3):
        contacts = [(0.5, *pair, 0.3), (1.2, *pair, 5.0)]
        audio = _synthesize(contacts, seed, config)
        events = impact_events(_through_mp4(tmp_path, audio, f"quiet{seed}"), SR)
        assert _matched([0.5, 1.2], events).all(), f"seed {seed}: events at {np.round(events, 4)} s"


def test_a_simulated_clip_cut_to_silence_keeps_its_impacts_before_the_cut(tmp_path):
    """Cut a clip 5-45 ms after each of its contacts: every event the whole clip has before
    the cut is still there, even the one a few ms before it, and nothing is added."""
    clip = make_clip("collide", 2)
    whole = impact_events(_through_mp4(tmp_path, clip.audio, "whole"), SR)
    contacts = cluster_times([c.time_s for c in clip.contacts])
    assert whole.size >= 3
    failures = []
    for contact in contacts[contacts < CONFIG.seconds - 0.1]:
        for after_s in (0.005, 0.02, 0.045):
            cut_s = contact + after_s
            events = impact_events(
                _through_mp4(tmp_path, _silent_from(clip.audio, cut_s), "cut"), SR
            )
            before = whole[whole < cut_s - 0.001]
            lost = before[~_matched(before, events)]
            added = events[~_matched(events, whole)]
            if lost.size or added.size:
                failures.append(
                    f"cut at {cut_s:.3f} s: lost {np.round(lost, 4)}, added {np.round(added, 4)}"
                )
    assert not failures, "\n".join(failures)
