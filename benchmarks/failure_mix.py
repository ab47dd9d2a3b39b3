r"""Does training on failure states make the model follow physics rather than the prompt?

    python benchmarks/failure_mix.py --workdir runs/failure_mix \
        [--weights 0,0.3,0.7] [--seeds 0] [--steps 2000] [--num-cases 100] [--seed 0] \
        [--caption-study | --no-caption-study] [--sampler-steps 20] [--cfg-scale 3.0] \
        [--set FIELD=VALUE ...] [--no-append]

The CPU recipe (`experiments/cpu_physics.py`) trained under several success/failure
mixtures of its training clips (`data.failure_weight` = w, `data.success_weight` = 1 - w;
w = 0 is success clips only), the same seeds otherwise, then every model continues the
same held-out conflict cases. A conflict case's caption asserts the outcome physics does
not produce ("the ball drops through the hoop" for a shot that misses); the benchmark
reads the generated clip's outcome off its tracked pixels.

1. The dataset (`worldsim data build`, unless it exists) and the autoencoders are made
   once, in WORKDIR/base: the autoencoders are shared by every model (trained at the
   recipe's default mixture), so the models differ only in the transformer's training
   clips. Each model is an ordinary run directory, WORKDIR/models/<name>, seeded with a copy
   of the base and trained by `worldsim train` (its transformer stage at `--steps`): an
   interrupted study resumes where it stopped (a finished model is not trained again, a
   clip already written is kept, a scored arm is read back).
2. One export of `--num-cases` conflict cases over the families that have a failure
   outcome (hoop miss, tower topples, throw blocked, collide miss, ramp stays), first
   frames given (`generate_cases`, what `worldsim bench run` does).
3. Each model continues every case twice, with the conflicting caption ("asserted") and
   with the case's true caption ("true"), the same noise: the true-caption twin is each
   conflict case's matching non-conflict case, so the caption is the only difference.
   With `--caption-study` the first model at the recipe's mixture (its
   `data.failure_weight`) also continues them with no caption, and all three at CFG 1.0.
4. Per mixture and caption, with 95% bootstrap intervals over cases (seeds pooled):
   - follows the asserted outcome: the optimism rate with the conflicting caption; with
     the true caption, how often that counterfactual outcome appears unprompted. Their
     paired difference is the caption's pull.
   - outcome agreement with the simulator (cases whose outcome the frames decide);
   - impossible resolutions: the asserted outcome reached through a teleport or an object
     passing through a wall (metrics `teleports`, `wall_crossings`), of the cases;
   - the benchmark's overall score on these cases.
   Plot: WORKDIR/optimism.png (optimism rate against failure weight). Page:
   WORKDIR/hoop.html (hoop conflict cases: the simulator's clip beside each model's).
   Table appended to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import html
import json
import os
import pathlib
import shutil
import sys
import time
from collections.abc import Sequence

import numpy as np

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
CAPTIONS = ("asserted", "true", "none")
RESAMPLES = 2000


# ------------------------------------------------------------------ statistics
def bootstrap_mean(
    values: Sequence[float | None], *, resamples: int = RESAMPLES, seed: int = 0
) -> dict:
    """Mean of the values that are not None, with its 95% percentile-bootstrap interval over
    them; {"mean": None, ...} when none is."""
    x = np.asarray([float(v) for v in values if v is not None], np.float64)
    if len(x) == 0:
        return {"mean": None, "lo": None, "hi": None, "n": 0}
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, len(x), size=(resamples, len(x)))].mean(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return {"mean": float(x.mean()), "lo": float(lo), "hi": float(hi), "n": int(len(x))}


def bootstrap_paired_difference(
    a: Sequence[float | None],
    b: Sequence[float | None],
    *,
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> dict:
    """Mean of a - b over the pairs where both are given, with its 95% interval (the
    pairs resampled together)."""
    pairs = [
        (float(x), float(y)) for x, y in zip(a, b, strict=True) if x is not None and y is not None
    ]
    return bootstrap_mean([x - y for x, y in pairs], resamples=resamples, seed=seed)


# ------------------------------------------------------------------ per-case rows
def case_row(result, case) -> dict:
    """The figures the study needs from one scored case (a clip not scored: score 0, the
    rest None)."""
    m = result.metrics if result.status == "scored" else {}
    follows = m.get("follows_caption")
    broke = None
    if m.get("teleports") is not None and m.get("wall_crossings") is not None:
        broke = float(m["teleports"] > 0 or m["wall_crossings"] > 0)
    return {
        "id": case.case_id,
        "family": case.family,
        "split": case.split_tag,
        "truth_outcome": case.outcome,
        "truth_is_failure": case.outcome in _failure_outcomes(case.family),
        "asserted_outcome": case.asserted_outcome,
        "status": result.status,
        "score": float(result.score),
        "outcome_seen": m.get("outcome_seen"),
        "follows_asserted": follows,
        "outcome_agree": m.get("outcome_agree"),
        "broke_physics": broke,
        "impossible": None if follows is None or broke is None else float(follows and broke),
        "onset_f1": m.get("onset_f1"),
        "sync_offset_ms": m.get("sync_offset_ms"),
    }


def _failure_outcomes(family: str) -> set[str]:
    from worldsim.physics import families

    return families.FAILURE_OUTCOMES[family]


def summarise(rows: list[dict], *, seed: int = 0) -> dict:
    """The study's figures over rows (cases, seeds pooled), each with its interval."""
    pick = lambda key, rs=rows: [r[key] for r in rs]  # noqa: E731
    optimistic = [r for r in rows if r["truth_is_failure"]]  # the caption claims a success
    return {
        "cases": len(rows),
        "follows_asserted": bootstrap_mean(pick("follows_asserted"), seed=seed),
        "follows_asserted_truth_failure": bootstrap_mean(
            pick("follows_asserted", optimistic), seed=seed
        ),
        "outcome_agree": bootstrap_mean(pick("outcome_agree"), seed=seed),
        "impossible": bootstrap_mean(pick("impossible"), seed=seed),
        "score": bootstrap_mean(pick("score"), seed=seed),
    }


