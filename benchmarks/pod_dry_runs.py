r"""Per-chip memory, FLOPs and compile time of experiment configs on TPU slices, from CPU.

    JAX_PLATFORMS=cpu python benchmarks/pod_dry_runs.py [--no-append] \
        [--case experiments/pod_1b_v5p512.py@v5p-512 ...]

Each case is CONFIG@SLICE[#override,override...]; by default the pod config on the
slice it was written for, on a smaller v5p and on a v6e slice, and one that must not
fit. Runs `worldsim.train.dry_run` (the real sharded train step, compiled by libtpu on
this CPU), prints a table and appends it to benchmarks/RESULTS.md with the machine,
date and command. Needs libtpu (`pip install -e .[tpu]`).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import io
import pathlib
import platform
import sys
import time

RESULTS = pathlib.Path(__file__).with_name("RESULTS.md")
POD = "experiments/pod_1b_v5p512.py"
DEFAULT_CASES = (
    f"{POD}@v5p-512",
    f"{POD}@v5p-128",
    f"{POD}@v6e-256",
    f"{POD}@v5e-256#--config.data.batch_size=4096,--config.model.remat=none",
)


def run_case(case: str) -> dict:
    from worldsim.recipes import dry_run_task, moved_fields
    from worldsim.train.config import load_config
    from worldsim.train.dry_run import dry_run

    spec, _, overrides = case.partition("#")
    config_path, _, topology = spec.partition("@")
    extra = [o for o in overrides.split(",") if o]
    config, _ = load_config(["--config", config_path, *extra], moved_fields=moved_fields)
    config, task = dry_run_task(config)  # the recipe of model.kind: (engine config, Task)
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        report = dry_run(config, task, topology)
    seconds = time.perf_counter() - start
    print(printed.getvalue())
    gib = 2**30
    return {
        "case": f"`{pathlib.Path(config_path).name}` {' '.join(extra)}".strip(),
        "slice": report.slice.name,
        "chips": report.slice.num_chips,
        "batch": int(config.data.batch_size),
        "fits": "fits" if report.fits else "**does not fit**",
        "args": f"{report.argument_bytes / gib:.3f}",
        "peak": f"{report.peak_bytes / gib:.2f} / {report.slice.hbm_bytes_per_chip / gib:.2f}",
        "flops": f"{report.flops:.3e}" if report.flops else "-",
        "seconds": f"{seconds:.0f}",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", action="append", help="CONFIG@SLICE[#override,...]")
    parser.add_argument("--no-append", action="store_true", help="do not append to RESULTS.md")
    args = parser.parse_args()
    rows = [run_case(case) for case in (args.case or DEFAULT_CASES)]
    lines = [
        f"### Pod dry runs: the real train step compiled for TPU slices on CPU ({datetime.date.today()})",
        "",
        f"- machine: {platform.node()}, {platform.machine()}, Python {platform.python_version()}",
        "- command: `"
        + " ".join(["JAX_PLATFORMS=cpu python benchmarks/pod_dry_runs.py", *sys.argv[1:]])
        + "`",
        "- per chip: arguments (state + batch shard), XLA's peak against the HBM libtpu allows;"
        " FLOPs per step per chip, scan-corrected from unrolled 1- and 2-layer compiles;"
        " seconds: wall time of the dry run (all compiles)",
        "",
        "| config | slice | chips | global batch | result | args GiB | peak / HBM GiB | FLOPs/chip | s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['case']} | {r['slice']} | {r['chips']} | {r['batch']} | {r['fits']} | "
            f"{r['args']} | {r['peak']} | {r['flops']} | {r['seconds']} |"
        )
    table = "\n".join(lines) + "\n"
    print(table)
    if not args.no_append:
        with RESULTS.open("a") as results:
            results.write("\n" + table)
        print(f"appended to {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
