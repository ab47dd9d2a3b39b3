"""`worldsim` command line: one module per command, thin wrappers over importable functions.

    worldsim data build physics_clips --out DIR [--num-clips N] [--seed S] [--families ...]
    worldsim data build video_folder --src FOLDER --out DIR
    worldsim data show DIR --split SPLIT --index I --out FILE.mp4
    worldsim data stats DIR
    worldsim data tokenizer DIR [--vocab-size N]
    worldsim train --config experiments/NAME.py[:ARG] --workdir DIR [--config.a.b=V ...]
    worldsim train --config experiments/NAME.py --dry-run --topology v5p-512
    worldsim generate --workdir RUN --prompt "..." [--seconds S] [--init-video F --init-frames K]
                      [--reference NAME|F] [--previous-shot F] [--num-samples N] --out OUT.mp4
                      [--no-watermark] [--signing-dir DIR] [--registry DB] [--prompt-filter F]
    worldsim demo --workdir RUN [--out DIR]
    worldsim bench export --out CASES --truth-out TRUTH [--num-cases N] [--seed S]
    worldsim bench score --cases-dir CASES --truth-dir TRUTH --videos-dir CLIPS --out REPORT
    worldsim bench run --workdir RUN --out REPORT [--cases-dir CASES] [--num-cases N]
    worldsim bench baseline|corrupt --truth-dir TRUTH --kind KIND --out CLIPS
    worldsim provenance keygen --out DIR | verify FILE
    worldsim cameo register --name NAME --clip F --consent-by WHO | list | revoke NAME | history NAME

One vocabulary of flags: a run is `--workdir`, a folder of cases `--cases-dir`, a count
`--num-*`, what is written `--out`. Nothing heavy (JAX, TFDS, grain, imageio) is
imported before the arguments are parsed, so `--help` returns at once. Errors the user
can act on print one line on stderr and exit with status 2 (`--verbose` adds the
traceback); an interrupted `train` exits 128 + the signal number (130, 143).
"""

from __future__ import annotations

import argparse
import sys
import traceback
import warnings
from collections.abc import Sequence

from worldsim.cli import bench, cameo, data, demo, generate, provenance, train
from worldsim.cli.args import FAMILIES, common_parser  # noqa: F401 (FAMILIES: checked in tests)
from worldsim.cli.bench import BASELINES, CORRUPTIONS  # noqa: F401 (checked in tests)

COMMANDS = (data, train, generate, demo, bench, provenance, cameo)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="worldsim",
        description=(
            "worldsim: a physics-aware audio-video world simulator "
            "(data, train, generate, demo, bench, provenance, cameo)."
        ),
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    common = common_parser()
    for module in COMMANDS:
        module.add_parser(commands, common)
    return parser


def _user_errors() -> tuple[type[BaseException], ...]:
    """Exceptions whose message is for the user (imported only once something failed)."""
    errors: list[type[BaseException]] = [FileNotFoundError, NotADirectoryError, PermissionError]
    from worldsim.errors import WorldsimError

    errors.append(WorldsimError)
    if "worldsim.train.settings" in sys.modules:
        errors.append(sys.modules["worldsim.train.settings"].ConfigError)
    if "worldsim.media.video_io" in sys.modules:
        errors.append(sys.modules["worldsim.media.video_io"].MediaError)
    return tuple(errors)


def _skip_absent_tpu() -> None:
    """With libtpu installed (`make test`, `.[tpu]`) but no TPU attached, JAX's TPU probe
    prints a dozen lines of libtpu errors on every start. Where no TPU device node exists
    and the user has not chosen platforms, leave the TPU out of JAX's platforms; dry runs
    still compile for TPU slices (they use compile-only topology devices)."""
    import glob
    import importlib.util
    import os

    if "JAX_PLATFORMS" in os.environ or importlib.util.find_spec("libtpu") is None:
        return
    if glob.glob("/dev/accel*") or glob.glob("/dev/vfio/[0-9]*"):
        return
    os.environ["JAX_PLATFORMS"] = "cuda,cpu"  # a GPU when there is one, else the CPU


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> str:
    return f"worldsim: warning: {message}\n"


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--verbose" not in argv:
        warnings.formatwarning = _one_line_warning  # where it came from: --verbose
    _skip_absent_tpu()
    parser = build_parser()
    verbose = "--verbose" in argv
    try:
        args = train.parse(parser, argv) if argv[:1] == ["train"] else parser.parse_args(argv)
        return args.handler(args)
    except Exception as error:
        if not isinstance(error, (*_user_errors(), ValueError, KeyError, OSError)):
            raise  # a bug: keep its traceback
        if verbose:
            traceback.print_exc()
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        if isinstance(error, OSError) and error.filename and error.strerror:
            message = f"{error.filename}: {error.strerror}"
        lines = [line.strip() for line in str(message).strip().splitlines() if line.strip()]
        text = " ".join(lines)
        if len(text) > 600 and not verbose:  # e.g. a tensorstore spec inside the message
            text = text[:580] + " [..] (--verbose shows all of it)"
        print(f"worldsim: error: {text}", file=sys.stderr)
        return 2