# ------------------------------------------------------------------ cases and captions
def caption_folders(cases: pathlib.Path, truth: pathlib.Path, out: pathlib.Path) -> dict:
    """CASES folders of the same export with other captions: "asserted" is the export as
    written; "true" has each case's simulated outcome in its caption (the scene simulated
    again without the conflict); "none" has an empty caption. The conditioning clips are
    the export's (linked)."""
    from worldsim.bench.cases import load_cases
    from worldsim.physics.clip import clip_from_params

    folders = {"asserted": cases}
    manifest = json.loads((cases / "manifest.json").read_text())
    true_captions = {
        c.case_id: clip_from_params(
            c.family, c.params, c.seed, c.render_config, split_tag=c.split_tag
        ).caption
        for c in load_cases(truth)
    }
    for name in ("true", "none"):
        folder = out / name
        folders[name] = folder
        if (folder / "manifest.json").is_file():
            continue
        folder.mkdir(parents=True, exist_ok=True)
        link = folder / "condition"
        if not link.exists():
            link.symlink_to((cases / "condition").resolve(), target_is_directory=True)
        entries = [
            dict(e, caption=true_captions[e["id"]] if name == "true" else "")
            for e in manifest["cases"]
        ]
        with open(folder / "prompts.csv", "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["id", "caption", "condition"])
            writer.writerows([e["id"], e["caption"], e["condition"]] for e in entries)
        tmp = folder / ".manifest.json.tmp"
        tmp.write_text(json.dumps(dict(manifest, cases=entries), indent=1))
        os.replace(tmp, folder / "manifest.json")
    return folders


# ------------------------------------------------------------------ models
def model_name(weight: float, seed: int) -> str:
    return f"fail{weight:.2f}_seed{seed}"


def seed_model(base: pathlib.Path, run: pathlib.Path) -> None:
    """A new model's run directory: a copy of the base (tokenizer, config, autoencoders)."""
    if run.exists():
        return
    tmp = run.with_name(f".{run.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(base, tmp, ignore=shutil.ignore_patterns("train.log"))
    os.replace(tmp, run)


def arm_name(caption: str, cfg: float) -> str:
    return f"{caption}_cfg{cfg:g}"


def parse_weights(text: str) -> list[float]:
    try:
        weights = [float(w) for w in text.split(",")]
    except ValueError:
        raise SystemExit(
            f"--weights {text!r}: a comma-separated list of numbers in [0, 1]"
        ) from None
    if not weights or any(not 0.0 <= w <= 1.0 for w in weights) or len(set(weights)) < len(weights):
        raise SystemExit(f"--weights {text!r}: distinct failure weights in [0, 1]")
    return weights


# ------------------------------------------------------------------ outputs
def _cell(s: dict, pct: bool = True) -> str:
    if s["mean"] is None:
        return "–"
    f = (lambda v: f"{100 * v:.0f}%") if pct else (lambda v: f"{v:.1f}")
    return f"{f(s['mean'])} [{f(s['lo'])}, {f(s['hi'])}]"


def table(rows: list[tuple[str, dict, dict | None]]) -> list[str]:
    """rows: (label, summary, paired caption pull or None)."""
    head = (
        "| model, caption | cases | follows the asserted outcome | ... when the truth is a "
        "failure | caption's pull (asserted - true) | outcome agrees with the simulator | "
        "impossible resolution | overall score |"
    )
    lines = [head, "|---|---|---|---|---|---|---|---|"]
    for label, s, pull in rows:
        pull_text = "" if pull is None else _cell(pull)
        lines.append(
            f"| {label} | {s['cases']} | {_cell(s['follows_asserted'])} | "
            f"{_cell(s['follows_asserted_truth_failure'])} | {pull_text} | "
            f"{_cell(s['outcome_agree'])} | {_cell(s['impossible'])} | "
            f"{_cell(s['score'], pct=False)} |"
        )
    return lines


def plot(weights, per_weight: dict, per_model: dict, path: pathlib.Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for caption, style in (("asserted", "o-"), ("true", "s--")):
        stats = [per_weight[(w, caption)]["follows_asserted"] for w in weights]
        ok = [s["mean"] is not None for s in stats]
        x = np.asarray(weights)[ok]
        mean = np.asarray([s["mean"] for s in stats if s["mean"] is not None])
        err = np.asarray(
            [[s["mean"] - s["lo"], s["hi"] - s["mean"]] for s in stats if s["mean"] is not None]
        ).T
        label = (
            "conflicting caption (optimism rate)"
            if caption == "asserted"
            else "true caption (counterfactual outcome unprompted)"
        )
        if len(x):
            ax.errorbar(x, mean, yerr=err, fmt=style, capsize=4, label=label)
    for (w, _, caption), s in per_model.items():  # each seed's model alone
        if caption == "asserted" and s["follows_asserted"]["mean"] is not None:
            ax.plot([w], [s["follows_asserted"]["mean"]], "k.", alpha=0.5)
    ax.set(
        xlabel="failure weight of the transformer's training clips",
        ylabel="share of conflict cases showing the asserted outcome",
        ylim=(0, 1),
        title="optimism against failure states in training (95% bootstrap)",
    )
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def hoop_page(
    work: pathlib.Path,
    truth: pathlib.Path,
    clips: dict[str, pathlib.Path],
    rows: dict,
    path: pathlib.Path,
    *,
    max_cases: int = 4,
) -> int:
    """hoop.html: hoop conflict cases (the shot misses, the caption says it goes in first),
    the simulator's clip beside each model's continuation with the conflicting caption, with
    the outcome each shows and its sound's onset F1. Returns the cases shown."""
    from worldsim.bench.cases import load_case
    from worldsim.media.player import PLAYER_SCRIPT, PLAYER_STYLE, poster_uri, video_html

    first = next(iter(rows.values()))
    hoops = [r for r in first if r["family"] == "hoop"]
    hoops.sort(key=lambda r: not r["truth_is_failure"])  # the optimistic direction first
    shown = hoops[:max_cases]
    esc = html.escape
    parts = [
        "<!doctype html><meta charset='utf-8'><title>hoop conflict cases</title>",
        f"<style>body{{font-family:sans-serif}} .row{{display:flex;gap:12px}} {PLAYER_STYLE}</style>",
        "<h1>Hoop conflict cases: the simulator's clip beside each model's</h1>",
        "<p>Each model continues the first 5 frames with the conflicting caption. The rebound "
        "off the rim or backboard should be seen, and heard as a contact at its time.</p>",
    ]
    for r in shown:
        case = load_case(truth, r["id"])
        contacts = ", ".join(
            f"{c['object_b']} at {c['time_s']:.2f} s" for c in case.contacts if c["static"]
        )
        parts.append(
            f"<h2>{esc(r['id'])}: physics says <b>{esc(r['truth_outcome'])}</b>; the caption "
            f"says {esc(str(r['asserted_outcome']))}</h2><p>{esc(case.caption)}</p>"
            f"<p>simulator's contacts: {esc(contacts or 'none')}</p><div class='row'>"
        )
        sim = truth / f"{r['id']}.mp4"
        parts.append(video_html(os.path.relpath(sim, work), poster_uri(sim), label="simulator"))
        for name, folder in clips.items():
            clip = folder / f"{r['id']}.mp4"
            if not clip.is_file():
                continue
            row = next(x for x in rows[name] if x["id"] == r["id"])
            f1 = "–" if row["onset_f1"] is None else f"{row['onset_f1']:.2f}"
            label = f"{name}: shows {row['outcome_seen']}, onset F1 {f1}"
            parts.append(video_html(os.path.relpath(clip, work), poster_uri(clip), label=label))
        parts.append("</div>")
    parts.append(f"<script>{PLAYER_SCRIPT}</script>")
    path.write_text("\n".join(parts))
    return len(shown)


# ------------------------------------------------------------------ the study
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--config", default="experiments/cpu_physics.py")
    parser.add_argument("--workdir", required=True, help="the study's folder (resumable)")
    parser.add_argument("--weights", default="0,0.3,0.7", help="failure weights, comma-separated")
    parser.add_argument("--seeds", default="0", help="training seeds per mixture, e.g. 0,1")
    parser.add_argument("--steps", type=int, default=2000, help="transformer steps per model")
    parser.add_argument("--num-cases", type=int, default=100, help="conflict cases")
    parser.add_argument("--seed", type=int, default=0, help="the export's seed")
    parser.add_argument(
        "--caption-study",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="no caption, and every caption at CFG 1.0, on the first default-mixture model",
    )
    parser.add_argument("--sampler-steps", type=int, default=20)
    parser.add_argument("--cfg-scale", type=float, default=3.0, help="the recipe's CFG")
    parser.add_argument("--batch-size", type=int, default=8, help="cases per sampler call")
    parser.add_argument("--workers", type=int, default=1, help="processes for export/scoring")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="config override for every model (repeatable)",
    )
    parser.add_argument("--no-append", action="store_true", help="do not append to RESULTS.md")
    args = parser.parse_args(argv)
    weights = parse_weights(args.weights)
    try:
        seeds = [int(s) for s in args.seeds.split(",")]
    except ValueError:
        parser.error(f"--seeds {args.seeds!r}: comma-separated integers")
    if args.steps < 1 or args.num_cases < 1:
        parser.error("--steps and --num-cases must be >= 1")
    if not pathlib.Path(args.config.partition(":")[0]).is_file():
        parser.error(f"--config {args.config}: no such file")

    from learning_curve import cli, ensure_dataset, timed
    from results import command_line, machine, publish

    from worldsim.bench.cases import load_cases
    from worldsim.bench.export import export_cases
    from worldsim.bench.scoring import score_folder
    from worldsim.physics import families as families_lib
    from worldsim.train.config import load_config
    from worldsim.world.generate import SamplerConfig
    from worldsim.world.generate_cases import generate_cases

    started = time.perf_counter()
    work = pathlib.Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    log = work / "train.log"
    state_path = work / "study.json"
    state = json.loads(state_path.read_text()) if state_path.is_file() else {"timing": {}}
    timing = state["timing"]

    def save_state() -> None:
        tmp = state_path.with_name(".study.json.tmp")
        tmp.write_text(json.dumps(state, indent=1))
        os.replace(tmp, state_path)

    overrides = [f"--config.{s}" for s in args.set]
    config, _ = load_config(["--config", args.config, *overrides])
    default_weight = float(config.data.failure_weight)  # the recipe's mixture

    # 1. dataset and shared autoencoders
    if "data_s" not in timing:
        timing["data_s"], timing["data_note"] = ensure_dataset(config, log)
        save_state()
    base = work / "base"
    if "autoencoders_s" not in timing:
        ae = cli(
            "train", "--config", args.config, "--workdir", str(base), *overrides,
            "--config.stages.order=video_vae,audio_vae",
        )  # fmt: skip
        timing["autoencoders_s"] = timed(ae, log)
        save_state()

    # 2. the conflict cases, once
    cases, truth = work / "cases", work / "cases-truth"
    failure_families = tuple(f for f in families_lib.FAMILIES if families_lib.FAILURE_OUTCOMES[f])
    if not (truth / "truth_manifest.json").is_file():
        export_cases(
            cases,
            truth_out=truth,
            num_cases=args.num_cases,
            families=failure_families,
            kinds=("conflict",),
            seed=args.seed,
            workers=args.workers,
        )
    truth_cases = {c.case_id: c for c in load_cases(truth)}
    folders = caption_folders(cases, truth, work / "captions")

    # 3. models and their clips
    arms = {"main": [("asserted", args.cfg_scale), ("true", args.cfg_scale)]}
    study_arms = [("none", args.cfg_scale)] + [(c, 1.0) for c in CAPTIONS]
    caption_model = (
        model_name(default_weight if default_weight in weights else weights[0], seeds[0])
        if args.caption_study
        else None
    )
    rows: dict[tuple[str, str], list[dict]] = {}
    for weight in weights:
        for seed in seeds:
            name = model_name(weight, seed)
            run = work / "models" / name
            if name not in timing.get("models", {}):
                seed_model(base, run)
                command = cli(
                    "train", "--config", args.config, "--workdir", str(run), *overrides,
                    f"--config.data.failure_weight={weight}",
                    f"--config.data.success_weight={1.0 - weight}",
                    f"--config.seed={seed}",
                    f"--config.stages.av_dit.steps={args.steps}",
                )  # fmt: skip
                seconds = timed(command, log)
                timing.setdefault("models", {})[name] = seconds
                save_state()
            todo = arms["main"] + (study_arms if name == caption_model else [])
            for caption, cfg in todo:
                arm = arm_name(caption, cfg)
                scored = work / "scored" / f"{name}__{arm}.json"
                if not scored.is_file():
                    videos = work / "clips" / name / arm
                    sampler = SamplerConfig(steps=args.sampler_steps, cfg_scale=cfg)
                    t0 = time.perf_counter()
                    generate_cases(
                        run, folders[caption], videos, sampler=sampler, batch_size=args.batch_size
                    )
                    t1 = time.perf_counter()
                    results, _ = score_folder(cases, truth, videos, workers=args.workers)
                    table_rows = [case_row(r, truth_cases[r.case_id]) for r in results]
                    scored.parent.mkdir(parents=True, exist_ok=True)
                    tmp = scored.with_name(f".{scored.name}.tmp")
                    tmp.write_text(json.dumps(table_rows, indent=1))
                    os.replace(tmp, scored)
                    timing.setdefault("generate_s", {})[f"{name}__{arm}"] = t1 - t0
                    timing.setdefault("score_s", {})[f"{name}__{arm}"] = time.perf_counter() - t1
                    save_state()
                rows[(name, arm)] = json.loads(scored.read_text())

    # 4. figures
    main_arms = [arm_name(c, args.cfg_scale) for c in ("asserted", "true")]
    per_weight, per_model, table_rows = {}, {}, []
    for weight in weights:
        names = [model_name(weight, s) for s in seeds]
        pooled = {arm: [r for n in names for r in rows[(n, arm)]] for arm in main_arms}
        for caption, arm in zip(("asserted", "true"), main_arms, strict=True):
            per_weight[(weight, caption)] = summarise(pooled[arm])
            for seed, n in zip(seeds, names, strict=True):
                per_model[(weight, seed, caption)] = summarise(rows[(n, arm)])
        pull = bootstrap_paired_difference(
            [r["follows_asserted"] for r in pooled[main_arms[0]]],
            [r["follows_asserted"] for r in pooled[main_arms[1]]],
        )
        label = f"failure weight {weight:g} ({len(names)} seed{'s' * (len(names) > 1)})"
        table_rows.append((f"{label}, conflicting caption", per_weight[(weight, "asserted")], pull))
        table_rows.append((f"{label}, true caption", per_weight[(weight, "true")], None))
    caption_rows = []
    if caption_model is not None:
        for cfg in (args.cfg_scale, 1.0):
            for caption in CAPTIONS:
                key = (caption_model, arm_name(caption, cfg))
                caption_rows.append((f"{caption} caption, CFG {cfg:g}", summarise(rows[key]), None))
    plot(weights, per_weight, per_model, work / "optimism.png")
    clip_folders = {
        model_name(w, seeds[0]): work / "clips" / model_name(w, seeds[0]) / main_arms[0]
        for w in weights
    }
    shown = hoop_page(
        work,
        truth,
        clip_folders,
        {n: rows[(n, main_arms[0])] for n in clip_folders},
        work / "hoop.html",
    )
    timing["study_wall_s_this_call"] = time.perf_counter() - started
    state["summaries"] = {
        f"{label}": {"summary": s, "pull": p} for label, s, p in table_rows + caption_rows
    }
    save_state()

    training_min = (
        timing["data_s"] + timing["autoencoders_s"] + sum(timing["models"].values())
    ) / 60
    sampling_min = (sum(timing["generate_s"].values()) + sum(timing["score_s"].values())) / 60
    counts = {f: sum(c.family == f for c in truth_cases.values()) for f in failure_families}
    failures = sum(
        c.outcome in families_lib.FAILURE_OUTCOMES[c.family] for c in truth_cases.values()
    )
    text = [
        f"#### Failure-state mixture study: {args.config} ({datetime.date.today()})",
        "",
        f"- machine: {machine()}, {os.cpu_count()} cores",
        f"- command: `{command_line('failure_mix.py', argv)}`",
        f"- {timing['data_note']}; autoencoders shared, {timing['autoencoders_s'] / 60:.1f} min; "
        f"transformer {args.steps} steps per model; training {training_min:.1f} min in all, "
        f"generation and scoring {sampling_min:.1f} min; sampler {args.sampler_steps} steps",
        f"- {len(truth_cases)} conflict cases (export seed {args.seed}; "
        + ", ".join(f"{f} {n}" for f, n in counts.items())
        + f"; in {failures} physics produces the failure and the caption asserts the success)",
        f"- plot: `{work / 'optimism.png'}`; hoop cases looked at and listened to "
        f"({shown}): `{work / 'hoop.html'}`",
        "",
        'Means over cases with 95% bootstrap intervals (seeds pooled). "Follows the asserted '
        'outcome" with the conflicting caption is the optimism rate; with the true caption it '
        "is how often the counterfactual outcome appears unprompted; the caption's pull is "
        "their paired difference. Impossible: the asserted outcome reached by a teleport or "
        "through a wall.",
        "",
        *table(table_rows),
        "",
    ]
    if caption_rows:
        text += [
            f"The caption at sampling, model {caption_model}:",
            "",
            *table(caption_rows),
            "",
        ]
    publish("\n".join(text), append=not args.no_append)
    return 0


if __name__ == "__main__":
    sys.exit(main())
