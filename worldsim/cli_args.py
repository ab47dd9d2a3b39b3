"""Arguments several `worldsim` subcommands share: the clip format and the family list.

Kept free of heavy imports so `worldsim --help` stays instant.
"""

from __future__ import annotations

import argparse

FAMILIES = (
    "throw",
    "bounce",
    "collide",
    "hoop",
    "ramp",
    "tower",
)  # checked in tests against physics


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
    group.add_argument("--width", type=int, default=64, help="frame width in pixels (default 64)")
    group.add_argument("--height", type=int, default=64, help="frame height in pixels (default 64)")
    group.add_argument("--fps", type=int, default=16, help="frames per second (default 16)")
    group.add_argument("--seconds", type=float, default=2.0, help="clip length (default 2.0)")
    group.add_argument(
        "--sample-rate", type=int, default=16_000, help="audio sample rate in Hz (default 16000)"
    )


def parse_families(text: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.replace(",", " ").split() if name.strip())
    unknown = [name for name in names if name not in FAMILIES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown family {unknown or text!r}; choose from {', '.join(FAMILIES)}"
        )
    return names
