"""Run one function over many cases in worker processes, results in input order.

Export and scoring are per case and independent, CPU-bound NumPy/ffmpeg work: processes
(spawned, so no state of the parent, such as an initialised accelerator runtime, is
copied into them) each take a case at a time. workers=1 runs in this process, with no
pool at all, so a traceback points at the failing line.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any


def parallel_map(
    fn: Callable[[Any], Any],
    items: Sequence[Any],
    *,
    workers: int = 1,
    desc: str = "",
    unit: str = "case",
    progress: bool = True,
) -> Iterator[Any]:
    """Yield fn(item) for every item, in order; `fn` must be a module-level function."""
    from worldsim.console import progress as progress_bar

    if workers < 1:
        raise ValueError(f"--workers must be >= 1, got {workers}")
    with progress_bar(total=len(items), desc=desc, unit=unit, disable=not progress) as bar:
        if workers == 1 or len(items) <= 1:
            for item in items:
                yield fn(item)
                bar.update(1)
            return
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(min(workers, len(items)), mp_context=context) as pool:
            for result in pool.map(fn, items):
                yield result
                bar.update(1)
