"""`worldsim train`: one dispatch from the config to its recipe, the dataset resolved once.

config -> recipe (worldsim.recipes.<model.kind>) -> settings checked -> workdir checked
       and locked -> dataset resolved -> recipe.train(config, workdir, data_dir=...)
"""

from __future__ import annotations

import argparse
import os
import socket

from worldsim.cli.args import HelpFormatter

EPILOG = """\
config flags (parsed by ml_collections):
  --config PATH[:ARG]        experiment file with get_config(arg), e.g.
                             experiments/tiny_cpu.py or experiments/tiny_cpu.py:smoke
  --config.FIELD=VALUE       override any field the config has, e.g.
                             --config.stages.av_dit.steps=200 (world model) or
                             --config.train.steps=200 (frame predictor); an unknown field
                             is an error that names it, or names the field to use instead

exit status: 0 done (or stopped at --stop-at), 1 the dry run does not fit,
  2 bad input (one line on stderr), 128 + signal when interrupted (130 SIGINT, 143 SIGTERM)

examples:
  worldsim train --config experiments/tiny_cpu.py --workdir runs/tiny
  XLA_FLAGS=--xla_force_host_platform_device_count=8 worldsim train \\
      --config experiments/tiny_cpu.py --workdir runs/tiny8 \\
      --config.mesh.data=2 --config.mesh.fsdp=2 --config.mesh.tensor=2
  worldsim train --config experiments/pod_1b_v5p512.py --dry-run --topology v5p-512
"""


def run(args: argparse.Namespace) -> int:
    from worldsim.parallel import maybe_initialize
    from worldsim.recipes import recipe_for, train_from_config

    config = args.config
    recipe = recipe_for(config)
    if args.dry_run:
        import jax

        # Compile-only TPU devices sit beside the CPU backend; keeping JAX's own backend
        # on the CPU stops libtpu from probing for a chip (noise on stderr, a lock file).
        jax.config.update("jax_platforms", "cpu")
        from worldsim.train.dry_run import dry_run

        engine_config, task = recipe.dry_run_task(config)
        return 0 if dry_run(engine_config, task, args.topology).fits else 1

    recipe.validate(config)  # every config problem, before any device or file is touched
    from worldsim.train.lock import check_writable_dir, workdir_lock

    workdir = check_writable_dir(args.workdir, what="--workdir")
    # Joins the process group before anything touches a device (no-op for one process).
    maybe_initialize(args.coordinator, args.num_processes, args.process_id)
    import jax

    recipe.validate(config, num_devices=jax.device_count())  # the mesh, before any data

    run_id = args.coordinator or os.environ.get("WORLDSIM_COORDINATOR") or socket.gethostname()
    with workdir_lock(
        workdir,
        process_index=jax.process_index(),
        process_count=jax.process_count(),
        run_id=run_id,
    ):
        result = train_from_config(config, workdir, stop_at=args.stop_at, verbose=args.verbose)
    if result.signal is not None:
        return 128 + int(result.signal)
    return 0


def add_parser(commands, common: argparse.ArgumentParser) -> None:
    train = commands.add_parser(
        "train",
        parents=[common],
        help="train from an experiment config (resumes from the workdir)",
        formatter_class=HelpFormatter,
        description=(
            "Train the model of an experiment config on a device mesh. Checkpoints, "
            "metrics.jsonl and TensorBoard events go to --workdir; starting the same command "
            "again resumes from the newest readable checkpoint. SIGTERM/SIGINT save and exit "
            "non-zero. A workdir in use by another run is refused (a lock names its process)."
        ),
        epilog=EPILOG,
    )
    train.add_argument("--workdir", help="run directory: checkpoints, metrics, config")
    train.add_argument(
        "--stop-at",
        type=int,
        metavar="STEP",
        help="save and exit after this step (jobs of bounded length; the learning-rate "
        "schedule still follows the configured steps); run again to continue",
    )
    train.add_argument(
        "--dry-run",
        action="store_true",
        help="compile the sharded train step for --topology on this machine, print per-chip "
        "memory and FLOPs, and exit (needs libtpu: pip install -e .[tpu])",
    )
    train.add_argument(
        "--topology",
        help="TPU slice for --dry-run: v5p-128, v5p-512, v5p-2048, v6e-256, v5e-256, ...",
    )
    group = train.add_argument_group(
        "multi-process (or $WORLDSIM_COORDINATOR, $WORLDSIM_NUM_PROCESSES, $WORLDSIM_PROCESS_ID)"
    )
    group.add_argument("--coordinator", help="host:port of process 0")
    group.add_argument("--num-processes", type=int, help="number of processes")
    group.add_argument("--process-id", type=int, help="this process's index")
    train.set_defaults(handler=run)


def parse(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    """`train` takes ml_collections config flags, which argparse cannot parse: they go first."""
    if any(a in ("-h", "--help") for a in argv[1:]):
        return parser.parse_args(argv)  # prints help and exits
    from worldsim.recipes import moved_fields
    from worldsim.train.config import load_config

    config, rest = load_config(argv[1:], moved_fields=moved_fields)
    args = parser.parse_args([argv[0], *rest])
    if args.dry_run and not args.topology:
        parser.error("--dry-run needs --topology (e.g. v5p-512)")
    if not args.dry_run and not args.workdir:
        parser.error("train needs --workdir DIR")
    if args.stop_at is not None and args.stop_at < 1:
        parser.error(f"--stop-at must be >= 1, got {args.stop_at}")
    args.config = config
    return args
