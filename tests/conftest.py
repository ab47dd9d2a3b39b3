"""Fixtures shared across test folders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session", autouse=True)
def user_data_folder(tmp_path_factory) -> Path:
    """The user's data folder (development signing key, cameo registry, refusal log) is a
    temporary one for the whole session: tests never write to the real home."""
    folder = tmp_path_factory.mktemp("user_data")
    saved = {
        k: os.environ.get(k) for k in ("XDG_DATA_HOME", "WORLDSIM_SIGNING_DIR", "WORLDSIM_REGISTRY")
    }
    os.environ["XDG_DATA_HOME"] = str(folder)
    os.environ.pop("WORLDSIM_SIGNING_DIR", None)
    os.environ.pop("WORLDSIM_REGISTRY", None)
    yield folder
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory) -> Path:
    """20 in-range simulated clips (16 train, 2 validation, ...), built once per session."""
    from data_pipelines import build_physics_clips

    out = tmp_path_factory.mktemp("train_data")
    build_physics_clips(out, num_clips=20, seed=0)
    return out
