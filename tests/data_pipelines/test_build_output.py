"""What a build shows off a terminal: our plain progress lines, none of TFDS's console noise."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from data_pipelines import catalog

REPO = Path(__file__).resolve().parents[2]

BUILD = textwrap.dedent(
    """
    import sys
    from data_pipelines import build_physics_clips
    from worldsim.physics.types import RenderConfig

    tiny = RenderConfig(width=16, height=16, fps=8, seconds=0.5, sample_rate=8000)
    print("built", build_physics_clips(sys.argv[1], num_clips=4, config=tiny))
    """
)


def test_build_prints_only_our_lines_when_not_on_a_terminal(tmp_path):
    out = subprocess.run(
        [sys.executable, "-c", BUILD, str(tmp_path)],
        capture_output=True,  # pipes: not a terminal
        text=True,
        cwd=REPO,
        env={**os.environ, "JAX_PLATFORMS": "cpu"},
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    both = out.stdout + out.stderr
    for noise in ("Downloading and preparing", "downloaded and prepared", "Using custom data"):
        assert noise not in both, both
    assert "\r" not in both and "\x1b" not in both, repr(both)
    assert out.stdout.splitlines() == [f"built {catalog.find_dataset_dir(tmp_path)}"]
    # One plain line per split here (1-2 clips each), ending on the split's total.
    assert out.stderr.splitlines()[-1].startswith("physics_clips test_ood: 1/1 clips (100%)")
    assert "physics_clips train: 2/2 clips (100%)" in out.stderr


def test_quiet_tfds_restores_the_progress_bar_setting():
    from tensorflow_datasets.core.utils import tqdm_utils

    before = tqdm_utils._active
    with catalog.quiet_tfds():
        assert tqdm_utils._active is False
    assert tqdm_utils._active == before
