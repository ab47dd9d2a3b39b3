"""The workdir lock: one live run per workdir, stale locks taken over, clear errors."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import pytest

from worldsim.errors import WorldsimError
from worldsim.train import lock
from worldsim.train.lock import (
    LOCK_FILE,
    UnwritableDir,
    WorkdirLocked,
    check_writable_dir,
    workdir_lock,
)

REPO = Path(__file__).resolve().parents[2]

HOLDER = textwrap.dedent(
    """
    import sys, time
    from worldsim.train.lock import workdir_lock
    with workdir_lock(sys.argv[1], run_id=sys.argv[2] if len(sys.argv) > 2 else None):
        print("READY", flush=True)
        time.sleep(600)
    """
)


def start_holder(workdir: Path, *args: str) -> subprocess.Popen:
    """A second process that takes the lock, says READY and sleeps."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(workdir), *args],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    line = proc.stdout.readline()
    if line.strip() != "READY":
        proc.kill()
        pytest.fail(f"lock holder did not start: {line!r}")
    return proc


def write_foreign_lock(workdir: Path, *, age_s: float, **fields) -> Path:
    """A lock record as left by a process on another host, last touched `age_s` ago."""
    record = {
        "host": "some-other-host",
        "pid": 4242,
        "started": "2026-12-02 18:40:11",
        "run_id": None,
        "process_count": 1,
        **fields,
    }
    path = workdir / LOCK_FILE
    path.write_text(json.dumps(record))
    then = time.time() - age_s
    os.utime(path, (then, then))
    return path


def test_second_acquire_in_same_process_raises(tmp_path):
    with workdir_lock(tmp_path):
        with pytest.raises(WorkdirLocked) as info:
            with workdir_lock(tmp_path):
                pass
    message = str(info.value)
    assert f"pid {os.getpid()}" in message and socket.gethostname() in message
    assert "since " in message and "\n" not in message
    assert isinstance(info.value, WorldsimError)


def test_lock_file_records_holder_and_is_removed_on_exit(tmp_path):
    with workdir_lock(tmp_path, run_id="r1", process_count=1):
        record = json.loads((tmp_path / LOCK_FILE).read_text())
        assert record["pid"] == os.getpid() and record["host"] == socket.gethostname()
        assert record["run_id"] == "r1" and record["process_count"] == 1
        assert record["started"]
    assert not (tmp_path / LOCK_FILE).exists()
    with workdir_lock(tmp_path):  # free again
        pass


def test_lock_is_released_when_the_body_raises(tmp_path):
    with pytest.raises(KeyError):
        with workdir_lock(tmp_path):
            raise KeyError("boom")
    assert not (tmp_path / LOCK_FILE).exists()


def test_another_process_blocks_then_kill_9_lets_us_take_over(tmp_path):
    proc = start_holder(tmp_path)
    try:
        with pytest.raises(WorkdirLocked, match=f"in use by pid {proc.pid} on host"):
            with workdir_lock(tmp_path):
                pass
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert (tmp_path / LOCK_FILE).exists()  # kill -9 left the file behind
    with pytest.warns(UserWarning, match=f"taking over .* pid {proc.pid}"):
        with workdir_lock(tmp_path):
            assert json.loads((tmp_path / LOCK_FILE).read_text())["pid"] == os.getpid()


