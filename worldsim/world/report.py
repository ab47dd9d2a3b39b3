"""What people look at after a world-model run: per-stage loss curves and the demo page.

plot_stage_losses(workdir, stages, "losses.png")   # one panel per stage
write_demo_page(out_dir, rows, losses_png)          # index.html: generated vs ground truth
"""

from __future__ import annotations

import html
import json
import math
import os
from collections.abc import Sequence
from pathlib import Path

from worldsim.media.player import PLAYER_SCRIPT, PLAYER_STYLE, video_html, write_poster

# Eval keys worth plotting beside the train loss, per stage.
_EVAL_KEYS = {
    "video_vae": ("eval_psnr_ema",),
    "audio_vae": ("eval_mel_l1_ema",),
    "av_dit": ("eval_video_loss_ema", "eval_audio_loss_ema"),
}


def read_metrics(path: str | os.PathLike) -> list[dict]:
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return rows


def series(rows: list[dict], key: str) -> tuple[list[int], list[float]]:
    xs, ys = [], []
    for r in rows:
        v = r.get(key)
        if v is not None and math.isfinite(v):
            xs.append(int(r["step"]))
            ys.append(float(v))
    return xs, ys


def plot_stage_losses(workdir: str | Path, stages: Sequence[str], out_png: str | Path) -> Path:
    """Train and eval loss of each stage (log scale) and its quality metric, one column each."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    workdir = Path(workdir)
    fig, axes = plt.subplots(2, len(stages), figsize=(4.4 * len(stages), 6.0), squeeze=False)
    for col, stage in enumerate(stages):
        path = workdir / stage / "metrics.jsonl"
        rows = read_metrics(path) if path.exists() else []
        ax = axes[0][col]
        for key in ("loss", "eval_loss", "eval_loss_ema"):
            xs, ys = series(rows, key)
            if xs:
                ax.plot(xs, ys, label=key, marker="o" if len(xs) < 12 else None)
        if rows and all(y > 0 for _, ys in [series(rows, "loss")] for y in ys):
            ax.set_yscale("log")
        ax.set_title(f"{stage}: loss")
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
        ax = axes[1][col]
        for key in _EVAL_KEYS.get(stage, ()):
            xs, ys = series(rows, key)
            if xs:
                ax.plot(xs, ys, label=key, marker="o")
        ax.set_title(f"{stage}: eval")
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    out_png = Path(out_png)
    fig.savefig(out_png, dpi=90)
    plt.close(fig)
    return out_png


def write_demo_page(
    out_dir: str | Path, rows: Sequence[dict], losses_png: str | None, title: str = "worldsim demo"
) -> Path:
    """index.html with one row per clip: caption, then labelled playable videos (with sound).

    rows: {"caption": str, "videos": [(label, relative mp4 path), ...], "note": str}
    Each clip gets its poster frame beside it (<clip>.poster.png) and the buttons of
    worldsim/media/player.py under the picture, where they hide nothing.
    """
    out_dir = Path(out_dir)
    parts = [
        "<!doctype html><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title>",
        PLAYER_STYLE,
        PLAYER_SCRIPT,
        "<style>body{font-family:sans-serif;margin:2em}td{vertical-align:top;padding:6px}"
        ".player video{width:192px;height:192px}"
        ".cap{max-width:260px;font-size:13px}</style>",
        f"<h1>{html.escape(title)}</h1>",
        "<p>Each row: a validation caption; the simulator's ground truth (target window) and "
        "the world model's samples for it. Play a clip with its sound from the buttons below "
        "it, or click the picture.</p>",
        "<table>",
    ]
    for row in rows:
        cells = [f"<td class='cap'>{html.escape(row['caption'])}"]
        if row.get("note"):
            cells.append(f"<br><i>{html.escape(row['note'])}</i>")
        cells.append("</td>")
        for label, src in row["videos"]:
            poster = Path(src).with_suffix(".poster.png")
            write_poster(out_dir / src, out_dir / poster)
            player = video_html(Path(src).as_posix(), poster.as_posix(), label=label)
            cells.append(f"<td>{player}</td>")
        parts.append("<tr>" + "".join(cells) + "</tr>")
    parts.append("</table>")
    if losses_png:
        parts.append(f"<h2>Loss curves</h2><img src='{html.escape(losses_png)}'>")
    path = out_dir / "index.html"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
