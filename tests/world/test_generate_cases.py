"""A benchmark case's noise seed: a function of (seed, case id) alone, the same in every
process (the end-to-end check that a resumed run rewrites a clip exactly is in
test_world_e2e.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from worldsim.world.generate_cases import case_seed


def test_case_seed_depends_on_the_seed_and_the_id_only():
    seeds = {case_seed(s, i) for s in (0, 1) for i in ("throw_000", "throw_001", "tower_000")}
    assert len(seeds) == 6 and all(0 <= x < 2**32 for x in seeds)
    assert case_seed(0, "throw_000") == case_seed(0, "throw_000")


def test_case_seed_is_the_same_in_another_process():
    """Not Python's hash(), which is salted per process."""
    code = "from worldsim.world.generate_cases import case_seed; print(case_seed(3, 'bounce_007'))"
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={"PYTHONHASHSEED": "12345", "JAX_PLATFORMS": "cpu", "PATH": ""},
        capture_output=True,
        text=True,
        check=True,
    )
    assert int(out.stdout) == case_seed(3, "bounce_007")


def test_a_negative_seed_is_refused_before_any_work(tmp_path):
    from worldsim.world.generate_cases import generate_cases

    with pytest.raises(ValueError, match="seed must be >= 0"):
        generate_cases(tmp_path / "run", tmp_path / "cases", tmp_path / "videos", seed=-1)