def test_stale_record_on_this_host_is_taken_over(tmp_path):
    """Seen through the JSON alone (as on a filesystem without flock): pid not alive."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / LOCK_FILE).write_text(
        json.dumps({"host": socket.gethostname(), "pid": dead.pid, "started": "earlier"})
    )
    with pytest.warns(UserWarning, match="taking over"):
        with workdir_lock(tmp_path):
            pass


def test_other_host_with_fresh_heartbeat_blocks(tmp_path):
    write_foreign_lock(tmp_path, age_s=5)
    with pytest.raises(WorkdirLocked, match="pid 4242 on host some-other-host") as info:
        with workdir_lock(tmp_path):
            pass
    assert "last heartbeat" in str(info.value)


def test_other_host_with_old_heartbeat_is_taken_over(tmp_path):
    write_foreign_lock(tmp_path, age_s=lock.STALE_AFTER_S + 60)
    with pytest.warns(UserWarning, match="no heartbeat for"):
        with workdir_lock(tmp_path):
            pass


def test_same_run_restarted_on_another_host_takes_over(tmp_path):
    write_foreign_lock(tmp_path, age_s=5, run_id="10.0.0.2:1234")
    with pytest.raises(WorkdirLocked):  # another run: still blocked
        with workdir_lock(tmp_path, run_id="10.0.0.9:1234"):
            pass
    with pytest.warns(UserWarning, match="left by this run"):
        with workdir_lock(tmp_path, run_id="10.0.0.2:1234"):
            pass


def test_heartbeat_touches_the_lock_file(tmp_path, monkeypatch):
    monkeypatch.setattr(lock, "HEARTBEAT_S", 0.05)
    with workdir_lock(tmp_path):
        path = tmp_path / LOCK_FILE
        os.utime(path, (0, 0))
        time.sleep(0.3)
        assert time.time() - path.stat().st_mtime < 5


def test_non_main_processes_of_a_run_are_not_blocked(tmp_path):
    proc = start_holder(tmp_path, "coord:1234")  # process 0 of a 2-process run
    try:
        with workdir_lock(tmp_path, process_index=1, process_count=2, run_id="coord:1234"):
            pass
        with pytest.raises(WorkdirLocked):  # but another process 0 is
            with workdir_lock(tmp_path, process_index=0, process_count=2, run_id="other"):
                pass
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    # process 1 neither took nor removed the lock: process 0's record is still there
    assert json.loads((tmp_path / LOCK_FILE).read_text())["pid"] == proc.pid


def test_missing_workdir_is_a_one_line_error(tmp_path):
    with pytest.raises(UnwritableDir, match="cannot write to workdir .*No such file"):
        with workdir_lock(tmp_path / "absent"):
            pass


def assert_one_line(error: BaseException, *parts: str) -> None:
    message = str(error)
    assert "\n" not in message and isinstance(error, WorldsimError)
    for part in parts:
        assert part in message, message


def test_check_writable_dir_creates_missing_parents(tmp_path):
    path = check_writable_dir(tmp_path / "a" / "b", what="--out")
    assert path.is_dir() and list(path.iterdir()) == []


def test_check_writable_dir_file_in_the_way(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(UnwritableDir) as info:
        check_writable_dir(tmp_path / "file")
    assert_one_line(info.value, "workdir", str(tmp_path / "file"), "not a folder")
    with pytest.raises(UnwritableDir) as info:
        check_writable_dir(tmp_path / "file" / "run")
    assert_one_line(info.value, str(tmp_path / "file" / "run"), "Not a directory")


def test_check_writable_dir_under_sysfs():
    """/sys refuses new entries even to root (file modes alone would not stop root)."""
    with pytest.raises(UnwritableDir) as info:
        check_writable_dir("/sys/worldsim-run", what="--out")
    assert_one_line(info.value, "cannot write to --out /sys/worldsim-run: ")


def test_check_writable_dir_on_read_only_filesystem(tmp_path):
    """A real read-only mount, in a private user+mount namespace (no host mount changes)."""
    if shutil.which("unshare") is None:
        pytest.skip("unshare not installed")
    ro = tmp_path / "ro"
    ro.mkdir()
    snippet = (
        "from worldsim.train.lock import check_writable_dir, workdir_lock\n"
        "import sys\n"
        "for call in (lambda: check_writable_dir(sys.argv[1] + '/run'),\n"
        "             lambda: workdir_lock(sys.argv[1]).__enter__()):\n"
        "    try:\n"
        "        call()\n"
        "    except Exception as e:\n"
        "        print(type(e).__name__, e, sep=': ')\n"
    )
    script = f'mount -t tmpfs -o ro tmpfs "$1" && exec "{sys.executable}" -c "$2" "$1"'
    out = subprocess.run(
        ["unshare", "-rm", "sh", "-c", script, "sh", str(ro), snippet],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    if "mount" in out.stderr or "unshare" in out.stderr:
        pytest.skip(f"no private mounts here: {out.stderr.strip()}")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        f"UnwritableDir: cannot write to workdir {ro}/run: Read-only file system",
        f"UnwritableDir: cannot write to workdir {ro}: Read-only file system",
    ]


def test_warning_points_at_the_caller(tmp_path):
    write_foreign_lock(tmp_path, age_s=lock.STALE_AFTER_S + 60)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with workdir_lock(tmp_path):
            pass
    assert [Path(w.filename).name for w in caught] == [Path(__file__).name]
