"""Sharding on 8 fake CPU devices: params, optimizer state, batches, activations.

The pytest process has already imported jax with one device, and the device count
is fixed at import time (STACK_NOTES pitfall 13), so the checks run in a child
Python with `--xla_force_host_platform_device_count=8` that prints one JSON
object; the tests below assert on it. One child serves all tests (compiles are
the slow part).
"""

import json
import os
import pathlib
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]

CHILD = r'''
import json
import jax, jax.numpy as jnp, numpy as np, optax
from flax import nnx
from jax.sharding import NamedSharding, PartitionSpec as P
from worldsim import parallel

assert jax.device_count() == 8, jax.devices()
RULES = parallel.DEFAULT_RULES
D, M, B = 16, 32, 8


class MLP(nnx.Module):
    """Two Linears; every param annotated (pitfall 5)."""

    def __init__(self, *, rngs):
        init = nnx.initializers.lecun_normal()
        zeros = nnx.initializers.zeros_init()
        self.up = nnx.Linear(D, M, rngs=rngs,
                             kernel_init=nnx.with_partitioning(init, ("embed", "mlp")),
                             bias_init=nnx.with_partitioning(zeros, ("mlp",)))
        self.down = nnx.Linear(M, D, rngs=rngs,
                               kernel_init=nnx.with_partitioning(init, ("mlp", "embed")),
                               bias_init=nnx.with_partitioning(zeros, ("embed",)))

    def __call__(self, x):  # x: [B, D]
        h = parallel.shard(jax.nn.gelu(self.up(x)), ("batch", "mlp"))  # [B, M]
        return self.down(h)  # [B, D]


def loss_fn(model, x, y):
    return jnp.mean((model(x) - y) ** 2)


@nnx.jit
def train_step(model, opt, x, y):
    loss, grads = nnx.value_and_grad(loss_fn)(model, x, y)
    opt.update(model, grads)
    return loss


rng = np.random.default_rng(0)
x_np = rng.normal(size=(B, D)).astype(np.float32)
y_np = rng.normal(size=(B, D)).astype(np.float32)


def spec_ok(array, expected):
    """Normalised comparison: P('fsdp', None) and P('fsdp',) are the same layout."""
    return array.sharding.is_equivalent_to(NamedSharding(mesh, expected), array.ndim)


def run(mesh):
    with jax.set_mesh(mesh), nnx.logical_axis_rules(RULES):
        model = MLP(rngs=nnx.Rngs(0))
        opt = nnx.Optimizer(model, optax.adamw(1e-3), wrt=nnx.Param)
        x = parallel.put_batch(x_np, mesh, RULES)
        y = parallel.put_batch(y_np, mesh, RULES)
        losses = [float(train_step(model, opt, x, y)) for _ in range(2)]
    return model, opt, x, losses


out = {}
mesh = parallel.make_mesh({"data": 2, "fsdp": 2, "tensor": 2})
out["mesh_shape"] = dict(mesh.shape)
model, opt, x, losses = run(mesh)
out["losses_8"] = losses

expected = {
    "up.kernel": P("fsdp", "tensor"), "up.bias": P("tensor"),
    "down.kernel": P("tensor", "fsdp"), "down.bias": P("fsdp"),
}
params = {"up.kernel": model.up.kernel, "up.bias": model.up.bias,
          "down.kernel": model.down.kernel, "down.bias": model.down.bias}
adam = opt.opt_state[0]  # ScaleByAdamState(count, mu, nu)
out["param_ok"] = {k: spec_ok(v[...], expected[k]) for k, v in params.items()}
out["mu_ok"] = {
    "up.kernel": spec_ok(adam.mu["up"]["kernel"][...], expected["up.kernel"]),
    "down.kernel": spec_ok(adam.mu["down"]["kernel"][...], expected["down.kernel"]),
}
out["nu_ok"] = {
    "up.kernel": spec_ok(adam.nu["up"]["kernel"][...], expected["up.kernel"]),
    "down.kernel": spec_ok(adam.nu["down"]["kernel"][...], expected["down.kernel"]),
}
out["up_kernel_local_shape"] = list(model.up.kernel[...].addressable_shards[0].data.shape)

# state_shardings must agree with where the arrays actually live.
sh = parallel.state_shardings(nnx.state((model, opt)), mesh, RULES)
arrays = nnx.state((model, opt))
pairs = zip(jax.tree.leaves(sh), jax.tree.leaves(arrays), strict=True)
out["state_shardings_ok"] = all(s.is_equivalent_to(a.sharding, a.ndim) for s, a in pairs)

out["batch_ok"] = spec_ok(x, P(("data", "fsdp"), None))
out["batch_shape"] = list(x.shape)
out["batch_local_shape"] = list(x.addressable_shards[0].data.shape)

with jax.set_mesh(mesh), nnx.logical_axis_rules(RULES):
    act = jax.jit(lambda v: parallel.shard(v * 2.0, ("batch", "mlp")))(jnp.ones((B, M)))
    act_seq = jax.jit(lambda v: parallel.shard(v + 1.0, ("batch", "seq", "embed")))(
        jnp.ones((B, 4, D)))
out["shard_ok"] = spec_ok(act, P(("data", "fsdp"), "tensor"))
out["shard_seq_ok"] = spec_ok(act_seq, P(("data", "fsdp"), "sequence", None))
out["shard_value_ok"] = bool(jnp.all(act == 2.0))

one = parallel.make_mesh({"data": 1}, devices=jax.devices()[:1])
_, _, x1, losses_1 = run(one)
out["losses_1"] = losses_1
out["batch_1_devices"] = len(x1.sharding.device_set)
print(json.dumps(out))
'''


@pytest.fixture(scope="module")
def child() -> dict:
    env = dict(os.environ)
    env["XLA_FLAGS"] = "--xla_force_host_platform_device_count=8"
    env["JAX_PLATFORMS"] = "cpu"
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    proc = subprocess.run(
        [sys.executable, "-c", CHILD],
        env=env,
        cwd=REPO,
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, f"child failed:\n{proc.stdout}\n{proc.stderr[-4000:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_mesh_has_the_requested_shape(child):
    assert child["mesh_shape"] == {"data": 2, "fsdp": 2, "tensor": 2, "sequence": 1}


def test_params_are_sharded_as_the_rules_say(child):
    assert all(child["param_ok"].values()), child["param_ok"]
    assert child["up_kernel_local_shape"] == [8, 16]  # [D/fsdp, M/tensor] of [16, 32]


def test_adamw_moments_follow_param_shardings(child):
    assert all(child["mu_ok"].values()), child["mu_ok"]
    assert all(child["nu_ok"].values()), child["nu_ok"]


def test_state_shardings_match_live_arrays(child):
    assert child["state_shardings_ok"]


def test_sharded_train_step_matches_one_device(child):
    assert child["losses_8"] == pytest.approx(child["losses_1"], abs=1e-5)
    assert child["losses_8"][1] < child["losses_8"][0]  # the step actually updated


def test_put_batch_shards_leading_axis_over_data_and_fsdp(child):
    assert child["batch_ok"]
    assert child["batch_shape"] == [8, 16]
    assert child["batch_local_shape"] == [2, 16]  # 8 rows over data*fsdp = 4
    assert child["batch_1_devices"] == 1


def test_shard_constrains_activations_inside_jit(child):
    assert child["shard_ok"]
    assert child["shard_seq_ok"]
    assert child["shard_value_ok"]
