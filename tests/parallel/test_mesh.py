"""Mesh sizing, rule validation and multi-process start-up.

Most checks are pure logic on the one in-process device; the two-process test
launches child Pythons that join through `WORLDSIM_*` env vars (STACK_NOTES c).
"""

import json
import os
import pathlib
import socket
import subprocess
import sys

import jax
import pytest
from jax.sharding import PartitionSpec as P

from worldsim import parallel

REPO = pathlib.Path(__file__).resolve().parents[2]


def test_resolve_mesh_shape_fills_missing_axes_with_one():
    assert parallel.resolve_mesh_shape({"data": 2, "fsdp": 2, "tensor": 2}, 8) == (2, 2, 2, 1)


def test_resolve_mesh_shape_minus_one_takes_the_rest():
    assert parallel.resolve_mesh_shape({"data": 2, "fsdp": -1}, 8) == (2, 4, 1, 1)
    assert parallel.resolve_mesh_shape({"fsdp": -1}, 1) == (1, 1, 1, 1)


@pytest.mark.parametrize(
    "shape, devices, needle",
    [
        ({"data": 3, "fsdp": -1}, 8, "'fsdp'"),  # 3 does not divide 8
        ({"data": -1, "fsdp": -1}, 8, "Only one"),
        ({"data": 2, "fsdp": 2}, 8, "uses 4 devices"),  # product mismatch
        ({"model": 2}, 2, "'model'"),  # unknown axis
        ({"tensor": 0}, 8, "'tensor'"),
    ],
)
def test_resolve_mesh_shape_errors_name_the_problem(shape, devices, needle):
    with pytest.raises(ValueError, match=needle):
        parallel.resolve_mesh_shape(shape, devices)


def test_make_mesh_uses_auto_axes_on_one_device():
    mesh = parallel.make_mesh({"data": -1})
    assert mesh.axis_names == parallel.MESH_AXES
    assert mesh.axis_types == (jax.sharding.AxisType.Auto,) * 4
    mesh = parallel.make_mesh({"fsdp": -1}, devices=jax.devices()[:1])
    assert dict(mesh.shape) == {"data": 1, "fsdp": 1, "tensor": 1, "sequence": 1}


def test_rules_from_config_normalises_lists_and_keeps_order():
    rules = parallel.rules_from_config({"batch": ["data", "fsdp"], "embed": "fsdp", "kv": None})
    assert rules == (("batch", ("data", "fsdp")), ("embed", "fsdp"), ("kv", None))
    assert parallel.rules_from_config(parallel.DEFAULT_RULES) == parallel.DEFAULT_RULES


def test_rules_from_config_rejects_unknown_mesh_axis_naming_the_rule():
    with pytest.raises(ValueError, match=r"'heads'.*'tensr'"):
        parallel.rules_from_config({"batch": "data", "heads": "tensr"})
    with pytest.raises(ValueError, match=r"'batch'.*'dp'"):
        parallel.rules_from_config([("batch", ("data", "dp"))])


def test_logical_to_spec_never_reuses_a_mesh_axis():
    rules = parallel.DEFAULT_RULES
    # batch takes fsdp first, so embed stays replicated on activations.
    assert parallel.logical_to_spec(("batch", "seq", "embed"), rules) == P(
        ("data", "fsdp"), "sequence", None
    )
    assert parallel.logical_to_spec(("embed", "mlp"), rules) == P("fsdp", "tensor")
    assert parallel.logical_to_spec(("layers", "embed"), rules) == P(None, "fsdp")


def test_shard_is_identity_without_mesh_or_rules():
    x = jax.numpy.ones((2, 3))
    assert parallel.shard(x, ("batch", "embed")) is x
    with pytest.raises(ValueError, match="axis names"):
        parallel.shard(x, ("batch",))


def test_maybe_initialize_is_a_noop_for_one_process(monkeypatch):
    for name in ("WORLDSIM_COORDINATOR", "WORLDSIM_NUM_PROCESSES", "WORLDSIM_PROCESS_ID"):
        monkeypatch.delenv(name, raising=False)
    assert parallel.maybe_initialize() is False
    monkeypatch.setenv("WORLDSIM_NUM_PROCESSES", "1")
    assert parallel.maybe_initialize() is False
    assert parallel.is_main_process()
    assert jax.process_count() == 1


def test_maybe_initialize_requires_coordinator_for_many_processes(monkeypatch):
    monkeypatch.delenv("WORLDSIM_COORDINATOR", raising=False)
    monkeypatch.setenv("WORLDSIM_NUM_PROCESSES", "2")
    monkeypatch.setenv("WORLDSIM_PROCESS_ID", "0")
    with pytest.raises(ValueError, match="coordinator"):
        parallel.maybe_initialize()


TWO_PROCESS_CHILD = r"""
import json
import numpy as np
from worldsim import parallel

assert parallel.maybe_initialize()  # from WORLDSIM_* env vars
import jax
import jax.numpy as jnp

pid = jax.process_index()
mesh = parallel.make_mesh({"data": 2, "fsdp": -1})  # 2 processes x 2 devices
local = np.full((2, 3), pid + 1, np.float32)  # this process's rows: [B_local=2, 3]
with jax.set_mesh(mesh):
    batch = parallel.put_batch({"x": local}, mesh, parallel.DEFAULT_RULES)
    total = float(jax.jit(jnp.sum)(batch["x"]))
print(json.dumps({"pid": pid, "main": parallel.is_main_process(),
                  "shape": list(batch["x"].shape), "total": total}))
jax.distributed.shutdown()
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_processes_initialize_from_env_and_build_one_global_batch():
    port = _free_port()
    procs = []
    for pid in range(2):
        env = dict(os.environ)
        env.update(
            XLA_FLAGS="--xla_force_host_platform_device_count=2",
            JAX_PLATFORMS="cpu",
            PYTHONPATH=os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]),
            WORLDSIM_COORDINATOR=f"127.0.0.1:{port}",
            WORLDSIM_NUM_PROCESSES="2",
            WORLDSIM_PROCESS_ID=str(pid),
        )
        procs.append(
            subprocess.Popen(
                [sys.executable, "-c", TWO_PROCESS_CHILD],
                env=env,
                cwd=REPO,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    results = []
    for proc in procs:
        try:
            stdout, stderr = proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            for p in procs:
                p.kill()
            raise
        assert proc.returncode == 0, f"child failed:\n{stdout}\n{stderr[-4000:]}"
        results.append(json.loads(stdout.strip().splitlines()[-1]))
    assert [r["main"] for r in results] == [True, False]
    for r in results:
        assert r["shape"] == [4, 3]  # 2 local rows x 2 processes
        assert r["total"] == pytest.approx(2 * 3 * 1 + 2 * 3 * 2)
