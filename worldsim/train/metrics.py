"""Metric logging: a JSONL file plus TensorBoard scalars, and the console progress line.

Only process 0 should create a :class:`MetricsWriter`. Values are pulled to the host
here, so hand it the metrics of the *previous* step (read one step late) to keep the
device busy.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

# Peak dense bf16 FLOP/s per device (vendor figures, no sparsity). Keys are matched
# against `jax.devices()[0].device_kind` by `peak_flops`.
PEAK_FLOPS_PER_DEVICE: dict[str, float] = {
    "TPU v4": 275e12,
    "TPU v5e": 197e12,
    "TPU v5p": 459e12,
    "TPU v6e": 918e12,
    "H100": 989e12,  # SXM
    "H100 PCIe": 756e12,
    "H200": 989e12,
    "A100": 312e12,
}

# (substrings that must all occur in the lower-cased device_kind, table key); first hit
# wins, so more specific patterns come first. jax reports e.g. "TPU v4", "TPU v5 lite"
# (v5e), "TPU v5" / "TPU v5p", "TPU v6 lite" (v6e), "NVIDIA H100 80GB HBM3", "cpu".
_KIND_PATTERNS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("v5 lite",), "TPU v5e"),
    (("v5e",), "TPU v5e"),
    (("v5p",), "TPU v5p"),
    (("tpu", "v5"), "TPU v5p"),
    (("v6 lite",), "TPU v6e"),
    (("v6e",), "TPU v6e"),
    (("tpu", "v4"), "TPU v4"),
    (("h100", "pcie"), "H100 PCIe"),
    (("h100",), "H100"),
    (("h200",), "H200"),
    (("a100",), "A100"),
)


def peak_flops(device_kind: str, override: float | None = None) -> float | None:
    """Peak bf16 FLOP/s of one device of this kind, ``override`` if given, else None.

    None (e.g. CPU, unknown accelerators) means "do not report MFU".
    """
    if override is not None:
        return float(override)
    kind = device_kind.lower()
    for needles, key in _KIND_PATTERNS:
        if all(n in kind for n in needles):
            return PEAK_FLOPS_PER_DEVICE[key]
    return None


def _to_float(value: Any) -> float:
    arr = np.asarray(value)
    if arr.size != 1:
        raise ValueError(f"metrics must be scalars, got shape {arr.shape}")
    return float(arr.reshape(()))


class MetricsWriter:
    """Appends ``{"step": s, **metrics}`` lines to ``workdir/metrics.jsonl`` and TB scalars.

    On resume pass ``resume_step``: JSONL lines with ``step >= resume_step`` are dropped
    and TensorBoard is told to purge events from that step on (``purge_step``), so a
    step that is re-run after a restart appears once.
    """

    def __init__(
        self,
        workdir: str | os.PathLike,
        *,
        tensorboard: bool = True,
        resume_step: int | None = None,
    ):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.path = self.workdir / "metrics.jsonl"
        if resume_step is not None:
            self.truncate_after(resume_step)
        self._file = open(self.path, "a", encoding="utf-8")
        self._tb = None
        if tensorboard:
            from tensorboardX import SummaryWriter

            self._tb = SummaryWriter(str(self.workdir / "tb"), purge_step=resume_step)

    def truncate_after(self, step: int) -> int:
        """Drop JSONL lines whose step is ``>= step``; returns how many lines were kept.

        Rewrites through a temporary file and ``os.replace`` so a crash cannot leave a
        half-written log. Unparseable lines (a torn last line) are dropped too.
        """
        if getattr(self, "_file", None) is not None:
            self._file.flush()
        if not self.path.exists():
            return 0
        kept = []
        with open(self.path, encoding="utf-8") as f:
            for line in f:
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if record.get("step", math.inf) < step:
                    kept.append(json.dumps(record) + "\n")
        tmp = self.path.with_suffix(".jsonl.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            f.writelines(kept)
        os.replace(tmp, self.path)
        if getattr(self, "_file", None) is not None:
            self._file.close()
            self._file = open(self.path, "a", encoding="utf-8")
        return len(kept)

    def write(self, step: int, metrics: Mapping[str, Any]) -> None:
        """Log scalar ``metrics`` for ``step`` (jax/numpy scalars are pulled to host)."""
        scalars = {k: _to_float(v) for k, v in metrics.items()}
        self._file.write(json.dumps({"step": int(step), **scalars}) + "\n")
        self._file.flush()
        if self._tb is not None:
            for k, v in scalars.items():
                self._tb.add_scalar(k, v, global_step=int(step))

    def flush(self) -> None:
        self._file.flush()
        if self._tb is not None:
            self._tb.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._tb is not None:
            self._tb.close()
            self._tb = None

    def __enter__(self) -> MetricsWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _format_duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s"


def _si(x: float) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(x) >= scale:
            return f"{x / scale:.1f}{unit}"
    return f"{x:.1f}"


def format_progress(
    step: int,
    total_steps: int,
    metrics: Mapping[str, Any],
    steps_per_s: float,
    tokens_per_s: float | None = None,
    flops_per_step: float | None = None,
    num_devices: int = 1,
    peak_flops_per_device: float | None = None,
) -> str:
    """One console line: progress, ETA, loss, grad_norm, lr, throughput, TFLOP/s and MFU.

    ``flops_per_step`` is the model FLOPs of one step summed over all devices (e.g.
    ``6 * params * tokens`` for a transformer). MFU (PaLM, Chowdhery et al. 2022,
    App. B) = achieved FLOP/s / (``num_devices`` * peak); shown only when both the
    FLOPs and the peak are known.
    """
    pct = 100.0 * step / max(total_steps, 1)
    eta = (total_steps - step) / steps_per_s if steps_per_s > 0 else math.inf
    parts = [f"step {step}/{total_steps} ({pct:.1f}%)", f"eta {_format_duration(eta)}"]
    for key, label, fmt in (
        ("loss", "loss", ".4f"),
        ("grad_norm", "grad_norm", ".3g"),
        ("learning_rate", "lr", ".2e"),
        ("lr", "lr", ".2e"),
    ):
        if key in metrics:
            parts.append(f"{label} {_to_float(metrics[key]):{fmt}}")
    parts.append(f"{steps_per_s:.2f} steps/s")
    if tokens_per_s is not None:
        parts.append(f"{_si(tokens_per_s)} tok/s")
    if flops_per_step is not None:
        achieved = flops_per_step * steps_per_s
        tflops = achieved / 1e12
        parts.append(f"{tflops:.1f} TFLOP/s" if tflops >= 1 else f"{tflops:.3g} TFLOP/s")
        if peak_flops_per_device:
            parts.append(f"MFU {100.0 * achieved / (num_devices * peak_flops_per_device):.1f}%")
    return " | ".join(parts)


def plot_metrics(
    metrics_jsonl: str | os.PathLike,
    out_png: str | os.PathLike,
    keys: tuple[str, ...] = ("loss", "eval_loss", "eval_loss_ema", "grad_norm", "learning_rate"),
) -> Path | None:
    """Curves of `keys` from a `metrics.jsonl` against step, one panel per key (PNG).

    Losses use a log scale. Returns the path written, or None if nothing to plot.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series: dict[str, tuple[list[int], list[float]]] = {}
    with open(metrics_jsonl, encoding="utf-8") as f:
        for line in f:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            for key in keys:
                value = record.get(key)
                if value is not None and math.isfinite(value):
                    xs, ys = series.setdefault(key, ([], []))
                    xs.append(int(record["step"]))
                    ys.append(float(value))
    if not series:
        return None
    panels = [("loss", [k for k in series if "loss" in k])]
    panels += [(k, [k]) for k in series if "loss" not in k]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.2), squeeze=False)
    for ax, (title, names) in zip(axes[0], panels, strict=True):
        for name in names:
            ax.plot(*series[name], label=name, marker="o" if len(series[name][0]) < 20 else None)
        if title == "loss" and all(min(series[n][1]) > 0 for n in names):
            ax.set_yscale("log")
        ax.set_title(title)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        if len(names) > 1:
            ax.legend()
    fig.tight_layout()
    out_png = Path(out_png)
    fig.savefig(out_png, dpi=90)
    plt.close(fig)
    return out_png
