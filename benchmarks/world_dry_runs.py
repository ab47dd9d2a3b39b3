r"""Per-chip memory, FLOPs and compile time of the world model's pod configs, from CPU.

    JAX_PLATFORMS=cpu python benchmarks/world_dry_runs.py [--no-append] \
        [--case experiments/wm_b_v5p128.py@v5p-128 ...]

Each case is CONFIG@SLICE[#override,override...] as in benchmarks/pod_dry_runs.py; by
default the two world-model pod configs on the slices they were written for. Sizes the
transformer stage the way `worldsim train --dry-run` does (`worldsim.recipes.dry_run_task`:
the av_dit stage's config, `stages.av_dit` applied, and its task), runs
`worldsim.train.dry_run` (the real sharded train step, compiled by libtpu on this CPU),
prints a table and appends it to benchmarks/RESULTS.md with the machine, date and
command. Needs libtpu (`pip install -e .[tpu]`).
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

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from pod_dry_runs import RESULTS  # noqa: E402  (same file, same table conventions)

DEFAULT_CASES = (
    "experiments/wm_b_v5p128.py@v5p-128",
    "experiments/wm_xl_v5p2048.py@v5p-2048",
)


def run_case(case: str) -> dict:
    """`pod_dry_runs.run_case` for a world-model config: the av_dit stage's config."""
    from worldsim.parallel import resolve_mesh_shape
    from worldsim.recipes import dry_run_task, moved_fields
    from worldsim.train.config import load_config
    from worldsim.train.dry_run import dry_run

    spec, _, overrides = case.partition("#")
    config_path, _, topology = spec.partition("@")
    extra = [o for o in overrides.split(",") if o]
    config, _ = load_config(["--config", config_path, *extra], moved_fields=moved_fields)
    # The recipe's (engine config, Task): for the world model, the av_dit stage's config
    # (stages.av_dit applied) and the transformer's task, as `worldsim train --dry-run`.
    config, task = dry_run_task(config)
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        report = dry_run(config, task, topology)
    seconds = time.perf_counter() - start
    text = printed.getvalue()
    print(text)
    params = next(
        (
            line.split(", ")[1].split()[0]
            for line in text.splitlines()
            if line.startswith("dry run:")
        ),
        "-",
    )
    gib = 2**30
    return {
        "case": f"`{pathlib.Path(config_path).name}` {' '.join(extra)}".strip(),
        "preset": str(config.model.preset),
        "params": params,
        "slice": report.slice.name,
        "chips": report.slice.num_chips,
        "mesh": "x".join(
            str(v) for v in resolve_mesh_shape(dict(config.mesh), report.slice.num_chips)
        ),
        "batch": int(config.data.batch_size),
        "fits": "fits" if report.fits else "**does not fit**",
        "args": f"{report.argument_bytes / gib:.3f}",
        "peak": f"{report.peak_bytes / gib:.2f} / {report.slice.hbm_bytes_per_chip / gib:.2f}",
        "flops": f"{report.flops:.3e}" if report.flops else "-",
        "compile": f"{report.compile_seconds:.0f}",
        "seconds": f"{seconds:.0f}",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", action="append", help="CONFIG@SLICE[#override,...]")
    parser.add_argument("--no-append", action="store_true", help="do not append to RESULTS.md")
    args = parser.parse_args()
    rows = [run_case(case) for case in (args.case or DEFAULT_CASES)]
    lines = [
        "### World model dry runs: the transformer stage's train step compiled for TPU "
        f"slices on CPU ({datetime.date.today()})",
        "",
        f"- machine: {platform.node()}, {platform.machine()}, Python {platform.python_version()}",
        "- command: `"
        + " ".join(["JAX_PLATFORMS=cpu python benchmarks/world_dry_runs.py", *sys.argv[1:]])
        + "`",
        "- `stages.av_dit` applied (as `worldsim train --dry-run` does); params: transformer +"
        " text encoder; mesh: data x fsdp x tensor x sequence; per chip: arguments (state +"
        " batch shard), XLA's peak against the HBM libtpu allows; FLOPs per step per chip,"
        " scan-corrected from unrolled 1- and 2-layer compiles; compile s: the main step's"
        " compile; total s: wall time of the dry run (all three compiles)",
        "",
        "| config | preset | params | slice | chips | mesh | global batch | result | args GiB "
        "| peak / HBM GiB | FLOPs/chip | compile s | total s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['case']} | {r['preset']} | {r['params']} | {r['slice']} | {r['chips']} | "
            f"{r['mesh']} | {r['batch']} | {r['fits']} | {r['args']} | {r['peak']} | "
            f"{r['flops']} | {r['compile']} | {r['seconds']} |"
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
