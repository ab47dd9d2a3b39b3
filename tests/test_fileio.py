"""Output files get the mode the umask asks for (mkstemp's 0600 leaked into every output)."""

from __future__ import annotations

import os
import stat

import ml_collections
import numpy as np
import pytest

from worldsim.fileio import atomic_path
from worldsim.media import transcode, write_mp4, write_png
from worldsim.train.config import save_config

FPS, SR = 8, 16_000


@pytest.fixture
def umask(request):
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600)], indirect=["umask"])
def test_clips_images_and_configs_get_the_mode_the_umask_gives(tmp_path, umask, mode):
    video = np.zeros((4, 16, 16, 3), np.uint8)  # [T, H, W, 3]
    audio = np.zeros((4 * SR // FPS,), np.float32)  # [S]
    mp4 = write_mp4(tmp_path / "clips" / "a.mp4", video, audio, FPS, SR)
    written = [
        mp4,
        transcode(mp4, tmp_path / "clips" / "b.mp4", size=(8, 8), fps=FPS),
        write_png(tmp_path / "frame.png", video[0]),
    ]
    save_config(ml_collections.ConfigDict({"seed": 0}), tmp_path / "run" / "config.json")
    written.append(tmp_path / "run" / "config.json")
    assert {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in written} == {
        p.name: oct(mode) for p in written
    }
    leftovers = [p for p in tmp_path.rglob(".*")]
    assert leftovers == []  # no temporary or scratch file stays behind


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "out.txt"
    path.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(path) as tmp:
        tmp.write_text("half")
        raise RuntimeError("writer failed")
    assert path.read_text() == "old" and sorted(tmp_path.iterdir()) == [path]
