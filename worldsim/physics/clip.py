"""One clip from the physics world: sample -> simulate -> render -> sound -> caption.

`make_clip(family, seed)` is the single entry point the data pipeline and the benchmark use.
Each stage gets its own child of the clip's seed, so that, e.g., changing the caption
templates never changes the physics or the pixels of a clip.
"""

from __future__ import annotations

import numpy as np

from worldsim.physics import families as families_lib
from worldsim.physics.captions import make_caption
from worldsim.physics.render import render_video
from worldsim.physics.simulate import simulate
from worldsim.physics.sound import synthesize
from worldsim.physics.types import Clip, RenderConfig, Trajectory


def trajectory_states(traj: Trajectory, config: RenderConfig) -> np.ndarray:
    """World-unit trajectory -> float32 [T, N, 6] pixel states (x, y, vx, vy, angle, omega)."""
    camera = config.camera
    xy = camera.to_pixels(traj.positions_m)  # [T, N, 2]
    vxy = camera.velocity_to_pixels(traj.velocities_m)  # [T, N, 2]
    angles = traj.angles[..., None]  # [T, N, 1]
    omegas = traj.angular_velocities[..., None]  # [T, N, 1]
    return np.concatenate([xy, vxy, angles, omegas], axis=-1).astype(np.float32)


def clip_from_params(
    family: str,
    params: dict,
    seed: int,
    config: RenderConfig = RenderConfig(),
    *,
    split_tag: str = "in_range",
    conflict: bool = False,
) -> Clip:
    """Simulate and render a clip from explicit scene parameters (the benchmark's entry point).

    `conflict=True` gives a caption that asserts an outcome the simulation did not produce
    (`families.conflicting_outcome`); the clip's `outcome` stays the simulated one.
    """
    _, sound_seed, caption_seed = np.random.SeedSequence(seed).spawn(3)
    traj = simulate(family, params, config)
    video, visibility = render_video(traj, config)  # [T, H, W, 3], [T, N]
    audio = synthesize(traj, config, np.random.default_rng(sound_seed))  # [S]
    asserted = families_lib.conflicting_outcome(family, traj.outcome) if conflict else None
    caption = make_caption(
        family, params, traj, np.random.default_rng(caption_seed), asserted_outcome=asserted
    )
    scene_params = dict(
        params,
        family=family,
        pixels_per_meter=config.camera.pixels_per_meter,
        gravity_m_s2=traj.gravity,
        gravity_px_s2=traj.gravity * config.camera.pixels_per_meter,
    )
    return Clip(
        video=video,
        audio=audio.astype(np.float32),
        caption=caption,
        fps=config.fps,
        sample_rate=config.sample_rate,
        family=family,
        outcome=traj.outcome,
        is_failure=traj.is_failure,
        states=trajectory_states(traj, config),
        visibility=visibility.astype(np.float32),
        objects=list(traj.objects),
        contacts=list(traj.contacts),
        scene_params=scene_params,
        split_tag=split_tag,
        seed=seed,
        statics=list(traj.statics),
        scene_info=dict(traj.scene_info),
    )


def make_clip(
    family: str,
    seed: int,
    out_of_range: bool = False,
    config: RenderConfig = RenderConfig(),
    *,
    conflict: bool = False,
) -> Clip:
    """Sample a scene of `family` from its in-range (or held-out out-of-range) parameters.

    `conflict=True`: the same physics and pixels, but a caption asserting another outcome.
    """
    if family not in families_lib.FAMILIES:
        raise ValueError(f"unknown family {family!r}; choose from {families_lib.FAMILIES}")
    params_seed = np.random.SeedSequence(seed).spawn(3)[0]
    params = families_lib.sample_params(family, np.random.default_rng(params_seed), out_of_range)
    split_tag = "out_of_range" if out_of_range else "in_range"
    return clip_from_params(family, params, seed, config, split_tag=split_tag, conflict=conflict)
