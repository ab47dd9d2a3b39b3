"""The six scene families: parameter sampling, scene building and outcomes read off the sim.

Each family module exposes `OUTCOMES`, `FAILURES`, `sample_params(rng, out_of_range)`,
`build(scene, params)` and `outcome(scene, recording, params)`. `out_of_range=True` samples only
from held-out parameter ranges (gravity, speeds, sizes) for out-of-distribution evaluation.
"""

from __future__ import annotations

from types import ModuleType

import numpy as np

from worldsim.physics.families import bounce, collide, hoop, ramp, throw, tower

_MODULES: dict[str, ModuleType] = {
    "throw": throw,
    "bounce": bounce,
    "collide": collide,
    "hoop": hoop,
    "ramp": ramp,
    "tower": tower,
}

FAMILIES: tuple[str, ...] = tuple(_MODULES)
OUTCOMES: dict[str, tuple[str, ...]] = {name: m.OUTCOMES for name, m in _MODULES.items()}
FAILURE_OUTCOMES: dict[str, set[str]] = {name: set(m.FAILURES) for name, m in _MODULES.items()}


def get_family(family: str) -> ModuleType:
    """The module implementing `family`."""
    if family not in _MODULES:
        raise ValueError(f"unknown family {family!r}; choose from {FAMILIES}")
    return _MODULES[family]


def sample_params(family: str, rng: np.random.Generator, out_of_range: bool) -> dict:
    """JSON-serialisable scene parameters of `family` (gravity included)."""
    return get_family(family).sample_params(rng, out_of_range)


def conflicting_outcome(family: str, outcome: str) -> str:
    """An outcome of `family` other than `outcome`: a success for a failure and vice versa
    where the family has both (the benchmark's conflict captions assert it)."""
    others = [o for o in OUTCOMES[family] if o != outcome]
    failed = outcome in FAILURE_OUTCOMES[family]
    flipped = [o for o in others if (o in FAILURE_OUTCOMES[family]) != failed]
    return (flipped or others)[0]
