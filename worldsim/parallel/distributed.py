"""Multi-process start-up: one `jax.distributed.initialize` per host, or nothing.

JAX's multi-controller SPMD needs every process to join a coordinator before the
first device is touched. Launchers differ (SLURM, GKE, a local script), so the
arguments may come from flags or from `WORLDSIM_*` environment variables; with
neither, the run is single-process and this does nothing.
"""

import os

import jax

ENV_COORDINATOR = "WORLDSIM_COORDINATOR"
ENV_NUM_PROCESSES = "WORLDSIM_NUM_PROCESSES"
ENV_PROCESS_ID = "WORLDSIM_PROCESS_ID"


def _env_int(name: str) -> int | None:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else None


def maybe_initialize(
    coordinator: str | None = None,
    num_processes: int | None = None,
    process_id: int | None = None,
) -> bool:
    """Joins the process group if more than one process is configured.

    Arguments win over the environment. Returns True if it initialized. A single
    process (num_processes unset or 1) is a no-op, so the same entry point serves
    laptops, CI and pods.
    """
    coordinator = coordinator or os.environ.get(ENV_COORDINATOR) or None
    num_processes = num_processes if num_processes is not None else _env_int(ENV_NUM_PROCESSES)
    process_id = process_id if process_id is not None else _env_int(ENV_PROCESS_ID)
    if num_processes is None or num_processes <= 1:
        return False
    if coordinator is None or process_id is None:
        raise ValueError(
            f"{num_processes} processes need a coordinator address and a process id "
            f"(arguments or ${ENV_COORDINATOR} / ${ENV_PROCESS_ID})."
        )
    jax.distributed.initialize(
        coordinator_address=coordinator, num_processes=num_processes, process_id=process_id
    )
    return True


def is_main_process() -> bool:
    """True on process 0: the one that logs, writes configs and prints."""
    return jax.process_index() == 0
