"""The analysts' notebooks execute top to bottom and show what they promise."""

from __future__ import annotations

import pathlib

import nbclient
import nbformat
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def execute(name: str) -> nbformat.NotebookNode:
    notebook = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    client = nbclient.NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}
    )
    client.execute()
    return notebook


def test_physics_world_notebook_plays_clips_and_plots():
    notebook = execute("physics_world.ipynb")
    outputs = [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs]
    html = [out["data"]["text/html"] for out in outputs if "text/html" in out.get("data", {})]
    images = [out for out in outputs if "image/png" in out.get("data", {})]
    assert sum('src="data:video/mp4;base64,' in h for h in html) >= 7  # one clip + six families
    assert len(images) >= 2  # trajectory/sound plot and the speed sweep
