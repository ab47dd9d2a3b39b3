"""Shared by the trainer tests: one small simulated dataset, and the `worldsim train`
command line that the subprocess tests start."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory) -> Path:
    """20 in-range clips (16 train, 2 validation, ...), built once per session."""
    from data_pipelines import build_physics_clips

    out = tmp_path_factory.mktemp("train_data")
    build_physics_clips(out, num_clips=20, seed=0)
    return out


def train_command(workdir: Path, data_dir: Path, *flags: str) -> list[str]:
    """`worldsim train` on the smoke config; later flags override earlier ones."""
    return [
        sys.executable,
        "-m",
        "worldsim.cli",
        "train",
        "--config",
        str(REPO / "experiments/tiny_cpu.py:smoke"),
        "--workdir",
        str(workdir),
        f"--config.data.dir={data_dir}",
        "--config.train.log_every=1",
        *flags,
    ]


def child_env(devices: int = 1) -> dict[str, str]:
    """Environment for a child `worldsim` with `devices` fake CPU devices."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO)
    env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices}"
    return env
