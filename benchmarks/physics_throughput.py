"""Physics-world throughput and outcome balance, per family, on one core.

    python benchmarks/physics_throughput.py [--clips-per-family 50] [--seed 0] [--no-append]

Measures, for the default clip (64x64, 16 fps, 2 s, 16 kHz): clips per second for the whole
`make_clip` (simulate + render + sound + caption) and for each stage, and the outcome share
per family over in-range and out-of-range parameters. Prints a table and appends it to
benchmarks/RESULTS.md with the machine, date and command. Pin to one core with
`taskset -c 0` for a one-core figure (the script also reports its CPU affinity).
"""

from __future__ import annotations

import argparse
import collections
import datetime
import os
import pathlib
import platform
import sys
import time

import numpy as np

from worldsim.physics import families as families_lib
from worldsim.physics.captions import make_caption
from worldsim.physics.render import render_video
from worldsim.physics.simulate import simulate
from worldsim.physics.sound import synthesize
from worldsim.physics.types import RenderConfig

RESULTS = pathlib.Path(__file__).with_name("RESULTS.md")


def measure_family(family: str, count: int, seed: int, out_of_range: bool, config: RenderConfig):
    """Time each stage over `count` clips and count outcomes."""
    seconds = collections.Counter()
    outcomes = collections.Counter()
    for i in range(count):
        rng = np.random.default_rng([seed, i, int(out_of_range)])
        params = families_lib.sample_params(family, rng, out_of_range)
        start = time.perf_counter()
        traj = simulate(family, params, config)
        simulated = time.perf_counter()
        render_video(traj, config)
        rendered = time.perf_counter()
        synthesize(traj, config, rng)
        sounded = time.perf_counter()
        make_caption(family, params, traj, rng)
        captioned = time.perf_counter()
        seconds["simulate"] += simulated - start
        seconds["render"] += rendered - simulated
        seconds["sound"] += sounded - rendered
        seconds["caption"] += captioned - sounded
        outcomes[traj.outcome] += 1
    return seconds, outcomes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clips-per-family", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-append", action="store_true", help="do not append to RESULTS.md")
    args = parser.parse_args()
    config = RenderConfig()
    n = args.clips_per_family
    rows = []
    total_seconds, total_clips = 0.0, 0
    for family in families_lib.FAMILIES:
        seconds, outcomes = measure_family(family, n, args.seed, False, config)
        _, ood_outcomes = measure_family(family, n, args.seed, True, config)
        clip_seconds = sum(seconds.values())
        total_seconds += clip_seconds
        total_clips += n
        share = ", ".join(f"{k} {100 * v / n:.0f}%" for k, v in sorted(outcomes.items()))
        ood_share = ", ".join(f"{k} {100 * v / n:.0f}%" for k, v in sorted(ood_outcomes.items()))
        stage_ms = " / ".join(
            f"{1e3 * seconds[s] / n:.1f}" for s in ("simulate", "render", "sound")
        )
        rows.append(f"| {family} | {n / clip_seconds:.1f} | {stage_ms} | {share} | {ood_share} |")
    header = [
        f"### Physics world throughput ({datetime.date.today()})",
        "",
        f"- machine: {platform.node()}, {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}, CPU affinity {sorted(os.sched_getaffinity(0))}",
        f"- command: `{' '.join([os.path.basename(sys.executable), *sys.argv])}`",
        f"- clip: {config.width}x{config.height}, {config.fps} fps, {config.seconds} s, "
        f"{config.sample_rate} Hz, {config.substeps_per_frame} physics substeps per frame; "
        f"{n} clips per family and split",
        f"- overall: **{total_clips / total_seconds:.1f} clips/s** (in-range, all families)",
        "",
        "| family | clips/s | ms simulate / render / sound | outcomes in-range | outcomes out-of-range |",
        "|---|---|---|---|---|",
    ]
    table = "\n".join(header + rows) + "\n"
    print(table)
    if not args.no_append:
        with RESULTS.open("a") as results:
            results.write("\n" + table)
        print(f"appended to {RESULTS}")


if __name__ == "__main__":
    main()
