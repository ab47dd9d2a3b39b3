"""Step a family's pymunk scene and record what a clip needs: frame states and contact events.

Contact events drive the impact sound and the benchmark's audio-visual sync check, so they must
mean "something was hit": a new touch (after the two shapes were apart) whose first impulse is
above `MIN_AUDIBLE_IMPULSE`, with a per-pair refractory period so that rattling re-contacts of
the same pair do not become a drum roll.
"""

from __future__ import annotations

import numpy as np
import pymunk

from worldsim.physics import families
from worldsim.physics.families.common import Recording, Scene, Touch
from worldsim.physics.types import Contact, RenderConfig, Trajectory

MIN_AUDIBLE_IMPULSE = 0.1  # N*s; a 0.5 kg ball landing at ~0.12 m/s (a 1 mm drop) is quieter
REFRACTORY_S = 0.04  # s; a pair's events are at least this far apart
PLACEMENT_S = 0.005  # s; touches this early come from placement (a stack, a ball on the floor)
SOLVER_ITERATIONS = 20  # stacks of blocks need more than pymunk's default 10
COLLISION_SLOP = 0.002  # m; pymunk's default (0.1) is for pixel units and would sink 10 cm


def make_space(gravity: float) -> pymunk.Space:
    """An empty space in metres, y up; `gravity` in m/s^2, positive downwards."""
    space = pymunk.Space()
    space.gravity = (0.0, -float(gravity))
    space.iterations = SOLVER_ITERATIONS
    space.collision_slop = COLLISION_SLOP
    return space


class ContactRecorder:
    """pymunk collision callbacks -> `Touch`es (every new touch) and audible `Contact`s."""

    def __init__(self, scene: Scene, fps: int, substeps: int, num_frames: int) -> None:
        self._names = scene.names
        self._order = {o.name: i for i, o in enumerate(scene.objects)}  # dynamic names first
        self._fps, self._substeps, self._num_frames = fps, substeps, num_frames
        self._dt = 1.0 / (fps * substeps)
        self.step = 0  # index (1-based) of the substep being taken; its end time is step * dt
        self._pending: set[tuple[str, str]] = set()  # new touches awaiting their first impulse
        self._last_event: dict[tuple[str, str], float] = {}
        self.touches: list[Touch] = []
        self.contacts: list[Contact] = []

    def _pair(self, arbiter: pymunk.Arbiter) -> tuple[str, str]:
        a, b = (self._names[s] for s in arbiter.shapes)
        # Dynamic before static; two dynamic objects in scene order.
        if self._order.get(a, 1 << 30) > self._order.get(b, 1 << 30):
            a, b = b, a
        return a, b

    def begin(self, arbiter: pymunk.Arbiter, space: pymunk.Space, data) -> None:
        if self.step == 1 or self.step * self._dt <= PLACEMENT_S:
            return  # shapes placed touching were never apart; scenes launch nothing that close
        pair = self._pair(arbiter)
        self.touches.append(Touch(self.step * self._dt, *pair))
        self._pending.add(pair)

    def post_solve(self, arbiter: pymunk.Arbiter, space: pymunk.Space, data) -> None:
        if not self._pending or not arbiter.is_first_contact:
            return
        pair = self._pair(arbiter)
        if pair not in self._pending:
            return
        self._pending.discard(pair)
        time_s = self.step * self._dt
        frame = self.step // self._substeps  # = floor(time_s * fps), exactly
        impulse = float(arbiter.total_impulse.length)
        if impulse < MIN_AUDIBLE_IMPULSE or frame >= self._num_frames:
            return
        if time_s - self._last_event.get(pair, -np.inf) < REFRACTORY_S:
            return
        self._last_event[pair] = time_s
        self.contacts.append(Contact(frame, time_s, pair[0], pair[1], impulse))


def run_scene(scene: Scene, config: RenderConfig) -> Recording:
    """Step `scene` for the clip's duration; frame k is sampled at t = k / fps (frame 0 = start)."""
    T, S, fps = config.num_frames, config.substeps_per_frame, config.fps
    dt = 1.0 / (fps * S)
    bodies = scene.bodies
    N = len(bodies)
    recorder = ContactRecorder(scene, fps, S, T)
    scene.space.on_collision(begin=recorder.begin, post_solve=recorder.post_solve)

    positions = np.zeros((T, N, 2))  # [T, N, 2]
    velocities = np.zeros((T, N, 2))  # [T, N, 2]
    angles = np.zeros((T, N))  # [T, N]
    omegas = np.zeros((T, N))  # [T, N]
    substep_positions = np.zeros((T * S + 1, N, 2))  # [T*S+1, N, 2]
    substep_positions[0] = [tuple(b.position) for b in bodies]
    step = 0
    for k in range(T):
        for n, b in enumerate(bodies):
            positions[k, n] = tuple(b.position)
            velocities[k, n] = tuple(b.velocity)
            angles[k, n] = b.angle
            omegas[k, n] = b.angular_velocity
        # The last frame's substeps still run: contacts in [(T-1)/fps, T/fps) belong to the clip.
        for _ in range(S):
            step += 1
            recorder.step = step
            scene.space.step(dt)
            substep_positions[step] = [tuple(b.position) for b in bodies]
    return Recording(
        positions,
        velocities,
        angles,
        omegas,
        substep_positions,
        recorder.contacts,
        recorder.touches,
        fps,
        dt,
    )


def simulate(family: str, params: dict, config: RenderConfig) -> Trajectory:
    """Build `family`'s scene from `params`, simulate one clip, and read the outcome off it.

    Deterministic: the same params and config give identical arrays.
    """
    module = families.get_family(family)
    gravity = float(params["gravity"])
    scene = Scene(make_space(gravity))
    module.build(scene, params)
    rec = run_scene(scene, config)
    outcome = module.outcome(scene, rec, params)
    return Trajectory(
        objects=list(scene.objects),
        statics=list(scene.statics),
        positions_m=rec.positions,
        velocities_m=rec.velocities,
        angles=rec.angles,
        angular_velocities=rec.angular_velocities,
        contacts=rec.contacts,
        outcome=outcome,
        is_failure=outcome in families.FAILURE_OUTCOMES[family],
        params=dict(params),
        gravity=gravity,
        scene_info=dict(scene.info),
    )
