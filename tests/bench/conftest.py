"""One small benchmark export per session: 12 cases (two per family), full clips included."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def cases_dir(tmp_path_factory) -> Path:
    from worldsim.bench.cases import export_cases

    out = tmp_path_factory.mktemp("bench") / "cases"
    export_cases(out, num_cases=12, seed=3, with_ground_truth=True)
    return out


@pytest.fixture(scope="session")
def cases(cases_dir):
    from worldsim.bench.cases import load_cases

    return load_cases(cases_dir)
