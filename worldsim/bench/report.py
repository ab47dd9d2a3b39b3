"""The benchmark's report: report.json (every number) and a self-contained report.html.

report.json: the overall score and what its scale means (SCALE), counts (scored / missing
/ unreadable / error), every metric's mean per family and split, the optimism rate on
conflict cases, the Physics-IQ-style measures and score per family and split (their own
group, not in the score), clips flagged for their length or sound, files that match no
case, scoring speed, the metric definitions and score constants, and one entry per case.

report.html (one file, images and clips inlined, opens offline): the scores per family
and split, the metric table with definitions, trajectory overlays (tracked vs true) and
the worst cases with thumbnails and playable clips beside the simulator's (each with its
poster frame and the buttons of worldsim/media/player.py under the picture).
"""

from __future__ import annotations

import base64
import datetime
import html
import io
import json
import os
import tempfile
from pathlib import Path

import numpy as np

from worldsim.bench import physics_iq
from worldsim.bench.cases import load_case, truth_clip
from worldsim.bench.metrics import METRIC_NAMES, METRICS
from worldsim.bench.score import GATE_GROUPS, GROUPS, MIN_CEILING, MIN_HEADROOM, SCORED
from worldsim.bench.scoring import CaseResult
from worldsim.bench.truth import Case
from worldsim.media.player import PLAYER_SCRIPT, PLAYER_STYLE, poster_uri, video_html

WORST_SHOWN = 6
SCALE = (
    "100 is the simulator's own clip; 0 is the best of five trivial continuations of the same "
    "case (freeze the last conditioning frame, extrapolate at constant velocity, the background "
    "alone, colour noise, the conditioning looped), measured through the same scorer. Each law "
    f"metric that the trivial continuations miss by at least {MIN_HEADROOM:g} points scores "
    "the share of that gap the clip closes (a skill); one they already get right (nothing "
    "moves, no contact to hear) is a guard: the case keeps the share of it the clip keeps. "
    "Continuity (teleports, vanishing, appearing) and identity (size, count) are always guards. "
    "A case's score = mean skill over its law groups x every guard; with no skill to show it "
    "is the product of the guards, so freezing a still scene scores as the truth does. "
    f"Metrics the simulator's own clip scores below {MIN_CEILING:g} points on do not judge. A "
    "short clip is held at its last frame for the rest of the case, and flagged."
)


def _clean(value):
    """JSON-safe: numpy scalars to floats, inf/nan to strings a reader can parse back."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, (np.floating, float)):
        v = float(value)
        return v if np.isfinite(v) else ("inf" if v > 0 else "-inf" if v < 0 else "nan")
    if isinstance(value, np.integer):
        return int(value)
    return value


def _summary(results: list[CaseResult]) -> dict:
    """Mean score (missing/unreadable/failed clips count 0) and each metric's mean over the cases that
    have it (with their number)."""
    out: dict = {
        "cases": len(results),
        "score": float(np.mean([r.score for r in results])) if results else None,
        "groups": {},
        "metrics": {},
    }
    scored = [r for r in results if r.status == "scored"]
    out["physics_iq"] = _physics_iq(results)  # a clip not scored counts as the worst
    for group in GROUPS:
        values = [r.groups[group] for r in scored if group in r.groups]
        out["groups"][group] = float(np.mean(values)) if values else None
    for name in METRIC_NAMES:
        values = [r.metrics.get(name) for r in scored]
        values = [float(v) for v in values if v is not None]
        finite = [v for v in values if np.isfinite(v)]
        out["metrics"][name] = {
            "mean": float(np.mean(finite)) if finite else None,
            "n": len(values),
            "not_finite": len(values) - len(finite),
        }
    return out


def _physics_iq(results: list[CaseResult]) -> dict:
    """Physics-IQ's combination over these clips (one not scored counts as the worst)."""
    rows = [r for r in results if r.physics_iq and r.details.get("physics_iq_variance")]
    if not rows:
        return {"score": None, "cases": 0}
    combined = physics_iq.score(
        [r.physics_iq for r in rows], [r.details["physics_iq_variance"] for r in rows]
    )
    return {"score": combined["physics_iq"]} | combined


