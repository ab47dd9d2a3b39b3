"""Checkpointing: train state + data-iterator position + config, one directory per step.

A thin wrapper over ``orbax.checkpoint.CheckpointManager`` (orbax 0.12). Each step is
written as a Composite of items:

* one item per entry of the state mapping (the trainer's ``params``, ``ema``, ``opt``,
  ``rest``, ...), each any pytree of arrays, via ``ocp.args.StandardSave`` /
  ``StandardRestore``. Separate items let a reader restore only what it needs: generation
  reads ``ema`` and ``rest`` and never builds an optimizer (``worldsim.train.load``);
* ``data``   — a grain iterator's position, via ``grain.checkpoint.CheckpointSave`` /
  ``CheckpointRestore`` (optional; grain writes ``process_{i}-of-{n}.json``, so
  restoring needs the same process count);
* ``config`` — the resolved config as a JSON dict, via ``ocp.args.JsonSave``.

Why a checkpoint is never half-written: orbax writes every step into a temporary
directory (``<step>.orbax-checkpoint-tmp-*``) and only *after* all items are written
(and, for async saves, after the background write finishes) commits it with an atomic
rename to ``<step>``. ``all_steps()`` / ``latest_step()`` ignore temporary directories,
so a crash mid-save leaves at most an ignored tmp dir, never a step that looks
complete. Async saves return after the device->host copy; call ``wait()`` (or
``close()``, which waits) before reading a checkpoint back or exiting the process —
otherwise the newest step may not be committed yet.

Restoring onto a different mesh: ``restore(abstract_state)`` takes trees of
``jax.ShapeDtypeStruct`` carrying ``sharding=`` (e.g. ``nnx.eval_shape`` +
``nnx.get_named_sharding``) and orbax reads each array directly into those
shardings, whatever mesh wrote it.

Corruption (e.g. a truncated file after a disk-full or a bad copy) is handled on
restore: if the newest step cannot be read *because its files are damaged or missing*
(`is_corruption`), a one-line warning naming the step is emitted and the previous step
is tried, and so on; if none can be read a ``CheckpointError`` lists every step tried.
Any other error (out of memory, a transient I/O error, a bug) is raised as it is: it
says nothing about the checkpoint. A training run (the writer) then moves the
unreadable newer steps to ``<directory>.unreadable/`` (never deleted), so it can write
those step numbers again; a reader (``read_only=True``: generation, the demo, the
benchmark) changes nothing on disk and only skips them in memory.
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import os
import re
import shutil
import sys
import time
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import grain
import jax
import orbax.checkpoint as ocp
from jax.experimental import multihost_utils

from worldsim.errors import WorldsimError
from worldsim.train.config import config_to_json

PyTree = Any

__all__ = ["CheckpointError", "Checkpointer"]


class CheckpointError(WorldsimError):
    """No checkpoint step could be restored."""


# What tensorstore, orbax and the JSON readers say when a file is damaged or missing.
_CORRUPTION = re.compile(
    r"DATA_LOSS|NOT_FOUND|OUT_OF_RANGE|[Cc]orrupt|checksum|[Uu]nexpected end|[Tt]runcated|"
    r"[Ff]ailed to (decode|parse|read)|[Ee]rror (opening|reading|decoding)|not a valid|"
    r"[Mm]issing|[Nn]o such file|[Ii]nvalid (header|magic|json|JSON|data)|[Ee]xpecting value"
)


def is_corruption(error: BaseException) -> bool:
    """True if `error` means the checkpoint's files are damaged or missing (so an older
    step should be tried); False for anything else (memory, transient I/O, bugs)."""
    if isinstance(error, (MemoryError, KeyboardInterrupt, PermissionError, TimeoutError)):
        return False
    if isinstance(error, (FileNotFoundError, EOFError, json.JSONDecodeError)):
        return True
    if isinstance(error, OSError):
        return False  # EIO, ENOSPC, a dropped mount: transient or environmental
    # tensorstore and orbax raise ValueError or plain Exception (with the cause chained).
    chain, seen = error, 0
    while chain is not None and seen < 8:
        if _CORRUPTION.search(f"{chain}"):
            return True
        chain, seen = chain.__cause__ or chain.__context__, seen + 1
    return False


class _DropMessages(logging.Filter):
    def __init__(self, *fragments: str) -> None:
        super().__init__()
        self.fragments = fragments

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(f in message for f in self.fragments)


@contextlib.contextmanager
def _quiet_orbax(read_only: bool) -> Iterator[None]:
    """Keeps orbax's noise off the console: the notes a read-only manager logs, and the
    pages of tensorstore spec that the read coroutines of a failed restore print when they
    are garbage-collected ("Task exception was never retrieved", "Event loop is closed").
    The failure itself is reported once, as a one-line warning, by `restore`."""
    absl = logging.getLogger("absl")
    notes = _DropMessages("read_only=True", "Given directory is read only")
    aio = logging.getLogger("asyncio")
    lost = _DropMessages("Task exception was never retrieved")
    previous_hook = sys.unraisablehook

    def hook(unraisable):
        if isinstance(unraisable.exc_value, RuntimeError) and "Event loop is closed" in str(
            unraisable.exc_value
        ):
            return
        previous_hook(unraisable)

    if read_only:
        absl.addFilter(notes)
    aio.addFilter(lost)
    sys.unraisablehook = hook
    try:
        yield
    finally:
        gc.collect()  # collect the failed reads now, while their noise is filtered
        sys.unraisablehook = previous_hook
        aio.removeFilter(lost)
        if read_only:
            absl.removeFilter(notes)


def _one_line(error: BaseException, limit: int = 160) -> str:
    first = (str(error).strip().splitlines() or [""])[0]
    text = f"{type(error).__name__}: {first}"
    return text if len(text) <= limit else text[: limit - 5] + " [..]"


def _config_dict(config: Any) -> dict[str, Any]:
    # Round-trip through config_to_json: accepts a ConfigDict or a mapping, turns tuples
    # into lists and raises ConfigError on non-JSON values, exactly like the saved config file.
    if not isinstance(config, Mapping) and not hasattr(config, "to_dict"):
        raise TypeError(f"config must be a mapping or ConfigDict, got {type(config).__name__}")
    return json.loads(config_to_json(config))


class Checkpointer:
    """Keeps the ``keep`` newest checkpoints of a run under ``directory``.

    Usage::

        ckpt = Checkpointer(workdir / "ckpt", keep=3)
        ckpt.save(step, {"params": params, "opt": opt_state}, data_iterator=it, config=cfg)
        ...
        ckpt.close()          # waits for the last async save

        # resume, possibly on another mesh
        restored = ckpt.restore(abstract_state, data_iterator=fresh_it)   # {name: abstract}
        if restored is not None:
            step, state = restored                                         # {name: pytree}
    """

    def __init__(
        self, directory: Any, *, keep: int = 1, async_save: bool = True, read_only: bool = False
    ) -> None:
        if keep < 1:
            raise ValueError(f"keep must be >= 1, got {keep}")
        if "://" not in os.fspath(directory):
            directory = Path(directory).absolute()  # orbax rejects relative paths
        self.directory = directory
        self.read_only = read_only
        with _quiet_orbax(read_only):
            options = ocp.CheckpointManagerOptions(
                enable_async_checkpointing=async_save and not read_only,
                preservation_policy=ocp.checkpoint_managers.LatestN(keep),
                create=not read_only,
                read_only=read_only,
            )
            self._manager = ocp.CheckpointManager(directory, options=options)

    # ------------------------------------------------------------------ save
    def save(
        self,
        step: int,
        state: Mapping[str, PyTree],
        *,
        data_iterator: Any = None,
        config: Any = None,
        force: bool = False,
    ) -> bool:
        """Starts saving ``step`` (async by default). Returns whether a save was started.

        ``state``: {item name: pytree}; each entry is its own item. ``force=True`` saves
        even if the manager's save policy would skip this step. The step only becomes
        visible to readers once committed; call ``wait()``.
        """
        if self.read_only:
            raise CheckpointError(f"{self.directory} was opened read-only; it cannot be saved to")
        reserved = {"data", "config"} & set(state)
        if reserved:
            raise ValueError(f"state items may not be named {sorted(reserved)} (reserved)")
        # An item without arrays (a model with no non-parameter variables) is not written;
        # restore hands its empty structure back as it is.
        items: dict[str, Any] = {
            k: ocp.args.StandardSave(v) for k, v in state.items() if jax.tree.leaves(v)
        }
        if data_iterator is not None:
            items["data"] = grain.checkpoint.CheckpointSave(data_iterator)
        if config is not None:
            items["config"] = ocp.args.JsonSave(_config_dict(config))
        return self._manager.save(int(step), args=ocp.args.Composite(**items), force=force)

    def wait(self) -> None:
        """Blocks until any in-flight async save is committed."""
        self._manager.wait_until_finished()

    def close(self) -> None:
        """Waits for pending saves and releases the manager."""
        self._manager.wait_until_finished()
        self._manager.close()

    def __enter__(self) -> Checkpointer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ------------------------------------------------------------------ query
    def latest_step(self) -> int | None:
        return self._manager.latest_step()

    def all_steps(self) -> list[int]:
        return sorted(self._manager.all_steps())

    # --------------------------------------------------------------- restore
    def _restore_step(
        self, step: int, abstract_state: Mapping[str, PyTree], data_iterator: Any
    ) -> dict[str, PyTree]:
        items: dict[str, Any] = {
            k: ocp.args.StandardRestore(v) for k, v in abstract_state.items() if jax.tree.leaves(v)
        }
        if data_iterator is not None:
            items["data"] = grain.checkpoint.CheckpointRestore(data_iterator)
        restored = self._manager.restore(step, args=ocp.args.Composite(**items))
        state = {k: restored[k] if k in items else v for k, v in abstract_state.items()}
        # Force every array to be materialised here so a bad file surfaces now, not later.
        jax.block_until_ready(state)
        return state

    def restore(
        self,
        abstract_state: PyTree,
        *,
        data_iterator: Any = None,
        step: int | None = None,
    ) -> tuple[int, PyTree] | None:
        """Restores ``(step, state)``, or ``None`` if there is no checkpoint.

        ``abstract_state``: {item name: tree of ``jax.ShapeDtypeStruct`` with
        ``sharding=``} (the target layout; may differ from the one saved); only those
        items are read. ``data_iterator``: a fresh grain iterator, repositioned in place.
        ``step=None`` means the newest readable step, falling back to older ones (with a
        warning) when the newest is corrupt; an explicit ``step`` is restored or raises,
        without fallback.
        """
        self.wait()  # never read a step that is still being written by this process
        steps = self.all_steps()
        if not steps:
            return None
        if step is not None:
            if step not in steps:
                raise CheckpointError(
                    f"No checkpoint for step {step} in {self.directory}; available: {steps}"
                )
            candidates = [step]
        else:
            candidates = sorted(steps, reverse=True)
        errors: list[tuple[int, BaseException]] = []
        for s in candidates:
            try:
                with _quiet_orbax(self.read_only):
                    state = self._restore_step(s, abstract_state, data_iterator)
            except Exception as e:
                if "tree structures do not match" in str(
                    e
                ) or "not compatible with the stored" in str(e):
                    raise CheckpointError(
                        f"checkpoint step {s} in {self.directory} holds another model than the "
                        "one built from this config (was a model field changed since it was "
                        f"saved?): {_one_line(e, 240)}"
                    ) from e
                if step is not None or not is_corruption(e):
                    raise
                errors.append((s, e))
                what = "skipping it" if self.read_only else "falling back to an older step"
                msg = f"checkpoint step {s} in {self.directory} is unreadable ({_one_line(e)}); {what}"
                warnings.warn(msg, RuntimeWarning, stacklevel=2)
                continue
            if errors and not self.read_only:
                self._set_aside([bad for bad, _ in errors])
            return s, state
        tried = "; ".join(f"step {s}: {_one_line(e)}" for s, e in errors)
        raise CheckpointError(
            f"No readable checkpoint in {self.directory}. Tried {tried}"
        ) from errors[-1][1]

    def _set_aside(self, steps: list[int]) -> None:
        """Moves unreadable steps to `<directory>.unreadable/` so the resumed run can write
        those step numbers again; nothing is deleted (the files may matter to a post-mortem).
        """
        root = Path(os.fspath(self.directory))
        aside = root.parent / f"{root.name}.unreadable"
        if jax.process_index() == 0:
            aside.mkdir(exist_ok=True)
            stamp = time.strftime("%Y%m%d-%H%M%S")
            for step in steps:
                target = aside / f"{step}-{stamp}"
                shutil.move(os.fspath(root / str(step)), os.fspath(target))
                msg = f"moved unreadable checkpoint step {step} to {target}"
                warnings.warn(msg, RuntimeWarning, stacklevel=3)
        if jax.process_count() > 1:
            multihost_utils.sync_global_devices("worldsim_checkpoint_set_aside")
        self._manager.reload()

    def restore_config(self, step: int | None = None) -> dict[str, Any] | None:
        """The config dict saved with ``step`` (default: newest), or None if none was saved."""
        self.wait()
        step = self.latest_step() if step is None else step
        if step is None:
            return None
        try:
            restored = self._manager.restore(
                step, args=ocp.args.Composite(config=ocp.args.JsonRestore())
            )
        except (FileNotFoundError, KeyError, ValueError):
            return None
        return restored["config"]
