"""Tests for worldsim.train.checkpoint: round trip, retention, corruption fallback, grain state."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import grain
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

import worldsim.parallel as wp
from worldsim.train.checkpoint import Checkpointer, CheckpointError

# A failed orbax restore (the corruption test) leaves read coroutines behind; they are
# garbage-collected during a *later* test as "Event loop is closed". Harmless.
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")

REPO = Path(__file__).resolve().parents[2]


class _MLP(nnx.Module):
    def __init__(self, rngs: nnx.Rngs):
        init = nnx.initializers.lecun_normal()
        self.fc1 = nnx.Linear(
            4, 8, kernel_init=nnx.with_partitioning(init, ("embed", "mlp")), rngs=rngs
        )
        self.fc2 = nnx.Linear(
            8, 4, kernel_init=nnx.with_partitioning(init, ("mlp", "embed")), rngs=rngs
        )

    def __call__(self, x):
        return self.fc2(jax.nn.relu(self.fc1(x)))


def _make(seed: int):
    model = _MLP(nnx.Rngs(seed))
    opt = nnx.Optimizer(model, optax.adamw(1e-3), wrt=nnx.Param)
    return model, opt


def _train_step(model, opt, seed: int):
    x = jax.random.normal(jax.random.key(seed), (5, 4))
    grads = nnx.grad(lambda m: jnp.mean(m(x) ** 2))(model)
    opt.update(model, grads)


def _abstract(mesh):
    abs_state = nnx.state(nnx.eval_shape(lambda: _make(0)))
    shardings = nnx.get_named_sharding(abs_state, mesh)
    return {
        "state": jax.tree.map(
            lambda a, s: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=s), abs_state, shardings
        )
    }


def _state(model, opt):
    return {"state": nnx.state((model, opt))}


def _leaves(state):
    return [np.asarray(x) for x in jax.tree.leaves(state)]


@pytest.fixture
def mesh():
    m = wp.make_mesh({"data": -1})
    with jax.set_mesh(m), nnx.logical_axis_rules(wp.DEFAULT_RULES):
        yield m


def test_round_trip_keep_and_config(tmp_path, mesh):
    model, opt = _make(0)
    config = {"lr": 1e-3, "mesh": (1, 2), "name": "tiny"}
    ckpt = Checkpointer(tmp_path / "ckpt", keep=2)
    assert ckpt.restore(_abstract(mesh)) is None
    for step in range(1, 4):
        _train_step(model, opt, step)
        ckpt.save(step, _state(model, opt), config=config)
    ckpt.wait()
    assert ckpt.all_steps() == [2, 3]
    assert ckpt.latest_step() == 3

    step, state = ckpt.restore(_abstract(mesh))
    assert step == 3
    expected = _leaves(_state(model, opt))
    got = _leaves(state)
    assert len(got) == len(expected)
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_array_equal(a, b)
    model2, opt2 = _make(1)
    nnx.update((model2, opt2), state["state"])
    assert int(opt2.step[...]) == 3
    np.testing.assert_array_equal(model2.fc1.kernel[...], model.fc1.kernel[...])
    assert ckpt.restore_config() == {"lr": 1e-3, "mesh": [1, 2], "name": "tiny"}

    # explicit step; a missing step is a clear error
    assert ckpt.restore(_abstract(mesh), step=2)[0] == 2
    with pytest.raises(CheckpointError, match="step 1"):
        ckpt.restore(_abstract(mesh), step=1)
    ckpt.close()


def _corrupt(step_dir: Path) -> None:
    files = [p for p in (step_dir / "state").rglob("*") if p.is_file()]
    data_files = [p for p in files if "d" in p.parts and p.stat().st_size > 0] or [
        p for p in files if p.stat().st_size > 0
    ]
    for p in data_files:
        p.write_bytes(b"garbage")


def test_corrupt_newest_falls_back(tmp_path, mesh):
    model, opt = _make(0)
    ckpt = Checkpointer(tmp_path / "ckpt", keep=3, async_save=False)
    for step in (10, 20):
        _train_step(model, opt, step)
        ckpt.save(step, _state(model, opt))
        if step == 10:
            expected = _leaves(_state(model, opt))
    ckpt.wait()
    _corrupt(tmp_path / "ckpt" / "20")

    with pytest.warns(RuntimeWarning, match="step 20"):
        step, state = ckpt.restore(_abstract(mesh))
    assert step == 10
    for a, b in zip(_leaves(state), expected, strict=True):
        np.testing.assert_array_equal(a, b)
    # The unreadable step is moved aside (not deleted), so step 20 can be written again.
    assert ckpt.all_steps() == [10]
    assert [p.name.split("-")[0] for p in (tmp_path / "ckpt.unreadable").iterdir()] == ["20"]

    _corrupt(tmp_path / "ckpt" / "10")
    with pytest.warns(RuntimeWarning), pytest.raises(CheckpointError, match="step 10"):
        ckpt.restore(_abstract(mesh))
    ckpt.close()


def test_a_reader_skips_a_corrupt_step_in_memory_and_changes_nothing(tmp_path, mesh):
    model, opt = _make(0)
    with Checkpointer(tmp_path / "ckpt", keep=3, async_save=False) as ckpt:
        for step in (10, 20):
            _train_step(model, opt, step)
            ckpt.save(step, _state(model, opt))
    _corrupt(tmp_path / "ckpt" / "20")
    before = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    with Checkpointer(tmp_path / "ckpt", read_only=True) as reader:
        with pytest.warns(RuntimeWarning, match="step 20") as caught:
            step, _ = reader.restore(_abstract(mesh))
        assert step == 10
        assert all("\n" not in str(w.message) for w in caught)  # one line each
        with pytest.raises(CheckpointError, match="read-only"):
            reader.save(30, _state(model, opt))
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == before
    assert not (tmp_path / "ckpt.unreadable").exists()


def test_only_corruption_falls_back(tmp_path, mesh, monkeypatch):
    """An error that says nothing about the files (memory, I/O) is raised, and nothing moves."""
    from worldsim.train import checkpoint

    model, opt = _make(0)
    with Checkpointer(tmp_path / "ckpt", keep=3, async_save=False) as ckpt:
        for step in (10, 20):
            ckpt.save(step, _state(model, opt))
        for error in (MemoryError("out of memory"), OSError(5, "Input/output error")):

            def fail(*args, error=error, **kwargs):
                raise error

            monkeypatch.setattr(checkpoint.Checkpointer, "_restore_step", fail)
            with pytest.raises(type(error)):
                ckpt.restore(_abstract(mesh))
            assert ckpt.all_steps() == [10, 20]
    assert checkpoint.is_corruption(ValueError("DATA_LOSS: Error reading chunk"))
    assert checkpoint.is_corruption(FileNotFoundError("missing"))
    assert not checkpoint.is_corruption(ValueError("shapes (3,) and (4,) do not match"))


def _loader():
    return iter(grain.MapDataset.range(100).shuffle(seed=0).batch(4).to_iter_dataset())


def test_grain_iterator_resumes(tmp_path, mesh):
    it = _loader()
    for _ in range(3):
        next(it)
    model, opt = _make(0)
    ckpt = Checkpointer(tmp_path / "ckpt", keep=1)
    ckpt.save(3, _state(model, opt), data_iterator=it)
    ckpt.wait()
    expected = [next(it), next(it)]

    fresh = _loader()
    step, _ = ckpt.restore(_abstract(mesh), data_iterator=fresh)
    assert step == 3
    for want in expected:
        np.testing.assert_array_equal(next(fresh), want)
    ckpt.close()


_CROSS_MESH = textwrap.dedent(
    """
    import sys
    import jax, numpy as np
    from flax import nnx
    import worldsim.parallel as wp
    from worldsim.train.checkpoint import Checkpointer
    from tests.train.test_checkpoint import _abstract, _leaves, _make, _state, _train_step

    directory, shape = sys.argv[1], eval(sys.argv[2])
    mesh = wp.make_mesh(shape)
    with jax.set_mesh(mesh), nnx.logical_axis_rules(wp.DEFAULT_RULES):
        ckpt = Checkpointer(directory, keep=1)
        if sys.argv[3] == "save":
            model, opt = _make(0)
            _train_step(model, opt, 1)
            ckpt.save(1, _state(model, opt))
            np.savez(directory + ".npz", *_leaves(_state(model, opt)))
        else:
            step, state = ckpt.restore(_abstract(mesh))
            ref = np.load(directory + ".npz")
            for i, a in enumerate(_leaves(state)):
                np.testing.assert_array_equal(a, ref[f"arr_{i}"])
            k = state["state"][0]["fc1"]["kernel"][...]
            assert k.sharding.mesh.shape == mesh.shape, (k.sharding, mesh.shape)
            assert k.sharding.spec[0] == "fsdp", k.sharding  # ("embed", "mlp") on the new mesh
            print("OK", step, dict(mesh.shape), k.sharding.spec)
        ckpt.close()
    """
)


def test_restore_on_other_mesh(tmp_path):
    env = dict(
        os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=8", JAX_PLATFORMS="cpu"
    )
    directory = str(tmp_path / "ckpt")

    def run(shape, mode):
        return subprocess.run(
            [sys.executable, "-c", _CROSS_MESH, directory, shape, mode],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    saved = run("{'data': 2, 'fsdp': 2, 'tensor': 2}", "save")
    assert saved.returncode == 0, saved.stderr[-3000:]
    restored = run("{'fsdp': 4, 'data': -1}", "restore")
    assert restored.returncode == 0, restored.stderr[-3000:]
    assert "OK 1" in restored.stdout