def aggregate(results: list[CaseResult]) -> dict:
    by_family: dict = {}
    for family in sorted({r.family for r in results}):
        rows = [r for r in results if r.family == family]
        by_family[family] = _summary(rows) | {
            split: _summary([r for r in rows if r.split_tag == split])
            for split in ("in_range", "out_of_range")
        }
    conflict = [r for r in results if r.conflict and r.status == "scored"]
    follows = [
        r.metrics["follows_caption"]
        for r in conflict
        if r.metrics.get("follows_caption") is not None
    ]
    return {
        "overall": _summary(results),
        "in_range": _summary([r for r in results if r.split_tag == "in_range"]),
        "out_of_range": _summary([r for r in results if r.split_tag == "out_of_range"]),
        "conflict": _summary(conflict)
        | {"optimism_rate": float(np.mean(follows)) if follows else None},
        "families": by_family,
        "status": {
            s: sum(r.status == s for r in results)
            for s in ("scored", "missing", "unreadable", "error")
        },
        "flagged": sum(bool(r.flags) for r in results),
    }


def report_json(results: list[CaseResult], manifest: dict, timing: dict, title: str) -> dict:
    return _clean(
        {
            "title": title,
            "benchmark": manifest["benchmark"],
            "version": manifest["version"],
            "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "export_id": manifest.get("export_id"),
            "format": manifest["format"],
            "condition_frames": manifest["condition_frames"],
            "scale": SCALE,
            "physics_iq_definitions": physics_iq.DEFINITIONS,
            "timing": timing,
            "summary": aggregate(results),
            "definitions": [m.__dict__ for m in METRICS],
            "score_constants": [s.__dict__ for s in SCORED],
            "cases": [
                {
                    "id": r.case_id,
                    "family": r.family,
                    "split_tag": r.split_tag,
                    "conflict": r.conflict,
                    "status": r.status,
                    "score": r.score,
                    "groups": r.groups,
                    "metrics": r.metrics,
                    "details": r.details,
                    "physics_iq": r.physics_iq,
                    "physics_iq_score": _physics_iq([r])["score"],
                    "flags": r.flags,
                    "judged_frames": r.judged_frames,
                    "error": r.error,
                    "video": r.video,
                }
                for r in results
            ],
        }
    )


# ----------------------------------------------------------------------------- html


def _fmt(value, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, str):
        return value
    if not np.isfinite(value):
        return "∞" if value > 0 else "nan"
    return f"{value:.{digits}g}" if abs(value) < 1000 else f"{value:.0f}"


