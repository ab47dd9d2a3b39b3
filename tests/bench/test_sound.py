"""Impact events: one per impact after AAC, pre-echo and clusters merged."""

from __future__ import annotations

import numpy as np

from worldsim.bench.sound import cluster_times, impact_events
from worldsim.physics.clip import make_clip


def test_cluster_times_keeps_the_heaviest_of_close_times():
    got = cluster_times([0.10, 0.105, 0.112, 0.5], weights=[1, 5, 2, 1])
    np.testing.assert_allclose(got, [0.105, 0.5])


def test_each_contact_is_one_event_after_an_mp4_round_trip(tmp_path):
    from worldsim.media.video_io import read_audio, write_mp4

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
