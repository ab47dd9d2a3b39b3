"""Optimizer, learning-rate schedule, EMA and the non-finite step guard.

Everything here is a pure function of explicit arguments; the trainer passes the
config fields it needs, nothing reads the whole config.

Typical use inside the jitted step (nnx, functional form)::

    loss, grads = nnx.value_and_grad(loss_fn)(model, batch)
    ok = all_finite(loss, grads)
    before = nnx.as_pure(nnx.state((model, opt)))
    opt.update(model, grads)                       # flax>=0.11: (model, grads)
    after = nnx.as_pure(nnx.state((model, opt)))
    nnx.update((model, opt), guarded_update(before, after, ok))
    ema = ema_update(ema, nnx.as_pure(nnx.state(model, nnx.Param)), decay)  # also guard it
    metrics = {"loss": loss, "grad_norm": optax.tree.norm(grads), "step_ok": ok, ...}

and on the host, one step late: ``bad_steps.update(bool(metrics["step_ok"]), step)``.

Why not ``optax.apply_if_finite``: it only inspects the *gradients* (a NaN loss with
finite grads slips through), it leaves the nnx ``opt.step`` counter and anything outside
the optax state advancing, and — verified in optax 0.2.8 source — once more than
``max_consecutive_errors`` bad steps occur in a row it *applies the non-finite update*
("gives up and accepts"), which would write NaNs into the parameters. We want the
opposite: never apply a bad update, and stop the run from the host after K in a row.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import optax

from worldsim.errors import WorldsimError

PyTree = Any


def make_schedule(
    learning_rate: float,
    warmup_steps: int,
    total_steps: int,
    end_fraction: float = 0.0,
) -> optax.Schedule:
    """Linear warmup from 0 to ``learning_rate`` then cosine decay to ``end_fraction * lr``.

    ``total_steps`` counts *optimizer* updates and includes the warmup (optax's
    ``decay_steps``). With gradient accumulation the schedule advances once per
    applied update, not per micro-step. Cosine decay: Loshchilov & Hutter, SGDR (2017).
    """
    if total_steps <= warmup_steps:
        raise ValueError(f"total_steps ({total_steps}) must exceed warmup_steps ({warmup_steps})")
    return optax.warmup_cosine_decay_schedule(
        init_value=0.0,
        peak_value=learning_rate,
        warmup_steps=warmup_steps,
        decay_steps=total_steps,
        end_value=learning_rate * end_fraction,
    )


def make_optimizer(
    *,
    learning_rate: float,
    warmup_steps: int,
    total_steps: int,
    weight_decay: float,
    grad_clip_norm: float,
    grad_accum_steps: int = 1,
    b1: float = 0.9,
    b2: float = 0.95,
    end_fraction: float = 0.0,
) -> optax.GradientTransformation:
    """Global-norm clipping then AdamW (Loshchilov & Hutter 2019) on a warmup+cosine schedule.

    With ``grad_accum_steps > 1`` the chain is wrapped in ``optax.MultiSteps``: each
    micro-step adds its gradient to an accumulator and emits a zero update; every k-th
    micro-step applies the chain to the *mean* gradient (clipping sees the mean, as
    it would for one big batch). ``total_steps`` and ``warmup_steps`` count applied
    updates, i.e. micro-steps / k.

    Weight decay applies to every parameter; pass a mask-aware optimizer if norms and
    biases should be excluded.
    """
    if grad_accum_steps < 1:
        raise ValueError(f"grad_accum_steps must be >= 1, got {grad_accum_steps}")
    schedule = make_schedule(learning_rate, warmup_steps, total_steps, end_fraction)
    tx = optax.chain(
        optax.clip_by_global_norm(grad_clip_norm),
        optax.adamw(schedule, b1=b1, b2=b2, weight_decay=weight_decay),
    )
    if grad_accum_steps > 1:
        tx = optax.MultiSteps(tx, every_k_schedule=grad_accum_steps)
    return tx


def ema_update(ema_params: PyTree, params: PyTree, decay: float | jax.Array) -> PyTree:
    """``ema <- decay * ema + (1 - decay) * params``, leaf by leaf, in the EMA's dtype.

    Initialise the EMA as a *copy* of the initial (or restored) parameters, e.g.
    ``ema = jax.tree.map(jnp.copy, nnx.as_pure(nnx.state(model, nnx.Param)))``, not as
    zeros: zeros would need a bias correction and would make early EMA samples useless.
    Keep the copy in float32 even when training in bf16 (a 0.9999 decay is below bf16
    resolution).
    """
    return jax.tree.map(
        lambda e, p: (decay * e + (1.0 - decay) * p.astype(e.dtype)).astype(e.dtype),
        ema_params,
        params,
    )


def all_finite(*trees: PyTree) -> jax.Array:
    """Scalar bool: every inexact leaf of every tree is finite (no NaN, no ±inf)."""
    leaves = [
        x for x in jax.tree.leaves(trees) if jnp.issubdtype(jnp.asarray(x).dtype, jnp.inexact)
    ]
    if not leaves:
        return jnp.array(True)
    return jnp.stack([jnp.all(jnp.isfinite(x)) for x in leaves]).all()


def guarded_update(old_state: PyTree, new_state: PyTree, ok: jax.Array) -> PyTree:
    """Select ``new_state`` where ``ok`` else ``old_state``, leaf by leaf, inside jit.

    Pass the whole training state (params, optimizer state, step counters, EMA) so a
    bad step changes nothing: the schedule does not advance and Adam's moments are not
    poisoned. Both branches are already computed, so ``jnp.where`` is a cheap select
    (with donated buffers XLA writes it in place); NaNs in the unselected branch do
    not leak because ``where`` does not propagate them.
    """
    ok = jnp.asarray(ok, dtype=bool)
    return jax.tree.map(lambda o, n: jnp.where(ok, n, o), old_state, new_state)


class TooManyBadSteps(WorldsimError):
    """Raised by :class:`BadStepCounter` when the loss/grads stay non-finite."""


class BadStepCounter:
    """Host-side count of consecutive skipped (non-finite) steps.

    The jitted step already refuses bad updates (``guarded_update``); this decides
    when to give up. Feed it the ``step_ok`` metric one step late so the host never
    waits on the device.
    """

    def __init__(self, max_consecutive: int, log: Callable[[str], None] | None = None):
        if max_consecutive < 1:
            raise ValueError(f"max_consecutive must be >= 1, got {max_consecutive}")
        self.max_consecutive = max_consecutive
        self.consecutive = 0
        self.total = 0
        self._log = log

    def update(self, ok: bool, step: int) -> None:
        """Record one step's outcome; raise after ``max_consecutive`` bad steps in a row."""
        if ok:
            self.consecutive = 0
            return
        self.consecutive += 1
        self.total += 1
        if self._log is not None:
            self._log(
                f"step {step}: non-finite loss or gradients, update skipped "
                f"({self.consecutive}/{self.max_consecutive} in a row, {self.total} total)"
            )
        if self.consecutive >= self.max_consecutive:
            raise TooManyBadSteps(
                f"{self.consecutive} consecutive steps (last: step {step}) had a non-finite "
                f"loss or gradients; parameters were left unchanged for each of them. "
                f"Stopping. Restore an earlier checkpoint, lower the learning rate, or "
                f"check the data around this step."
            )
