"""One small benchmark export per session: 12 cases (two per family), cases and truth apart."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def export(tmp_path_factory) -> tuple[Path, Path]:
    from worldsim.bench.export import export_cases

    root = tmp_path_factory.mktemp("bench")
    export_cases(root / "cases", truth_out=root / "truth", num_cases=12, seed=3, workers=2)
    return root / "cases", root / "truth"


@pytest.fixture(scope="session")
def cases_dir(export) -> Path:
    return export[0]


@pytest.fixture(scope="session")
def truth_dir(export) -> Path:
    return export[1]


@pytest.fixture(scope="session")
def cases(truth_dir):
    from worldsim.bench.cases import load_cases

    return load_cases(truth_dir)
