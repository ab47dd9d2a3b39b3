"""`worldsim demo --workdir RUN [--out DIR]`: the demo page of a trained world model."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from worldsim.cli.args import HelpFormatter, add_sampler_flags, positive_int, world_run_facts


def run(args: argparse.Namespace) -> int:
    from worldsim.errors import WorldsimError
    from worldsim.train.lock import check_writable_dir

    workdir = Path(args.workdir)
    data_dir = Path(world_run_facts(workdir)["data"]["dir"])
    if not data_dir.is_dir():
        raise WorldsimError(
            f"the run's dataset {data_dir} (data.dir in {workdir / 'config.json'}) is not "
            f"there: build it with `worldsim data build physics_clips --out {data_dir}`"
        )
    out = check_writable_dir(args.out or workdir.parent / f"{workdir.name}-demo", what="--out")

    from worldsim.world.demo import build_demo

    figures = build_demo(
        workdir,
        out,
        num_clips=args.num_clips,
        steps=args.steps,
        solver=args.solver,
        cfg_scale=args.cfg_scale,
    )
    print(json.dumps(figures, indent=1))
    print(f"open {figures['page']}")
    return 0


def add_parser(commands, common: argparse.ArgumentParser) -> None:
    demo = commands.add_parser(
        "demo",
        parents=[common],
        help="the demo page of a trained world model (clips with sound beside the simulator)",
        formatter_class=HelpFormatter,
        description=(
            "For a few validation clips of the run's own dataset (data.dir in the run's "
            "config.json): the simulator's clip, a sample from its caption and a sample given "
            "its first frames, with sound, on one page (OUT/index.html) with demo.json. "
            "The run directory is only read."
        ),
    )
    demo.add_argument("--workdir", required=True, help="run directory of `worldsim train`")
    demo.add_argument("--out", help="folder for index.html and the clips (default: RUN-demo)")
    demo.add_argument("--num-clips", type=positive_int, default=3, help="validation clips shown")
    add_sampler_flags(demo)
    demo.set_defaults(handler=run)
