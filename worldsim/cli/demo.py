"""`worldsim demo --workdir RUN [--out DIR]`: the demo page of a trained world model."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from worldsim.cli.args import HelpFormatter, add_sampler_flags, positive_int


def run(args: argparse.Namespace) -> int:
    from worldsim.errors import WorldsimError
    from worldsim.train.lock import check_writable_dir

    workdir = Path(args.workdir)
    config = workdir / "config.json"
    if not config.is_file():
        raise WorldsimError(f"--workdir {workdir}: not a `worldsim train` run (no config.json)")
    data_dir = Path(json.loads(config.read_text())["data"]["dir"])
    if not data_dir.is_dir():
        raise WorldsimError(
            f"the run's dataset {data_dir} (data.dir in {config}) is not there: build it with "
            f"`worldsim data build physics_clips --out {data_dir}`"
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
