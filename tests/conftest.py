"""Fixtures shared across test folders."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory) -> Path:
    """20 in-range simulated clips (16 train, 2 validation, ...), built once per session."""
    from data_pipelines import build_physics_clips

    out = tmp_path_factory.mktemp("train_data")
    build_physics_clips(out, num_clips=20, seed=0)
    return out
