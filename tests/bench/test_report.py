"""report.html: every clip inlined with its poster frame and no overlaid browser controls."""

from __future__ import annotations

import base64
import io
import shutil
from html.parser import HTMLParser

import imageio.v3 as iio
import numpy as np

from worldsim.bench.cases import load_case, read_truth_manifest, truth_clip
from worldsim.bench.report import write_report
from worldsim.bench.scoring import score_file


class _Videos(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.videos: list[dict] = []
        self.plays = 0

    def handle_starttag(self, tag, attrs):
        if tag == "video":
            self.videos.append(dict(attrs))
        elif tag == "button" and dict(attrs).get("data-act") == "play":
            self.plays += 1


def test_report_videos_have_inlined_posters_and_buttons_instead_of_controls(truth_dir, tmp_path):
    copy = tmp_path / "truth"  # a copy whose second case has no stored clip: re-simulated
    shutil.copytree(truth_dir, copy)
    ids = [entry["id"] for entry in read_truth_manifest(copy)["cases"][:2]]
    clips = tmp_path / "clips"
    clips.mkdir()
    for case_id in ids:
        shutil.copy(copy / f"{case_id}.mp4", clips)
    (copy / f"{ids[1]}.mp4").unlink()
    results = [score_file(clips / f"{i}.mp4", load_case(copy, i)) for i in ids]
    _, page = write_report(tmp_path / "report", results, read_truth_manifest(copy), {}, copy)

    parsed = _Videos()
    parsed.feed(page.read_text())
    shown = [r.case_id for r in sorted(results, key=lambda r: r.score)]  # the page's order
    assert len(parsed.videos) == 4  # clip and simulator for each case
    assert parsed.plays == 4
    for n, video in enumerate(parsed.videos):
        assert "controls" not in video  # a browser would draw them over the floor
        assert video["src"].startswith("data:video/mp4;base64,")
        head, data = video["poster"].split(",", 1)
        assert head == "data:image/png;base64"
        poster = iio.imread(io.BytesIO(base64.b64decode(data)))
        truth = truth_clip(load_case(truth_dir, shown[n // 2])).video  # [T, H, W, 3]
        assert poster.shape == truth.shape[1:]
        error = np.abs(poster.astype(int) - truth).mean(axis=(1, 2, 3))  # [T]
        mid = (len(truth) - 1) // 2
        assert error[mid] < 3 and error[mid] <= error.min() + 0.1  # this clip's middle frame