def _png_uri(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _overlay(case: Case, result: CaseResult) -> str:
    """Tracked (solid) vs true (dashed) paths on the frame and height over time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_xy, ax_t) = plt.subplots(1, 2, figsize=(7.2, 3.0))
    t = np.arange(case.num_frames) / case.fps
    for n, obj in enumerate(case.objects):
        color = np.asarray(obj["color"]) / 255
        true_xy = case.states[:, n, :2]
        ax_xy.plot(true_xy[:, 0], true_xy[:, 1], "--", color=color, lw=1)
        ax_t.plot(t, true_xy[:, 1], "--", color=color, lw=1)
        if result.tracks is not None:
            xy = result.tracks.xy[:, n]  # [judged frames, 2]: a short clip's overlap
            ax_xy.plot(xy[:, 0], xy[:, 1], "-", color=color, lw=1.5)
            ax_t.plot(t[: len(xy)], xy[:, 1], "-", color=color, lw=1.5, label=obj["name"])
    for c in case.contacts:
        ax_t.axvline(c["time_s"], color="0.8", lw=0.5)
    ax_t.axvspan(0, case.condition_seconds, color="0.9")
    ax_xy.set(xlim=(0, case.width), ylim=(case.height, 0), aspect="equal", title="path (px)")
    ax_t.set(ylim=(case.height, 0), xlabel="s", title="y over time (grey: conditioning)")
    ax_t.legend(fontsize=6, loc="lower left")
    uri = _png_uri(fig)
    plt.close(fig)
    return uri


def _file_uri(path: Path, mime: str) -> str:
    return f"data:{mime};base64," + base64.b64encode(Path(path).read_bytes()).decode()


def _player(path: Path, label: str) -> str:
    """A clip inlined with its poster frame and the buttons under the picture."""
    return video_html(_file_uri(path, "video/mp4"), poster_uri(path), label=label)


def _truth_player(case: Case) -> str:
    from worldsim.media.video_io import write_mp4

    if case.truth_video and Path(case.truth_video).is_file():
        return _player(Path(case.truth_video), "simulator")
    clip = truth_clip(case)
    with tempfile.TemporaryDirectory() as tmp:
        path = write_mp4(
            Path(tmp) / "truth.mp4", clip.video, clip.audio, clip.fps, clip.sample_rate
        )
        return _player(path, "simulator")


def _table(header: list[str], rows: list[list[str]], cls: str = "") -> str:
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def report_html(report: dict, results: list[CaseResult], truth_dir: Path) -> str:
    s = report["summary"]
    families = list(s["families"])
    esc = html.escape
    parts = [
        "<!doctype html><meta charset='utf-8'>",
        f"<title>{esc(report['title'])}</title>",
        "<style>body{font:14px system-ui,sans-serif;margin:2em;max-width:1200px}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;"
        "text-align:right}th{background:#f3f3f3}td:first-child{text-align:left}"
        ".case{border:1px solid #ddd;padding:8px;margin:8px 0}small{color:#666}</style>",
        PLAYER_STYLE,
        PLAYER_SCRIPT,
        f"<h1>{esc(report['title'])}</h1>",
        f"<p><b>Score {_fmt(s['overall']['score'], 4)}</b> / 100 over {s['overall']['cases']} cases "
        f"(scored {s['status']['scored']}, missing {s['status']['missing']}, unreadable "
        f"{s['status']['unreadable']}, failed {s['status']['error']}: these score 0). In-range {_fmt(s['in_range']['score'], 4)}, "
        f"out-of-range {_fmt(s['out_of_range']['score'], 4)}. Optimism rate on conflict cases "
        f"(the clip shows the outcome the caption asserts, against physics): "
        f"{_fmt(s['conflict']['optimism_rate'])}. {report['benchmark']} v{report['version']}, "
        f"scored {_fmt(report['timing'].get('clips_per_second'))} clips/s.</p>",
        f"<p><b>The scale.</b> {esc(report['scale'])} Groups: law groups show 100 x their "
        f"mean skill x their guards; the gates ({', '.join(GATE_GROUPS)}) show 100 x their "
        "guards.</p>",
        "<h2>Scores by family and split</h2>",
    ]
    rows = []
    for family in families:
        f = s["families"][family]
        rows.append(
            [
                family,
                _fmt(f["score"], 4),
                _fmt(f["in_range"]["score"], 4),
                _fmt(f["out_of_range"]["score"], 4),
            ]
            + [_fmt(f["groups"][g], 3) for g in GROUPS]
        )
    rows.append(
        [
            "all",
            _fmt(s["overall"]["score"], 4),
            _fmt(s["in_range"]["score"], 4),
            _fmt(s["out_of_range"]["score"], 4),
        ]
        + [_fmt(s["overall"]["groups"][g], 3) for g in GROUPS]
    )
    parts.append(_table(["family", "score", "in-range", "out-of-range", *GROUPS], rows))
    parts.append(
        "<h2>Physics-IQ-style measures (their own group, not in the score)</h2>"
        "<p>Motion masks, IoUs and MSE against the simulator's clip over the frames after the "
        "conditioning, normalised by the physical variance between the simulator's clip and a "
        "second take of the same scene, combined as Physics-IQ combines them (definitions and "
        "adaptations below).</p>"
    )
    rows = []
    for name, block in [(f, s["families"][f]) for f in families] + [("all", s["overall"])]:
        piq = block["physics_iq"]
        cells = [name, _fmt(piq["score"], 3)]
        for split in ("in_range", "out_of_range"):
            sub = block[split] if name != "all" else s[split]
            cells.append(_fmt(sub["physics_iq"]["score"], 3))
        cells += [_fmt(piq.get("model", {}).get(m)) for m in physics_iq.MEASURES]
        rows.append(cells)
    parts.append(
        _table(
            ["family", "Physics-IQ score", "in-range", "out-of-range", *physics_iq.MEASURES], rows
        )
    )
    parts.append("<h2>Metrics (mean over the cases that have them; n in brackets)</h2>")
    units = {m["name"]: m for m in report["definitions"]}
    rows = []
    for name in METRIC_NAMES:
        cells = [
            f"<span title='{esc(units[name]['definition'])}'>{name}</span> <small>{esc(units[name]['unit'])}</small>"
        ]
        for family in families + [None]:
            m = (s["families"][family] if family else s["overall"])["metrics"][name]
            extra = f" +{m['not_finite']}∞" if m["not_finite"] else ""
            cells.append(f"{_fmt(m['mean'])} <small>({m['n']}{extra})</small>")
        rows.append(cells)
    parts.append(_table(["metric", *families, "all"], rows))

    flagged = [r for r in results if r.flags]
    if flagged:
        parts.append("<h2>Flagged clips (scored on their overlap with the case)</h2>")
        parts.append(
            _table(["case", "flags"], [[r.case_id, esc("; ".join(r.flags))] for r in flagged])
        )
    unmatched = report["timing"].get("unmatched") or []
    if unmatched:
        parts.append(
            f"<h2>Files that match no case ({len(unmatched)})</h2><p>"
            + esc(", ".join(unmatched))
            + "</p>"
        )
    scored = sorted((r for r in results if r.status == "scored"), key=lambda r: r.score)
    parts.append(f"<h2>The {min(WORST_SHOWN, len(scored))} lowest-scoring cases</h2>")
    for r in scored[:WORST_SHOWN]:
        case = load_case(truth_dir, r.case_id)
        m = r.metrics
        parts.append(
            "<div class='case'>"
            f"<b>{r.case_id}</b> ({r.family}, {r.split_tag}{', conflict' if r.conflict else ''}): "
            f"score {_fmt(r.score, 3)}; outcome {esc(str(m.get('outcome_seen')))} "
            f"(simulator: {esc(case.outcome)}); caption: <i>{esc(case.caption)}</i><br>"
            + " ".join(f"{g} {_fmt(v, 3)}" for g, v in r.groups.items())
            + "<br>"
            + (
                _player(Path(r.video), "clip")
                if r.video and Path(r.video).is_file()
                else "<i>clip: no file</i>"
            )
            + _truth_player(case)
            + f"<br><img src='{_overlay(case, r)}'></div>"
        )
    missing = [r for r in results if r.status != "scored"]
    if missing:
        parts.append("<h2>Not scored</h2>")
        parts.append(
            _table(
                ["case", "status", "reason"],
                [[r.case_id, r.status, esc(r.error or "")] for r in missing],
            )
        )
    parts.append("<h2>Definitions</h2>")
    parts.append(
        _table(
            ["metric", "unit", "range", "definition"],
            [
                [m["name"], esc(m["unit"]), esc(m["range"]), esc(m["definition"])]
                for m in report["definitions"]
            ],
            "defs",
        )
    )
    parts.append(
        "<h2>Physics-IQ-style measures: definitions and adaptations</h2>"
        + _table(
            ["measure", "definition"],
            [[esc(k), esc(v)] for k, v in report["physics_iq_definitions"].items()],
            "defs",
        )
    )
    parts.append(
        "<h2>Score constants</h2><p>Points per metric p = 100 * clip((zero - e) / (zero - floor), "
        "0, 1) (e = 1 - value for rates of success); the sync offset is multiplied by onset "
        "precision, the contact scores by kink precision. Then the scale above: skills over "
        "the best trivial continuation, guards.</p>"
    )
    parts.append(
        _table(
            ["metric", "group", "floor", "zero", "scaled by"],
            [
                [c["metric"], c["group"], _fmt(c["floor"]), _fmt(c["zero"]), c["scale_by"] or ""]
                for c in report["score_constants"]
            ],
        )
    )
    return "\n".join(parts)


def write_report(
    out_dir: str | os.PathLike,
    results: list[CaseResult],
    manifest: dict,
    timing: dict,
    truth_dir: str | os.PathLike,
    title: str = "worldsim physics benchmark",
) -> tuple[Path, Path]:
    """Write OUT/report.json and OUT/report.html; returns their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    report = report_json(results, manifest, timing, title)
    js = out_dir / "report.json"
    tmp = out_dir / ".report.json.tmp"
    tmp.write_text(json.dumps(report, indent=1))
    os.replace(tmp, js)
    page = out_dir / "report.html"
    tmp = out_dir / ".report.html.tmp"
    tmp.write_text(report_html(report, results, Path(truth_dir)), encoding="utf-8")
    os.replace(tmp, page)
    return js, page
