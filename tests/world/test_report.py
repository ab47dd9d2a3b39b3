"""The demo page: every clip has its poster frame beside it and no overlaid browser controls."""

from __future__ import annotations

from html.parser import HTMLParser

import imageio.v3 as iio
import numpy as np

from worldsim.media import write_mp4
from worldsim.world.report import write_demo_page

FPS, SR, T = 8, 16_000, 9


class _Videos(HTMLParser):
    """The attributes of every <video> and the data-act of every button, in page order."""

    def __init__(self) -> None:
        super().__init__()
        self.videos: list[dict] = []
        self.buttons: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "video":
            self.videos.append(dict(attrs))
        elif tag == "button":
            self.buttons.append(dict(attrs).get("data-act"))


def _clip(level: int) -> np.ndarray:
    """Frame t is grey at level + 20 t, with a red block on the floor (the bottom rows)."""
    frames = np.repeat((level + 20 * np.arange(T, dtype=np.uint8))[:, None, None, None], 3, -1)
    frames = np.broadcast_to(frames, (T, 16, 16, 3)).copy()  # [T, H, W, 3]
    frames[:, 12:, 4:12] = (220, 30, 30)
    return frames


def test_every_clip_has_a_poster_file_and_buttons_instead_of_controls(tmp_path):
    rows = []
    for i, level in enumerate((10, 60)):
        mp4 = write_mp4(tmp_path / "clips" / f"{i}.mp4", _clip(level), None, FPS, SR)
        rows.append({"caption": f"clip {i}", "videos": [("truth", mp4.relative_to(tmp_path))]})
    page = write_demo_page(tmp_path, rows, None)

    parsed = _Videos()
    parsed.feed(page.read_text())
    assert len(parsed.videos) == 2
    for i, (video, level) in enumerate(zip(parsed.videos, (10, 60), strict=True)):
        assert "controls" not in video  # a browser would draw them over the floor
        assert video["src"] == f"clips/{i}.mp4" and video["poster"] == f"clips/{i}.poster.png"
        poster = iio.imread(tmp_path / video["poster"])
        assert poster.shape == (16, 16, 3)
        mid = _clip(level)[(T - 1) // 2]  # the poster is the middle frame, not a blank one
        assert np.abs(poster.astype(int) - mid).mean() < 4
    assert parsed.buttons.count("play") == 2 and parsed.buttons.count("loop") == 2
