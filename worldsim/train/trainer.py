"""The training loop: mesh -> data -> abstract init -> sharded init or restore -> loop.

    result = train(config, workdir, task, data_dir=...)   # a recipe calls this

Reads top to bottom. Everything model-specific arrives through a `Task`
(`worldsim.train.tasks`, built by a recipe in worldsim/recipes/); everything
scale-specific through the config's mesh and rules. The same function runs on one
CPU, 8 fake devices, several processes and a pod.

Fault tolerance:
* a checkpoint every `checkpoint.every_steps` and at the end (async, atomic:
  `worldsim.train.checkpoint`); a run started again on the same workdir resumes
  from the newest readable one, with the data iterator where it was;
* `metrics.jsonl` lines past the resumed step are dropped, so after any number of
  kills the log reads as one uninterrupted run;
* SIGTERM / SIGINT finish the current step, save, and return with the signal in the
  result (the CLI exits 128 + signal number: 130, 143); a second SIGINT aborts at once;
* a non-finite step is skipped inside the jitted step; `train.max_bad_steps` in a
  row save the (unchanged) state and stop with `TooManyBadSteps`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from jax.experimental import multihost_utils

from worldsim.parallel import (
    batch_sharding,
    is_main_process,
    make_mesh,
    put_batch,
    rules_from_config,
)
from worldsim.train import inputs
from worldsim.train.checkpoint import Checkpointer
from worldsim.train.config import save_config
from worldsim.train.metrics import MetricsWriter, format_progress, peak_flops, plot_metrics
from worldsim.train.optim import TooManyBadSteps, make_optimizer, make_schedule
from worldsim.train.settings import RunSettings, TrainSettings, validate
from worldsim.train.step import (
    StepConfig,
    abstract_train_state,
    describe_shardings,
    jit_eval_step,
    jit_train_step,
    largest_param_names,
    sharded_init,
)
from worldsim.train.tasks import Task


@dataclasses.dataclass(frozen=True)
class TrainResult:
    step: int  # steps completed (the newest checkpoint's step)
    status: str  # "done" | "interrupted" (stopped early: --stop-at or a signal)
    signal: int | None = None  # the signal that stopped it (SIGINT, SIGTERM), if any


def log(message: str) -> None:
    if is_main_process():
        print(message, flush=True)


def _schedule_args(train: TrainSettings) -> dict[str, Any]:
    """Learning rate and schedule lengths in *applied updates* (micro-steps / accumulation)."""
    k = train.grad_accum_steps
    warmup = train.warmup_steps // k
    return dict(
        learning_rate=train.learning_rate,
        warmup_steps=warmup,
        total_steps=max(train.steps // k, warmup + 1),
    )


def make_tx(train: TrainSettings):
    """The optimizer from the train settings (AdamW, warmup+cosine, clipping, accumulation)."""
    return make_optimizer(
        **_schedule_args(train),
        weight_decay=train.weight_decay,
        grad_clip_norm=train.grad_clip_norm or math.inf,
        grad_accum_steps=train.grad_accum_steps,
    )


def step_config(settings: RunSettings, task: Task, graphdef: nnx.GraphDef, tx) -> StepConfig:
    train = settings.train
    return StepConfig(
        graphdef=graphdef,
        loss_fn=task.loss_fn,
        tx=tx,
        seed=settings.seed,
        compute_dtype=train.compute_dtype,
        ema_decay=train.ema_decay,
        nan_steps=train.nan_steps,
        schedule=make_schedule(**_schedule_args(train)),
        grad_accum_steps=train.grad_accum_steps,
    )


def batch_shardings(task: Task, mesh, rules, global_batch: int) -> dict:
    return {
        name: batch_sharding(mesh, rules, len(shape.shape))
        for name, shape in task.batch_shapes(global_batch).items()
    }


def load_or_init(
    settings: RunSettings, task: Task, tx, abstract, shardings, ckpt: Checkpointer, data_iterator
) -> tuple[Any, int, str]:
    """The one place that decides where parameters come from: (state, step, origin).

    1. the newest readable checkpoint in the workdir (resume; the data iterator is
       repositioned, the state lands in `shardings` whatever mesh wrote it);
    2. else `init_from`, a checkpoint directory of another run: its parameters, EMA
       and other model variables (only those items are read), with a fresh optimizer;
    3. else a fresh initialisation from `seed`.
    """
    restored = ckpt.restore(abstract, data_iterator=data_iterator)
    if restored is not None:
        step, state = restored
        return state, step, f"resumed from step {step} in {ckpt.directory}"
    state = sharded_init(task.make_model, tx, settings.seed, settings.train.param_dtype, shardings)
    if settings.init_from:
        model_items = ("params", "rest", "ema")
        with Checkpointer(Path(settings.init_from), read_only=True) as source:
            found = source.restore({k: abstract[k] for k in model_items})
        if found is None:
            raise FileNotFoundError(
                f"config field 'init_from' = {settings.init_from!r}: no checkpoint there"
            )
        source_step, source_state = found
        state.update(source_state)
        return state, 0, f"initialised from {settings.init_from} (step {source_step})"
    return state, 0, f"fresh initialisation (seed {settings.seed})"


class _StopFlag:
    """Set by SIGTERM/SIGINT; the loop saves and returns at the next step boundary."""

    def __init__(self) -> None:
        self.requested = False
        self.signum: int | None = None

    def __call__(self, signum: int, frame: Any) -> None:
        if self.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt  # second Ctrl-C: abort now
        self.requested = True
        self.signum = signum
        log(f"received {signal.Signals(signum).name}: saving a checkpoint after this step")

    def everywhere(self) -> bool:
        """True if any process was asked to stop (all processes must save the same step)."""
        if jax.process_count() == 1:
            return self.requested
        flags = multihost_utils.process_allgather(np.array([self.requested]))
        return bool(np.any(flags))


@contextlib.contextmanager
def _signals(flag: _StopFlag) -> Iterator[None]:
    previous = {}
    try:
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(sig, flag)
    except ValueError:  # not the main thread (e.g. a notebook worker): no handlers
        pass
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _host_scalars(metrics: dict) -> dict[str, float]:
    return {k: float(np.asarray(v)) for k, v in jax.device_get(metrics).items()}


def train(
    config: Any,
    workdir: str | Path,
    task: Task,
    *,
    data_dir: str,
    stop_at: int | None = None,
    verbose: bool = False,
) -> TrainResult:
    """Trains `task` with the engine fields of `config` in `workdir`, resuming if a
    checkpoint is there. `data_dir`: the dataset, already resolved (`inputs.ensure_dataset`).

    stop_at: save and return after this step even if `train.steps` is not reached
    (a job of bounded length; the schedule still follows `train.steps`). verbose: also
    log the shardings of the largest parameters.
    """
    workdir = Path(workdir)
    settings = validate(config, num_devices=jax.device_count())
    train_cfg = settings.train
    total_steps = train_cfg.steps
    last_step = total_steps if stop_at is None else min(stop_at, total_steps)

    # ---------------------------------------------------------------- mesh
    mesh = make_mesh(settings.mesh)
    rules = rules_from_config(settings.rules)
    with jax.set_mesh(mesh), nnx.logical_axis_rules(rules):
        tx = make_tx(train_cfg)

        # ------------------------------------------------------------ data
        data_it = (task.train_iterator or inputs.train_iterator)(
            settings.data, data_dir, settings.seed
        )
        eval_data = (task.eval_batches or inputs.eval_batches)(
            settings.data, data_dir, settings.seed, train_cfg.eval_batches
        )

        # ------------------------------------------------- abstract init
        graphdef, abstract, shardings = abstract_train_state(
            task.make_model, tx, settings.seed, train_cfg.param_dtype, mesh
        )
        num_params = sum(math.prod(x.shape) for x in jax.tree.leaves(abstract["params"]))
        global_batch = settings.data.batch_size
        flops = task.flops_per_step(global_batch) if task.flops_per_step else None
        tokens = task.tokens_per_step(global_batch) if task.tokens_per_step else None

        # ------------------------------------- sharded init or restore
        workdir.mkdir(parents=True, exist_ok=True)
        ckpt = Checkpointer(workdir / "checkpoints", keep=settings.checkpoint.keep)
        state, start_step, origin = load_or_init(
            settings, task, tx, abstract, shardings, ckpt, data_it
        )
        if is_main_process():
            save_config(config, workdir / "config.json")
        log(
            f"worldsim train: {task.name}, {num_params / 1e6:.2f}M params, mesh "
            f"{dict(mesh.shape)} on {jax.device_count()} {jax.devices()[0].platform} device(s), "
            f"{jax.process_count()} process(es); global batch {global_batch}"
            + (f"; {flops / 1e9:.2f} GFLOP/step" if flops else "")
        )
        log(f"parameters: {origin}")
        if verbose:
            for line in describe_shardings(state, largest_param_names(state["params"])):
                log(f"  {line}")

        # ---------------------------------------------------------- step
        cfg = step_config(settings, task, graphdef, tx)
        batch_sh = batch_shardings(task, mesh, rules, global_batch)
        train_fn = jit_train_step(cfg, shardings, batch_sh)
        eval_fn = jit_eval_step(cfg, shardings, batch_sh)
        peak = peak_flops(jax.devices()[0].device_kind, train_cfg.peak_flops_per_device or None)

        writer = MetricsWriter(workdir, resume_step=start_step + 1) if is_main_process() else None
        stop = _StopFlag()
        step = start_step
        pending: tuple[int, dict, int] | None = None
        too_many_bad: list[str] = []  # set by `consume` when the run must stop
        clock = {"time": time.perf_counter(), "step": start_step}

        def consume(item: tuple[int, dict, int]) -> None:
            """Host side of step `s`, one step late: stop check, log line, console."""
            s, metrics, crc = item
            values = _host_scalars(metrics)
            max_bad = train_cfg.max_bad_steps
            if values["step_ok"] < 1:
                log(
                    f"step {s}: non-finite loss or gradients, update skipped "
                    f"({int(values['bad_streak'])} in a row, {int(values['bad_total'])} in all)"
                )
            if max_bad and values["bad_streak"] >= max_bad and not too_many_bad:
                too_many_bad.append(
                    f"{int(values['bad_streak'])} consecutive steps (last: step {s}) had a "
                    f"non-finite loss or gradients (train.max_bad_steps={max_bad}). Each was "
                    "skipped, leaving the parameters unchanged, so the checkpoint just saved at "
                    "step {step} in {directory} holds finite parameters (the metrics are read one "
                    "step late, hence the extra step). Lower the learning rate or check the data "
                    "near there."
                )
            if s % train_cfg.log_every and s != total_steps:
                return
            now = time.perf_counter()
            steps_per_s = (s - clock["step"]) / max(now - clock["time"], 1e-9)
            clock.update(time=now, step=s)
            row = {
                "loss": values["loss"],
                "grad_norm": values["grad_norm"],
                "learning_rate": values["learning_rate"],
                "steps_per_s": steps_per_s,
                "param_norm": values["param_norm"],
                "update_norm": values["update_norm"],
                "skipped_steps": values["bad_total"],
                "batch_crc": crc,
                **{k: v for k, v in values.items() if k not in _STEP_FIELDS},
            }
            if tokens:
                row["tokens_per_s"] = tokens * steps_per_s
            if writer is not None:
                writer.write(s, row)
            log(
                format_progress(
                    s,
                    total_steps,
                    row,
                    steps_per_s,
                    tokens_per_s=row.get("tokens_per_s"),
                    flops_per_step=flops,
                    num_devices=jax.device_count(),
                    peak_flops_per_device=peak,
                )
            )

        def flush() -> None:
            nonlocal pending
            if pending is not None:
                consume(pending)
                pending = None

        def evaluate(s: int) -> None:
            totals: dict[str, float] = {}
            for host_batch in eval_data:
                batch = put_batch(task.prepare_batch(host_batch), mesh, rules)
                for k, v in _host_scalars(eval_fn(state, batch)).items():
                    totals[k] = totals.get(k, 0.0) + v / len(eval_data)
            if writer is not None:
                writer.write(s, totals)
            log(f"step {s}: " + ", ".join(f"{k} {v:.4f}" for k, v in totals.items()))

        # ---------------------------------------------------------- loop
        status = "done"
        with _signals(stop):
            while step < last_step:
                host_batch = next(data_it)
                crc = inputs.batch_fingerprint(host_batch)
                batch = put_batch(task.prepare_batch(host_batch), mesh, rules)
                state, metrics = train_fn(state, batch, jnp.int32(step))
                step += 1
                flush()  # the previous step's metrics: the device is already busy
                pending = (step, metrics, crc)
                if too_many_bad:
                    # Bad steps changed nothing, so `state` is the last good one.
                    flush()
                    ckpt.save(step, state, data_iterator=data_it, config=config, force=True)
                    ckpt.close()
                    if writer is not None:
                        writer.close()
                    raise TooManyBadSteps(
                        too_many_bad[0].format(step=step, directory=ckpt.directory)
                    )
                stopping = stop.everywhere()
                at_eval = step % train_cfg.eval_every == 0 or step == total_steps
                at_save = (
                    step % settings.checkpoint.every_steps == 0 or step == last_step or stopping
                )
                if at_eval or at_save:
                    flush()  # metrics up to `step` are on disk before its checkpoint
                if at_eval:
                    evaluate(step)
                if at_save:
                    ckpt.save(step, state, data_iterator=data_it, config=config, force=True)
                if stopping:
                    status = "interrupted"
                    break
            flush()
        ckpt.close()
        if writer is not None:
            writer.close()
            plot_metrics(writer.path, workdir / "metrics.png")
        if status == "interrupted" or step < total_steps:
            status = "interrupted"
            why = f" by {signal.Signals(stop.signum).name}" if stop.signum else ""
            log(f"stopped{why} at step {step}; checkpoint saved. Run the same command to resume.")
        else:
            log(f"done: {step} steps; checkpoints in {ckpt.directory}, curves in metrics.png")
        return TrainResult(step=step, status=status, signal=stop.signum)


# Fields of the step's metrics dict that the log row already renames or that are internal.
_STEP_FIELDS = frozenset(
    {
        "loss",
        "grad_norm",
        "learning_rate",
        "param_norm",
        "update_norm",
        "step_ok",
        "bad_streak",
        "bad_total",
    }
)
