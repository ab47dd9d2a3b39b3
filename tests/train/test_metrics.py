"""Tests for worldsim.train.metrics: JSONL + TensorBoard writer, progress line, peak FLOPs."""

import json

import jax.numpy as jnp
import numpy as np
import pytest

from worldsim.train.metrics import MetricsWriter, format_progress, peak_flops


def _steps(path):
    return [json.loads(line)["step"] for line in path.read_text().splitlines()]


def test_jsonl_lines_parse_and_hold_scalars(tmp_path):
    with MetricsWriter(tmp_path, tensorboard=False) as w:
        w.write(1, {"loss": jnp.float32(0.5), "grad_norm": np.float64(2.0), "lr": 1e-3})
        w.write(2, {"loss": jnp.array([0.25]), "step_ok": jnp.bool_(True)})
        with pytest.raises(ValueError, match="scalars"):
            w.write(3, {"loss": jnp.ones(2)})
    lines = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert lines == [
        {"step": 1, "loss": 0.5, "grad_norm": 2.0, "lr": 1e-3},
        {"step": 2, "loss": 0.25, "step_ok": 1.0},
    ]
    assert not (tmp_path / "tb").exists()


def test_resume_drops_steps_at_or_after_resume_step_and_appends(tmp_path):
    with MetricsWriter(tmp_path, tensorboard=False) as w:
        for s in range(1, 11):
            w.write(s, {"loss": float(s)})
        assert w.truncate_after(8) == 7  # explicit call mid-run keeps the file usable
        w.write(8, {"loss": 80.0})
    assert _steps(tmp_path / "metrics.jsonl") == [1, 2, 3, 4, 5, 6, 7, 8]

    path = tmp_path / "metrics.jsonl"
    path.write_text(path.read_text() + '{"step": 9, "lo')  # torn last line from a crash
    with MetricsWriter(tmp_path, tensorboard=False, resume_step=6) as w:
        w.write(6, {"loss": 60.0})
        w.write(7, {"loss": 70.0})
    assert _steps(path) == [1, 2, 3, 4, 5, 6, 7]
    assert json.loads(path.read_text().splitlines()[-1])["loss"] == 70.0


def test_tensorboard_event_file_written(tmp_path):
    w = MetricsWriter(tmp_path)
    for s in range(3):
        w.write(s, {"loss": 1.0 / (s + 1)})
    w.close()
    events = list((tmp_path / "tb").glob("events.out.tfevents.*"))
    assert len(events) == 1 and events[0].stat().st_size > 0
    # The tag name is stored in the serialized Summary proto.
    assert b"loss" in events[0].read_bytes()


def test_peak_flops_matches_device_kinds_loosely():
    assert peak_flops("TPU v4") == 275e12
    assert peak_flops("TPU v5 lite") == 197e12
    assert peak_flops("TPU v5e") == 197e12
    assert peak_flops("TPU v5p") == 459e12
    assert peak_flops("TPU v5") == 459e12
    assert peak_flops("TPU v6 lite") == 918e12
    assert peak_flops("NVIDIA H100 80GB HBM3") == 989e12
    assert peak_flops("NVIDIA H100 PCIe") == 756e12
    assert peak_flops("NVIDIA H200") == 989e12
    assert peak_flops("NVIDIA A100-SXM4-80GB") == 312e12
    assert peak_flops("cpu") is None
    assert peak_flops("cpu", override=1e12) == 1e12


def test_format_progress_shows_mfu_only_when_flops_and_peak_known():
    m = {"loss": jnp.float32(0.1234), "grad_norm": 1.5, "lr": 3e-4}
    line = format_progress(250, 1000, m, steps_per_s=2.0, tokens_per_s=12_345)
    assert "step 250/1000 (25.0%)" in line
    assert "eta 6m15s" in line  # 750 steps at 2 steps/s
    assert "loss 0.1234" in line and "grad_norm 1.5" in line and "lr 3.00e-04" in line
    assert "12.3k tok/s" in line
    assert "TFLOP/s" not in line and "MFU" not in line

    line = format_progress(250, 1000, m, 2.0, flops_per_step=100e12, num_devices=4)
    assert "200.0 TFLOP/s" in line and "MFU" not in line  # peak unknown (e.g. CPU)

    line = format_progress(
        250, 1000, m, 2.0, flops_per_step=100e12, num_devices=4, peak_flops_per_device=100e12
    )
    assert "MFU 50.0%" in line

    line = format_progress(0, 1000, {}, steps_per_s=0.0)
    assert "eta ?" in line and "loss" not in line
