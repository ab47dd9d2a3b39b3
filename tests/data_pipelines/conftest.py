"""A synthetic clip factory with the simulator's contract, for fast pipeline tests.

Pipeline tests check plumbing (schema, splits, determinism, mixing), not physics, so they
build from random arrays of the right shapes and dtypes; one test per builder also runs the
real simulator.
"""

from __future__ import annotations

import numpy as np
import pytest

from data_pipelines.physics_clips import physics_clips_dataset_builder as physics_builder
from worldsim.physics.types import Clip, Contact, ObjectInfo, RenderConfig

TINY = RenderConfig(width=16, height=16, fps=8, seconds=0.5, sample_rate=8000)
SIMULATOR_MAKE_CLIP = physics_builder.make_clip  # the real seam, before any patching


def fake_make_clip(
    family: str, seed: int, out_of_range: bool = False, config: RenderConfig = TINY
) -> Clip:
    """Deterministic in `seed`; about 30% failures; 1-3 objects and 0-2 contacts (ragged)."""
    rng = np.random.default_rng(seed)
    t, n = config.num_frames, int(rng.integers(1, 4))
    failure = bool(rng.random() < 0.3)
    objects = [
        ObjectInfo(
            f"ball_{i}",
            "circle" if i % 2 else "box",
            (0.2,) if i % 2 else (0.3, 0.4),
            1.5,
            "rubber",
            (200, 30, 30),
        )
        for i in range(n)
    ]
    contacts = [
        Contact(int(f), f / config.fps, "ball_0", "floor", float(rng.uniform(0.1, 2)))
        for f in sorted(rng.integers(0, t, int(rng.integers(0, 3))))
    ]
    return Clip(
        video=rng.integers(0, 256, (t, config.height, config.width, 3), dtype=np.uint8),
        audio=rng.uniform(-1, 1, config.num_samples).astype(np.float32),
        caption=f"a {family} scene, thrown from the left ({seed % 97})",
        fps=config.fps,
        sample_rate=config.sample_rate,
        family=family,
        outcome="miss" if failure else "make",
        is_failure=failure,
        states=rng.normal(size=(t, n, 6)).astype(np.float32),
        visibility=rng.uniform(0, 1, (t, n)).astype(np.float32),
        objects=objects,
        contacts=contacts,
        scene_params={"speed": float(rng.uniform(1, 5)), "pixels_per_meter": 8.0},
        split_tag="out_of_range" if out_of_range else "in_range",
        seed=seed,
    )


@pytest.fixture(scope="module")
def synthetic_physics():
    """Swap the simulator for `fake_make_clip` inside the physics_clips builder (per module,
    so other test modules get the real simulator)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(physics_builder, "make_clip", fake_make_clip)
        yield fake_make_clip
