"""The train state and the pure, jitted train and eval steps.

The state is one pytree (a dict), so orbax saves it, `jax.jit` donates it and
`nnx.get_named_sharding` lays it out from the logical-axis annotations alone:

    params      nnx.State of nnx.Param, `param_dtype` (fp32 master weights)
    rest        nnx.State of every other model variable (RNG counters, stats)
    opt         optax state over `params` (AdamW moments inherit the params' axes)
    ema         nnx.State, an exponential moving average of `params`, always fp32
    counters    {bad_streak: int32 [], consecutive non-finite steps (the host stops after
                K); bad_total: int32 [], all non-finite steps skipped so far}

Each top-level entry is its own checkpoint item (`worldsim.train.checkpoint`), so a
reader restores `ema` and `rest` alone.

The step casts the master weights to `compute_dtype` for the forward and backward
pass (the cast is differentiated, so gradients arrive in fp32), refuses any update
whose loss or gradients are not finite, and returns a flat metrics dict. `step`
enters as an argument so the per-step random key is `fold_in(seed, step)`: a
resumed run draws the same noise as an uninterrupted one.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from worldsim.train.optim import all_finite, ema_update, guarded_update

PyTree = Any
Batch = dict[str, jax.Array]
TrainState = dict[str, Any]
# (model, batch, key) -> (scalar loss, metrics); pure, differentiable in the model's params.
LossFn = Callable[[nnx.Module, Batch, jax.Array], tuple[jax.Array, dict[str, jax.Array]]]

DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16, "float16": jnp.float16}


def _cast_floats(tree: PyTree, dtype: Any) -> PyTree:
    """Casts floating leaves to `dtype`; integer leaves (counters) stay as they are."""

    def cast(x):
        return x.astype(dtype) if jnp.issubdtype(x.dtype, jnp.floating) else x

    return jax.tree.map(cast, tree)


def init_train_state(
    make_model: Callable[[nnx.Rngs], nnx.Module],
    tx: optax.GradientTransformation,
    seed: int,
    param_dtype: str = "float32",
) -> tuple[nnx.GraphDef, TrainState]:
    """Builds the model from `seed` and the full train state around it.

    Call under `jax.set_mesh(...)` and `nnx.logical_axis_rules(...)`; inside
    `nnx.eval_shape` it allocates nothing, inside `jax.jit(out_shardings=...)` the
    parameters are born sharded.
    """
    model = make_model(nnx.Rngs(seed))
    graphdef, params, rest = nnx.split(model, nnx.Param, ...)
    params = _cast_floats(params, DTYPES[param_dtype])
    state = {
        "params": params,
        "rest": rest,
        "opt": tx.init(params),
        "ema": _cast_floats(jax.tree.map(jnp.copy, params), jnp.float32),
        "counters": {
            "bad_streak": jnp.zeros((), jnp.int32),
            "bad_total": jnp.zeros((), jnp.int32),
        },
    }
    return graphdef, state


@dataclasses.dataclass(frozen=True)
class StepConfig:
    """The static inputs of the train step (hashable: part of the jit cache key)."""

    graphdef: nnx.GraphDef
    loss_fn: LossFn
    tx: optax.GradientTransformation
    seed: int
    compute_dtype: str = "float32"
    ema_decay: float = 0.999
    # The optimizer's learning-rate schedule (applied updates -> lr), for the metrics.
    schedule: optax.Schedule | None = None
    grad_accum_steps: int = 1
    # Fault injection for tests and drills: these step numbers get a NaN loss.
    nan_steps: tuple[int, ...] = ()


def _loss_and_grads(cfg: StepConfig, params, rest, batch: Batch, key: jax.Array):
    def loss_of(p):
        model = nnx.merge(cfg.graphdef, _cast_floats(p, DTYPES[cfg.compute_dtype]), rest)
        loss, aux = cfg.loss_fn(model, batch, key)
        return loss.astype(jnp.float32), aux

    return jax.value_and_grad(loss_of, has_aux=True)(params)


def train_step(
    cfg: StepConfig, state: TrainState, batch: Batch, step: jax.Array
) -> tuple[TrainState, dict[str, jax.Array]]:
    """One optimizer micro-step; `step` is the 0-based index of this step in the run."""
    key = jax.random.fold_in(jax.random.key(cfg.seed), step)
    counters = state["counters"]
    with jax.named_scope("forward_backward"):
        (loss, aux), grads = _loss_and_grads(cfg, state["params"], state["rest"], batch, key)
    if cfg.nan_steps:
        poisoned = jnp.isin(step, jnp.asarray(cfg.nan_steps))
        loss = jnp.where(poisoned, jnp.nan, loss)
        grads = jax.tree.map(lambda g: jnp.where(poisoned, jnp.nan, g), grads)
    with jax.named_scope("update"):
        updates, opt = cfg.tx.update(grads, state["opt"], state["params"])
        params = optax.apply_updates(state["params"], updates)
        ema = ema_update(state["ema"], params, cfg.ema_decay)
    ok = all_finite(loss, grads)
    # A bad step changes nothing but the counters: params, moments and EMA stay.
    kept = guarded_update(
        {"params": state["params"], "opt": state["opt"], "ema": state["ema"]},
        {"params": params, "opt": opt, "ema": ema},
        ok,
    )
    new_state = {
        **kept,
        "rest": state["rest"],
        "counters": {
            "bad_streak": jnp.where(ok, 0, counters["bad_streak"] + 1).astype(jnp.int32),
            "bad_total": (counters["bad_total"] + (~ok).astype(jnp.int32)).astype(jnp.int32),
        },
    }
    metrics = {
        **{k: v for k, v in aux.items() if k != "loss"},
        "loss": loss,
        "grad_norm": optax.tree.norm(grads),
        "update_norm": optax.tree.norm(updates),
        "param_norm": optax.tree.norm(kept["params"]),
        "step_ok": ok,
        **(
            {"learning_rate": cfg.schedule((step - counters["bad_total"]) // cfg.grad_accum_steps)}
            if cfg.schedule is not None
            else {}
        ),
        **new_state["counters"],
    }
    return new_state, metrics


def eval_step(cfg: StepConfig, state: TrainState, batch: Batch) -> dict[str, jax.Array]:
    """Loss and the loss's other metrics (PSNR, mel L1, ...) of the current and of the EMA
    parameters on one batch (fixed key): `eval_loss`, `eval_loss_ema`, `eval_psnr_ema`, ..."""
    key = jax.random.key(cfg.seed + 1)
    dtype = DTYPES[cfg.compute_dtype]
    out = {}
    for suffix, params in (("", state["params"]), ("_ema", state["ema"])):
        model = nnx.merge(cfg.graphdef, _cast_floats(params, dtype), state["rest"])
        loss, aux = cfg.loss_fn(model, batch, key)
        out[f"eval_loss{suffix}"] = loss.astype(jnp.float32)
        for name, value in aux.items():
            if name != "loss":
                out[f"eval_{name}{suffix}"] = jnp.asarray(value, jnp.float32)
    return out


def jit_train_step(
    cfg: StepConfig, state_shardings: PyTree, batch_shardings: PyTree
) -> Callable[[TrainState, Batch, jax.Array], tuple[TrainState, dict[str, jax.Array]]]:
    """`train_step` jitted with explicit in/out shardings and the state donated."""
    replicated = jax.sharding.NamedSharding(
        jax.tree.leaves(state_shardings)[0].mesh, jax.sharding.PartitionSpec()
    )
    return jax.jit(
        lambda state, batch, step: train_step(cfg, state, batch, step),
        in_shardings=(state_shardings, batch_shardings, replicated),
        out_shardings=(state_shardings, replicated),
        donate_argnums=0,
    )


def jit_eval_step(
    cfg: StepConfig, state_shardings: PyTree, batch_shardings: PyTree
) -> Callable[[TrainState, Batch], dict[str, jax.Array]]:
    replicated = jax.sharding.NamedSharding(
        jax.tree.leaves(state_shardings)[0].mesh, jax.sharding.PartitionSpec()
    )
    return jax.jit(
        lambda state, batch: eval_step(cfg, state, batch),
        in_shardings=(state_shardings, batch_shardings),
        out_shardings=replicated,
    )


def abstract_train_state(
    make_model: Callable[[nnx.Rngs], nnx.Module],
    tx: optax.GradientTransformation,
    seed: int,
    param_dtype: str,
    mesh: jax.sharding.Mesh,
) -> tuple[nnx.GraphDef, TrainState, PyTree]:
    """(graphdef, abstract state with shardings, shardings) without allocating anything.

    Needs the logical-axis rules active (`nnx.logical_axis_rules`). The abstract
    state is what orbax restores into, so restoring onto another mesh reshards.
    """
    return abstract_with_shardings(
        lambda: init_train_state(make_model, tx, seed, param_dtype), mesh
    )


def abstract_with_shardings(
    init: Callable[[], tuple[nnx.GraphDef, PyTree]], mesh: jax.sharding.Mesh
) -> tuple[nnx.GraphDef, PyTree, PyTree]:
    """`init() -> (graphdef, state)` traced abstractly: (graphdef, abstract state carrying
    its shardings from the logical-axis annotations, shardings)."""
    graphdef_box: list[nnx.GraphDef] = []

    def state_only() -> PyTree:
        graphdef, state = init()
        graphdef_box.append(graphdef)
        return state

    abstract = nnx.eval_shape(state_only)
    shardings = nnx.get_named_sharding(abstract, mesh)
    abstract = jax.tree.map(
        lambda a, s: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=s), abstract, shardings
    )
    return graphdef_box[0], abstract, shardings


def inference_state(
    make_model: Callable[[nnx.Rngs], nnx.Module], params_item: str = "ema"
) -> tuple[nnx.GraphDef, PyTree]:
    """(graphdef, {params_item: fp32 params, "rest": other variables}): the checkpoint items
    a reader needs to rebuild the model, and nothing of the optimizer."""
    model = make_model(nnx.Rngs(0))
    graphdef, params, rest = nnx.split(model, nnx.Param, ...)
    return graphdef, {params_item: _cast_floats(params, jnp.float32), "rest": rest}


def sharded_init(
    make_model: Callable[[nnx.Rngs], nnx.Module],
    tx: optax.GradientTransformation,
    seed: int,
    param_dtype: str,
    shardings: PyTree,
) -> TrainState:
    """The train state, initialised directly into its shardings (never whole on one device)."""
    return jax.jit(
        lambda: init_train_state(make_model, tx, seed, param_dtype)[1], out_shardings=shardings
    )()


def describe_shardings(state: TrainState, paths: Sequence[str] = ()) -> list[str]:
    """Lines `path shape spec shard-shape` for the state's arrays (all, or those whose path contains any of `paths`)."""
    lines = []
    for path, leaf in jax.tree_util.tree_leaves_with_path(state):
        name = jax.tree_util.keystr(path, simple=True, separator="/")
        if paths and not any(p in "/" + name + " " for p in paths):
            continue
        sharding = getattr(leaf, "sharding", None)
        spec = getattr(sharding, "spec", None)
        local = f" shard {tuple(sharding.shard_shape(leaf.shape))}" if sharding is not None else ""
        lines.append(f"{name} {tuple(leaf.shape)} {spec}{local}")
    return lines


def largest_param_names(params: PyTree, count: int = 2) -> tuple[str, ...]:
    """Paths (as `describe_shardings` writes them, without the `params/` prefix) of the
    `count` largest parameters: a model-agnostic choice of what to show in a log."""
    sized = [
        (math.prod(leaf.shape), jax.tree_util.keystr(path, simple=True, separator="/"))
        for path, leaf in jax.tree_util.tree_leaves_with_path(params)
    ]
    return tuple("/" + name + " " for _, name in sorted(sized)[-count:])
