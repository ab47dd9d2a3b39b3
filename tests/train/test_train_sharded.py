"""`worldsim train` on 8 fake CPU devices (data 2, fsdp 2, tensor 2) against 1 device,
checkpoints moved between the two meshes, and two real processes training together.

Fake devices must be set before jax is imported (STACK_NOTES pitfall 13), so every run
is a child process. Slow: about two minutes in all.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.train.conftest import REPO, child_env, train_command

pytestmark = pytest.mark.slow

STEPS = 8
MESH_222 = ("--config.mesh.data=2", "--config.mesh.fsdp=2", "--config.mesh.tensor=2")


def _flags(stop_at: int = 0) -> list[str]:
    return [
        "--config.data.batch_size=4",
        f"--config.train.steps={STEPS}",
        "--config.train.warmup_steps=2",
        "--config.train.eval_every=4",
        "--config.checkpoint.every_steps=4",
        *([f"--stop-at={stop_at}"] if stop_at else []),
    ]


def _train(workdir: Path, data_dir: Path, *extra: str, devices: int = 1, stop_at: int = 0):
    command = train_command(workdir, data_dir, *_flags(stop_at), *extra)
    result = subprocess.run(
        command, env=child_env(devices), capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return result.stdout


def _losses(workdir: Path) -> dict[int, float]:
    rows = [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]
    return {r["step"]: r["loss"] for r in rows if "loss" in r}


def _assert_close(losses: dict[int, float], reference: dict[int, float]) -> None:
    assert sorted(losses) == list(range(1, STEPS + 1))
    for step, loss in losses.items():
        # Sharded reductions sum in another order: equal up to float32 rounding.
        assert loss == pytest.approx(reference[step], rel=2e-5), f"step {step}"


@pytest.fixture(scope="module")
def one_device(tmp_path_factory, data_dir) -> dict[int, float]:
    workdir = tmp_path_factory.mktemp("one")
    _train(workdir, data_dir)
    return _losses(workdir)


def test_loss_on_8_devices_matches_1_device(tmp_path, data_dir, one_device):
    stdout = _train(tmp_path, data_dir, *MESH_222, devices=8)
    assert "mesh {'data': 2, 'fsdp': 2, 'tensor': 2, 'sequence': 1} on 8 cpu" in stdout
    _assert_close(_losses(tmp_path), one_device)
    assert one_device[STEPS] < one_device[1]  # it trains: the comparison is not vacuous


def test_checkpoint_moves_from_8_devices_to_1_and_back(tmp_path, data_dir, one_device):
    to_one = tmp_path / "8to1"
    _train(to_one, data_dir, *MESH_222, devices=8, stop_at=4)
    stdout = _train(to_one, data_dir, devices=1)
    assert "resumed from step 4" in stdout
    _assert_close(_losses(to_one), one_device)

    to_eight = tmp_path / "1to8"
    _train(to_eight, data_dir, devices=1, stop_at=4)
    stdout = _train(to_eight, data_dir, *MESH_222, devices=8)
    assert "resumed from step 4" in stdout
    _assert_close(_losses(to_eight), one_device)


SHARDINGS_CHILD = r"""
import json, sys
import jax
from flax import nnx
from worldsim import parallel
from worldsim.train.config import load_config
from worldsim.train.step import abstract_train_state, describe_shardings
from worldsim.recipes import dry_run_task
from worldsim.train.settings import validate
from worldsim.train.trainer import make_tx

config, _ = load_config(sys.argv[1:])
mesh = parallel.make_mesh(dict(config.mesh))
rules = parallel.rules_from_config(config.rules)
with jax.set_mesh(mesh), nnx.logical_axis_rules(rules):
    _, task = dry_run_task(config)
    tx = make_tx(validate(config).train)
    _, abstract, _ = abstract_train_state(task.make_model, tx, 0, "float32", mesh)
print(json.dumps(describe_shardings(abstract)))
"""


def test_params_and_adam_moments_are_sharded_as_the_rules_say():
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            SHARDINGS_CHILD,
            "--config",
            str(REPO / "experiments/frame_predictor_cpu.py"),
            *MESH_222,
        ],
        env=child_env(8),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = json.loads(result.stdout.strip().splitlines()[-1])
    specs = {line.split(" ", 1)[0]: line.split(") ", 1)[1].split(" shard ")[0] for line in lines}
    shards = {line.split(" ", 1)[0]: line.split(" shard ")[1] for line in lines}
    fc1 = next(k for k in shards if k.startswith("params/") and "fc1_dm" in k)
    assert shards[fc1] == "(2, 32, 128)"  # [layers, D/fsdp, M/tensor] of (2, 64, 256)
    # ("layers", "embed", "mlp") -> (None, fsdp, tensor); the same for both Adam moments.
    expected = "P(None, 'fsdp', 'tensor')"
    for part in ("params/", "/mu/", "/nu/", "ema/"):
        key = next(k for k in specs if part in k and "fc1_dm" in k)
        assert specs[key] == expected, (key, specs[key])
    # ("layers", "embed", "heads", "kv") -> heads on tensor.
    q = next(k for k in specs if k.startswith("params") and "q_dnk" in k)
    assert specs[q] == "P(None, 'fsdp', 'tensor', None)"
    # Counters are replicated scalars.
    assert specs["counters/bad_total"] == "P()"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _two_processes(workdir: Path, data_dir: Path, stop_at: int = 0) -> list[str]:
    port = _free_port()
    procs = []
    for pid in range(2):
        command = train_command(
            workdir,
            data_dir,
            *_flags(stop_at),
            f"--coordinator=127.0.0.1:{port}",
            "--num-processes=2",
            f"--process-id={pid}",
        )
        procs.append(
            subprocess.Popen(
                command,
                env=child_env(1),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
    outputs = [p.communicate(timeout=600)[0] for p in procs]
    for p, out in zip(procs, outputs, strict=True):
        assert p.returncode == 0, out[-4000:]
    return outputs


def test_two_processes_train_checkpoint_and_resume(tmp_path, data_dir):
    straight = tmp_path / "straight"
    outputs = _two_processes(straight, data_dir)
    assert "2 process(es)" in outputs[0] and "mesh {'data': 2" in outputs[0]
    assert "worldsim train:" not in outputs[1] and "step 1/" not in outputs[1]  # process 0 logs
    reference = _losses(straight)

    split = tmp_path / "split"
    _two_processes(split, data_dir, stop_at=4)
    # Each process wrote its own data-iterator state.
    step_dir = split / "checkpoints" / "4" / "data"
    assert sorted(p.name for p in step_dir.iterdir() if p.suffix == ".json") == [
        "process_0-of-2.json",
        "process_1-of-2.json",
    ]
    outputs = _two_processes(split, data_dir)
    assert "resumed from step 4" in outputs[0]
    losses = _losses(split)
    assert sorted(losses) == list(range(1, STEPS + 1))
    for step in losses:
        assert losses[step] == pytest.approx(reference[step], rel=1e-6), f"step {step}"
