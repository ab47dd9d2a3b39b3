"""What the console shows while long work runs: progress that suits where it is shown.

On a terminal, a tqdm bar. Anywhere else (a log file, CI, `nohup`, a pipe) a bar's carriage
returns and cursor escapes pile up as junk, so `progress` prints plain lines instead:

    physics_clips train: 12/40 clips (30%) 3.2 s elapsed

at most one per tenth of the total or per `PLAIN_EVERY_S` seconds, and one at the end.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any

PLAIN_EVERY_S = 30.0


def progress(
    iterable: Iterable | None = None,
    *,
    total: int | None = None,
    desc: str = "",
    unit: str = "it",
    disable: bool = False,
    file: IO[str] | None = None,
) -> Any:
    """A progress bar over `iterable` (or updated by hand with `.update(n)`).

    Returns tqdm on a terminal, else a `PlainProgress`; both iterate, `update`, `close`,
    `set_postfix` and work as context managers. file: where it prints (default stderr).
    """
    file = sys.stderr if file is None else file
    if not disable and _is_terminal(file):
        from tqdm import tqdm

        return tqdm(iterable, total=total, desc=desc, unit=unit, file=file)
    return PlainProgress(iterable, total=total, desc=desc, unit=unit, disable=disable, file=file)


def _is_terminal(file: IO[str]) -> bool:
    try:
        return file.isatty()
    except (AttributeError, ValueError):  # no isatty, or closed
        return False


class PlainProgress:
    """tqdm's interface as used here, printing whole lines (no '\\r', no escape codes)."""

    def __init__(
        self,
        iterable: Iterable | None = None,
        *,
        total: int | None = None,
        desc: str = "",
        unit: str = "it",
        disable: bool = False,
        file: IO[str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        if total is None and iterable is not None and hasattr(iterable, "__len__"):
            total = len(iterable)
        self.iterable = iterable
        self.total = total
        self.desc = desc
        self.unit = unit
        self.disable = disable
        self.file = sys.stderr if file is None else file
        self.n = 0
        self._clock = clock
        self._start = self._last_t = clock()
        self._last_n = 0
        self._postfix = ""
        self._closed = False

    def __iter__(self) -> Iterator:
        try:
            for item in self.iterable:
                yield item
                self.update(1)
        finally:
            self.close()

    def __len__(self) -> int:
        return self.total if self.total is not None else len(self.iterable)

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def update(self, n: int = 1) -> None:
        self.n += n
        if self.disable:
            return
        now = self._clock()
        tenth = self.total / 10 if self.total else None
        if (
            (tenth is not None and self.n - self._last_n >= tenth)
            or (self.total is not None and self.n >= self.total > self._last_n)
            or now - self._last_t >= PLAIN_EVERY_S
        ):
            self._print(now)

    def set_postfix(self, ordered_dict: dict | None = None, refresh: bool = True, **kwargs):
        del refresh  # shown with the next line
        items = {**(ordered_dict or {}), **kwargs}
        self._postfix = ", ".join(f"{k}={_short(v)}" for k, v in items.items())

    def set_description(self, desc: str = "", refresh: bool = True) -> None:
        del refresh
        self.desc = desc

    def close(self) -> None:
        """Print the final count (unless the last line already showed it)."""
        if self._closed:
            return
        self._closed = True
        if not self.disable and (self.n != self._last_n or self.n == 0):
            self._print(self._clock())

    def _print(self, now: float) -> None:
        count = f"{self.n}/{self.total} {self.unit}" if self.total else f"{self.n} {self.unit}"
        if self.total:
            count += f" ({100 * self.n / self.total:.0f}%)"
        line = f"{self.desc}: {count}" if self.desc else count
        line += f" {now - self._start:.1f} s elapsed"
        if self._postfix:
            line += f", {self._postfix}"
        print(line, file=self.file, flush=True)
        self._last_n, self._last_t = self.n, now


def _short(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
