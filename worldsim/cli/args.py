"""Flags several `worldsim` subcommands share: --verbose, the clip format, families, cases.

Kept free of heavy imports so `--help` stays instant.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

FAMILIES = (
    "throw",
    "bounce",
    "collide",
    "hoop",
    "ramp",
    "tower",
)  # checked in tests against physics


class HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Descriptions and epilogs as written, and each flag's default in its help (where it
    has one worth saying: not for required flags, switches or unset options)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        unset = default is None or default is False or default == [] or default == argparse.SUPPRESS
        if unset or "(default" in text:
            return text
        return super()._get_help_string(action)


def common_parser() -> argparse.ArgumentParser:
    """Flags every subcommand takes (given as `parents=`)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--verbose", action="store_true", help="more detail: tracebacks on errors, shardings"
    )
    return common


def render_config(args: argparse.Namespace):
    from worldsim.physics.types import RenderConfig

    return RenderConfig(
        width=args.width,
        height=args.height,
        fps=args.fps,
        seconds=args.seconds,
        sample_rate=args.sample_rate,
    )


def add_render_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("clip format")
    group.add_argument("--width", type=int, default=64, help="frame width in pixels")
    group.add_argument("--height", type=int, default=64, help="frame height in pixels")
    group.add_argument("--fps", type=int, default=16, help="frames per second")
    group.add_argument("--seconds", type=float, default=2.0, help="clip length in seconds")
    group.add_argument("--sample-rate", type=int, default=16_000, help="audio sample rate in Hz")


def parse_families(text: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.replace(",", " ").split() if name.strip())
    unknown = [name for name in names if name not in FAMILIES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown family {unknown or text!r}; choose from {', '.join(FAMILIES)}"
        )
    return names


def add_families_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--families",
        type=parse_families,
        default=FAMILIES,
        help=f"comma/space separated subset of: {', '.join(FAMILIES)}",
    )


def add_cases_dir_flag(parser: argparse.ArgumentParser, *, required: bool, help: str) -> None:
    """The model-facing folder written by `bench export --out`: the same flag everywhere."""
    parser.add_argument("--cases-dir", required=required, metavar="CASES", help=help)


def add_num_cases_flag(parser: argparse.ArgumentParser, default: int) -> None:
    parser.add_argument("--num-cases", type=int, default=default, help="number of cases")


def add_sampler_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("sampler")
    group.add_argument("--steps", type=positive_int, default=20, help="ODE steps")
    group.add_argument("--solver", choices=("euler", "heun"), default="heun", help="ODE solver")
    group.add_argument("--cfg-scale", type=float, default=3.0, help="classifier-free guidance")


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def world_run_facts(workdir: str | Path) -> dict:
    """The saved config of a trained world-model run (plain JSON: checked before any model
    code loads), or a one-line error naming --workdir."""
    from worldsim.errors import WorldsimError

    workdir = Path(workdir)
    config = workdir / "config.json"
    if not config.is_file():
        raise WorldsimError(f"--workdir {workdir}: not a `worldsim train` run (no config.json)")
    facts = json.loads(config.read_text())
    kind = facts.get("model", {}).get("kind")
    if kind != "world_model":
        raise WorldsimError(f"--workdir {workdir}: a {kind!r} run, not a world model (model.kind)")
    if not (workdir / "av_dit" / "checkpoints").is_dir():
        raise WorldsimError(f"--workdir {workdir}: the transformer stage has no checkpoint yet")
    return facts
