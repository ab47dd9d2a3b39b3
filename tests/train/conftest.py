"""Shared by the trainer tests: the `worldsim train` command line that the subprocess
tests start (the session's small dataset, `data_dir`, is in tests/conftest.py)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def train_command(workdir: Path, data_dir: Path, *flags: str) -> list[str]:
    """`worldsim train` on the smoke config; later flags override earlier ones."""
    return [
        sys.executable,
        "-m",
        "worldsim.cli",
        "train",
        "--config",
        str(REPO / "experiments/frame_predictor_cpu.py:smoke"),
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
