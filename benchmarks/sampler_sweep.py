r"""The sampler's levers on one trained world model: the benchmark at each setting, same cases.

    python benchmarks/sampler_sweep.py --workdir runs/curve/run --cases runs/curve/cases \
        [--setting solver=heun,steps=20,cfg=3.0 ...] [--ema both] [--no-append]

For each setting (solver, steps, CFG scale, time-grid shift; EMA or raw parameters) every
case of an existing export (`learning_curve.py` writes one, as does `worldsim bench
export`) is generated first-frame conditioned (`generate_cases`, what `worldsim bench run`
does) into OUT/<setting>/ (default OUT: CASES/../sampler_sweep/<run folder name>; kept: a
rerun only scores) and scored with the learning curve's figures (`learning_curve.measure`).
Prints the table and appends it to benchmarks/RESULTS.md. Each case's noise is its own
(`case_seed`), so settings differ only
in the sampler. The learning curve samples heun, 20 steps, CFG 3 (the first default).
"""

from __future__ import annotations

import argparse
import datetime
import pathlib
import sys

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
DEFAULT_SETTINGS = ("solver=heun,steps=20,cfg=3.0", "solver=heun,steps=20,cfg=1.0")


def parse_setting(text: str) -> dict:
    """'solver=euler,steps=20,cfg=3.0' -> {'solver': 'euler', 'steps': 20, 'cfg': 3.0}."""
    out = {"solver": "heun", "steps": 20, "cfg": 3.0, "shift": 1.0}
    for item in text.split(","):
        key, sep, value = item.partition("=")
        if not sep or key not in out:
            raise SystemExit(
                f"--setting {text!r}: items are solver=, steps=, cfg=, shift= (got {item!r})"
            )
        out[key] = type(out[key])(value)
    return out


def setting_name(s: dict, use_ema: bool, *, label: bool = False) -> str:
    """A setting's folder name (or its table label): every field, so no two settings share
    a folder (a rerun only scores what a folder holds)."""
    if label:
        text = f"{s['solver']} {s['steps']} steps, CFG {s['cfg']}, shift {s['shift']}"
        return text + ("" if use_ema else ", raw")
    return f"{s['solver']}_{s['steps']}_cfg{s['cfg']}_shift{s['shift']}" + (
        "" if use_ema else "_raw"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workdir", required=True, help="a trained world model's run directory")
    parser.add_argument(
        "--cases", required=True, help="an export's cases folder (CASES-truth beside)"
    )
    parser.add_argument("--setting", action="append", help=f"default: {DEFAULT_SETTINGS}")
    parser.add_argument("--ema", choices=("ema", "raw", "both"), default="ema")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument(
        "--out", help="folder for the clips, one subfolder per setting (default: see above)"
    )
    parser.add_argument("--no-append", action="store_true")
    args = parser.parse_args(argv)
    settings = [parse_setting(s) for s in (args.setting or DEFAULT_SETTINGS)]
    cases = pathlib.Path(args.cases)
    truth = cases.with_name(cases.name + "-truth")
    for need in (cases / "manifest.json", truth / "truth_manifest.json"):
        if not need.is_file():
            raise SystemExit(f"sampler_sweep: {need} is missing (export cases first)")

    from learning_curve import measure, table
    from results import command_line, machine, publish

    from worldsim.bench.scoring import score_folder
    from worldsim.world.generate import SamplerConfig
    from worldsim.world.generate_cases import generate_cases

    out = pathlib.Path(args.out or cases.parent / "sampler_sweep" / pathlib.Path(args.workdir).name)
    emas = {"ema": [True], "raw": [False], "both": [True, False]}[args.ema]
    rows = []
    for s in settings:
        for use_ema in emas:
            label = setting_name(s, use_ema, label=True)
            name = setting_name(s, use_ema)
            videos = out / name
            sampler = SamplerConfig(
                steps=s["steps"], solver=s["solver"], cfg_scale=s["cfg"], shift=s["shift"]
            )
            generate_cases(
                args.workdir,
                cases,
                videos,
                sampler=sampler,
                batch_size=args.batch_size,
                use_ema=use_ema,
            )
            results, _ = score_folder(cases, truth, videos)
            rows.append((label, measure(results, truth)))
            print("\n".join(table(rows[-1:])), flush=True)
    command = command_line("sampler_sweep.py", argv)
    text = "\n".join(
        [
            f"#### Sampler levers: {args.workdir} ({datetime.date.today()})",
            "",
            f"- machine: {machine()}; command: `{command}`; cases: `{cases}`",
            "",
            *table(rows),
            "",
        ]
    )
    publish(text, append=not args.no_append)
    return 0


if __name__ == "__main__":
    sys.exit(main())
