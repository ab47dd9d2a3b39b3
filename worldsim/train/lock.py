"""One run per workdir: a lock file that stops a second `worldsim train` writing the same run.

Two trainers on one workdir would interleave checkpoints and metrics and each resume from
the other's half-written state, so the second one must stop at once with a message that
names who holds the workdir.

How the lock works:

* `workdir/.lock` is opened and `fcntl.flock`-ed for the whole run. The kernel drops a flock
  when its process dies, even on `kill -9`, so a crashed run never blocks the next one on
  the same host.
* The same file holds JSON (host, pid, start time, run_id, process_count): the message names
  the holder, and a holder on a filesystem where flock does not work (some network mounts
  lock only per client, or not at all) is still seen: a record from this host whose pid is
  gone is stale; a record from another host is stale once its heartbeat, the file's mtime,
  which the holder touches every `HEARTBEAT_S`, is older than `STALE_AFTER_S`.
* A stale lock is taken over with a warning; the file is removed when the run ends.

Multi-process runs (one process per host): only process 0 takes the lock, once, for the
whole run; the other processes of the run do not touch it, since they write nothing of the
workdir's own and must not be stopped by their own process 0. `run_id` names the run across
its processes and restarts (e.g. the coordinator address): it is recorded in the lock, and a
lock left by the same run_id that no live process flocks (process 0 of this run restarted,
maybe on another host) is taken over without waiting for its heartbeat to age.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import socket
import tempfile
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

from worldsim.errors import WorldsimError

LOCK_FILE = ".lock"
HEARTBEAT_S = 30.0
STALE_AFTER_S = 300.0  # generous: clocks of two hosts may disagree by a minute or so


class WorkdirLocked(WorldsimError):
    """Another live run holds the workdir."""


class UnwritableDir(WorldsimError):
    """A folder we must write to cannot be created or written (read-only, permissions...)."""


def check_writable_dir(path: str | os.PathLike, what: str = "workdir") -> Path:
    """Create `path` (with parents) if missing and prove a file can be written in it.

    Raises UnwritableDir naming `what`, the path and the OS reason, e.g.
    `cannot write to workdir /x: Read-only file system`, instead of an OSError traceback
    later, in the middle of a run.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise UnwritableDir(f"cannot use {what} {path}: it is a file, not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-probe-", dir=path)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise UnwritableDir(f"cannot write to {what} {path}: {_reason(err)}") from err
    return path


@contextlib.contextmanager
def workdir_lock(
    workdir: str | os.PathLike,
    *,
    process_index: int = 0,
    process_count: int = 1,
    run_id: str | None = None,
) -> Iterator[None]:
    """Hold `workdir/.lock` for the body; raise WorkdirLocked if a live run holds it.

    workdir: must exist (creating it is the caller's job, see `check_writable_dir`).
    process_index, process_count: this process's place in a multi-process run; only
        process 0 locks (see the module docstring).
    run_id: the same string on every process of one run and on its restarts; None for a
        single-process run.
    """
    if process_index != 0:
        yield
        return
    workdir = Path(workdir)
    fd = _acquire(workdir, _record(run_id, process_count))
    stop = threading.Event()
    beat = threading.Thread(
        target=_heartbeat, args=(fd, stop), name="workdir-lock-heartbeat", daemon=True
    )
    beat.start()
    try:
        yield
    finally:
        stop.set()
        beat.join()
        _release(workdir / LOCK_FILE, fd)


def _record(run_id: str | None, process_count: int) -> dict:
    now = time.time()
    return {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "started": _when(now),
        "started_unix": now,
        "run_id": run_id,
        "process_count": process_count,
    }


def _acquire(workdir: Path, mine: dict) -> int:
    """The open, flocked (where flock works) lock file, with our record written in it."""
    path = workdir / LOCK_FILE
    for _ in range(5):
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as err:
            raise UnwritableDir(f"cannot write to workdir {workdir}: {_reason(err)}") from err
        try:
            flocked = _try_flock(fd)
            if flocked is False:  # a live process holds it: the kernel says so
                raise WorkdirLocked(_in_use(workdir, _read(fd)))
            if not _is_current(fd, path):  # its holder removed it while we waited: again
                os.close(fd)
                continue
            holder = _read(fd)
            if holder is not None:
                stale = _why_stale(holder, flocked=flocked, run_id=mine["run_id"], fd=fd)
                if stale is None:
                    raise WorkdirLocked(_in_use(workdir, holder, fd=fd))
                warnings.warn(
                    f"taking over the lock of workdir {workdir} from pid {holder.get('pid')} "
                    f"on host {holder.get('host')} (since {holder.get('started')}): {stale}",
                    stacklevel=4,
                )
            _write(fd, mine)
            return fd
        except BaseException:
            with contextlib.suppress(OSError):
                os.close(fd)
            raise
    raise WorkdirLocked(f"workdir {workdir}: its lock file {path} keeps changing; try again")


def _try_flock(fd: int) -> bool | None:
    """True: we hold it; False: another process does; None: this filesystem has no flock."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    except OSError as err:
        if err.errno in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL):
            return None
        raise


def _is_current(fd: int, path: Path) -> bool:
    """Whether `fd` is still the file at `path` (not one unlinked by its releasing holder)."""
    try:
        return os.stat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False


def _why_stale(holder: dict, *, flocked: bool | None, run_id: str | None, fd: int) -> str | None:
    """Why the recorded holder is gone, or None when it may still be running."""
    if holder.get("host") == socket.gethostname():
        if flocked:  # same kernel: had the holder been alive we would not have the flock
            return "its process no longer holds the lock"
        if not _pid_alive(holder.get("pid")):
            return "its process is no longer running"
        return None
    # Another host: a flock may not reach across hosts on a network filesystem.
    if run_id is not None and holder.get("run_id") == run_id:
        return f"it was left by this run (run_id {run_id}), restarted"
    silent = time.time() - os.fstat(fd).st_mtime
    if silent > STALE_AFTER_S:
        return f"no heartbeat for {silent:.0f} s"
    return None


def _pid_alive(pid: object) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _in_use(workdir: Path, holder: dict | None, *, fd: int | None = None) -> str:
    if not holder:
        who = "another process"
    else:
        who = f"pid {holder.get('pid')} on host {holder.get('host')}"
        since = f"since {holder.get('started')}"
        if fd is not None and holder.get("host") != socket.gethostname():
            since += f", last heartbeat {time.time() - os.fstat(fd).st_mtime:.0f} s ago"
        who += f" ({since})"
    return f"workdir {workdir} is in use by {who}; stop that run or use another workdir"


def _read(fd: int) -> dict | None:
    """The holder's record; None when the file is empty or half-written."""
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        data = os.read(fd, 1 << 16)
        record = json.loads(data) if data.strip() else None
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def _write(fd: int, record: dict) -> None:
    data = (json.dumps(record, sort_keys=True) + "\n").encode()
    os.ftruncate(fd, 0)
    os.pwrite(fd, data, 0)
    os.fsync(fd)


def _heartbeat(fd: int, stop: threading.Event) -> None:
    """Touch the lock file so other hosts can tell that its holder is alive."""
    while not stop.wait(HEARTBEAT_S):
        with contextlib.suppress(OSError):
            os.utime(fd)


def _release(path: Path, fd: int) -> None:
    """Remove the lock file (if it is still ours), then drop the flock."""
    try:
        if _is_current(fd, path):
            path.unlink()
    except OSError:
        pass
    finally:
        os.close(fd)


def _when(unix: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(unix))


def _reason(err: OSError) -> str:
    return err.strerror or str(err)
