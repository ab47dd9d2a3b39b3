"""Contacts, free flight and restitution from positions at frame times, on exact motions."""

from __future__ import annotations

import numpy as np

from worldsim.bench import kinematics as kin

FPS, G = 16.0, 80.0  # px/s^2, +y down


def _bounce(t_contact: float, v_down: float, e: float, vx: float = 10.0, frames: int = 32):
    """A ball falling at v_down px/s at t_contact onto a floor, leaving at e * v_down."""
    t = np.arange(frames) / FPS
    before = t < t_contact
    dt = t - t_contact
    y0 = 40.0
    y = np.where(before, y0 + v_down * dt + 0.5 * G * dt**2, y0 - e * v_down * dt + 0.5 * G * dt**2)
    return np.stack([5 + vx * t, y], -1)  # [T, 2]


def test_a_bounce_is_one_kink_at_the_contact_time_with_its_restitution():
    for t_contact in (0.70, 0.73, 0.7499):
        xy = _bounce(t_contact, 60.0, 0.6)
        kinks = kin.detect_kinks(xy, FPS, G)
        assert len(kinks) == 1
        assert abs(kinks[0].time_s - t_contact) < 1e-6
        e, ratio, normal = kin.restitution(kinks[0])
        assert abs(e - 0.6) < 1e-6 and ratio < 1.0
        np.testing.assert_allclose(normal, [0.0, -1.0], atol=1e-9)


def test_free_flight_frozen_and_constant_velocity_motions_have_no_kinks():
    t = np.arange(32) / FPS
    for xy in (
        np.stack([3 * t, 10 + 5 * t + 0.5 * G * t**2], -1),
        np.full((32, 2), 7.0),
        np.stack([3 * t, 10 + 5 * t], -1),
    ):
        assert kin.detect_kinks(xy, FPS, G) == []


def test_ballistic_fit_recovers_gravity_and_no_horizontal_acceleration():
    xy = _bounce(0.9, 60.0, 0.5)
    frames = np.arange(32)
    free = kin.free_flight_frames(xy, FPS, G, contact_frames=[int(0.9 * FPS)])
    segs = kin.segments(free, 4)
    assert len(segs) == 2 and free[:14].all()
    g_est, ax, stderr = kin.fit_ballistic([(f, xy[f]) for f in segs], FPS)
    assert abs(g_est - G) < 1e-6 and abs(ax) < 1e-6 and stderr > 0
    # A frozen object in the same frames: no gravity at all.
    g_frozen, _, _ = kin.fit_ballistic([(f, np.full((len(f), 2), 3.0)) for f in segs], FPS)
    assert abs(g_frozen) < 1e-9
    assert kin.fit_ballistic([(frames[:5], xy[:5])], FPS) is None  # too short to tell
