"""Exact resume: `worldsim train` killed with SIGKILL (once mid async save) and restarted
gives the same per-step losses and the same data order as an uninterrupted run.

Also: SIGTERM saves and exits cleanly, and the resumed run continues from there.
These start real `worldsim train` processes, so they are slow (about a minute).
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.train.conftest import child_env, train_command

pytestmark = pytest.mark.slow

STEPS = 24


def _command(workdir: Path, data_dir: Path) -> list[str]:
    return train_command(
        workdir,
        data_dir,
        f"--config.train.steps={STEPS}",
        "--config.train.warmup_steps=4",
        "--config.train.eval_every=8",
        "--config.checkpoint.every_steps=4",
    )


def _records(workdir: Path) -> dict[int, dict]:
    """step -> the training line of that step (eval lines are separate records)."""
    rows = {}
    for line in (workdir / "metrics.jsonl").read_text().splitlines():
        record = json.loads(line)
        if "loss" in record:
            assert record["step"] not in rows, f"step {record['step']} logged twice"
            rows[record["step"]] = record
    return rows


def _logged_steps(workdir: Path) -> int:
    path = workdir / "metrics.jsonl"
    if not path.exists():
        return 0
    return sum('"loss"' in line for line in path.read_text().splitlines())


def _tmp_checkpoint_dirs(workdir: Path) -> list[str]:
    root = workdir / "checkpoints"
    if not root.exists():
        return []
    return [p.name for p in root.iterdir() if "tmp" in p.name]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, data_dir) -> dict[int, dict]:
    workdir = tmp_path_factory.mktemp("straight")
    subprocess.run(
        _command(workdir, data_dir), env=child_env(), check=True, capture_output=True, timeout=600
    )
    return _records(workdir)


def _kill_when(process: subprocess.Popen, condition, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            process.send_signal(signal.SIGKILL)
            process.wait()
            return
        if process.poll() is not None:
            raise AssertionError(f"the run ended (rc {process.returncode}) before the kill")
        time.sleep(0.002)
    process.kill()
    raise AssertionError("kill condition never met")


def test_kill_9_twice_then_resume_matches_uninterrupted_run(tmp_path, data_dir, uninterrupted):
    workdir = tmp_path / "killed"
    command = _command(workdir, data_dir)
    saw_tmp_after_kill: list[str] = []

    # 1. SIGKILL while an async checkpoint write is in flight (its tmp dir exists).
    process = subprocess.Popen(
        command, env=child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _kill_when(process, lambda: _logged_steps(workdir) >= 6 and _tmp_checkpoint_dirs(workdir))
    saw_tmp_after_kill = _tmp_checkpoint_dirs(workdir)

    # 2. SIGKILL at a random step of the resumed run.
    kill_at = random.Random(0).randint(_logged_steps(workdir) + 3, STEPS - 4)
    process = subprocess.Popen(
        command, env=child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _kill_when(process, lambda: _logged_steps(workdir) >= kill_at)

    # 3. Run to the end.
    finished = subprocess.run(command, env=child_env(), capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stderr[-3000:]
    assert "resumed from step" in finished.stdout

    assert saw_tmp_after_kill, "the first kill did not land during a checkpoint write"
    resumed = _records(workdir)
    worst = max(abs(resumed[s]["loss"] - uninterrupted[s]["loss"]) for s in resumed)
    print(
        f"\nkilled mid-save (left {saw_tmp_after_kill}), then at step {kill_at}; "
        f"{len(resumed)} steps logged; max |loss - uninterrupted| = {worst:.3g}; "
        f"losses step 1 {resumed[1]['loss']:.6f}, step {STEPS} {resumed[STEPS]['loss']:.6f}"
    )
    assert sorted(resumed) == list(range(1, STEPS + 1))  # no step missing or repeated
    for step in range(1, STEPS + 1):
        a, b = uninterrupted[step], resumed[step]
        assert b["batch_crc"] == a["batch_crc"], f"step {step}: different data"
        assert b["loss"] == pytest.approx(a["loss"], rel=1e-6, abs=1e-7), f"step {step}"
        assert b["grad_norm"] == pytest.approx(a["grad_norm"], rel=1e-5)
    # The data did move on: consecutive steps saw different batches.
    assert len({r["batch_crc"] for r in resumed.values()}) > STEPS // 2


@pytest.mark.parametrize("signum, status", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_saves_exits_nonzero_and_the_next_run_resumes_there(
    tmp_path, data_dir, uninterrupted, signum, status
):
    workdir = tmp_path / "term"
    command = _command(workdir, data_dir)
    process = subprocess.Popen(
        command, env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    deadline = time.monotonic() + 300
    while _logged_steps(workdir) < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signum)
    output, _ = process.communicate(timeout=120)
    name = signal.Signals(signum).name
    assert process.returncode == status, output[-3000:]  # a scheduler can tell
    assert f"received {name}" in output and f"stopped by {name}" in output
    assert "checkpoint saved" in output
    stopped_at = max(_records(workdir))
    assert 5 <= stopped_at < STEPS
    steps = sorted(int(p.name) for p in (workdir / "checkpoints").iterdir() if p.name.isdigit())
    assert steps[-1] == stopped_at  # saved exactly where it stopped, not at the last multiple

    finished = subprocess.run(command, env=child_env(), capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stderr[-3000:]
    assert f"resumed from step {stopped_at}" in finished.stdout
    resumed = _records(workdir)
    assert sorted(resumed) == list(range(1, STEPS + 1))
    for step in range(1, STEPS + 1):
        assert resumed[step]["loss"] == pytest.approx(uninterrupted[step]["loss"], rel=1e-6)


def test_a_second_run_on_a_workdir_in_use_is_refused_naming_the_holder(tmp_path, data_dir):
    workdir = tmp_path / "busy"
    command = train_command(workdir, data_dir, "--config.train.steps=100000")
    process = subprocess.Popen(
        command, env=child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 300
        while _logged_steps(workdir) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        second = subprocess.run(
            train_command(workdir, data_dir), env=child_env(), capture_output=True, text=True
        )
        assert second.returncode == 2, second.stderr[-3000:]
        refusal = second.stderr.strip().splitlines()
        assert len(refusal) == 1 and f"in use by pid {process.pid}" in refusal[0], refusal
        assert process.poll() is None  # the first run goes on
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=120)
    assert process.returncode == 143
