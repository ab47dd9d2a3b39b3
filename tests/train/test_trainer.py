"""The trainer in-process on one device: a real run, bad steps, a corrupt checkpoint,
config errors, init_from, and the CLI's error messages."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from worldsim import cli
from worldsim.recipes import train_from_config as train
from worldsim.train.config import load_config
from worldsim.train.optim import TooManyBadSteps

# A failed orbax restore (the corruption test) leaves read coroutines behind.
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")

REPO = Path(__file__).resolve().parents[2]
SMOKE = str(REPO / "experiments/frame_predictor_cpu.py:smoke")


def _config(data_dir: Path, *overrides: str):
    config, rest = load_config(
        [
            "--config",
            SMOKE,
            f"--config.data.dir={data_dir}",
            "--config.train.log_every=1",
            *overrides,
        ]
    )
    assert rest == []
    return config


def _rows(workdir: Path) -> list[dict]:
    return [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]


def test_run_writes_metrics_tensorboard_config_and_checkpoints(tmp_path, data_dir):
    result = train(_config(data_dir), tmp_path)
    assert result.status == "done" and result.step == 6
    rows = _rows(tmp_path)
    steps = [r for r in rows if "loss" in r]
    assert [r["step"] for r in steps] == [1, 2, 3, 4, 5, 6]
    for key in ("loss", "grad_norm", "learning_rate", "steps_per_s", "tokens_per_s"):
        assert all(math.isfinite(r[key]) for r in steps), key
    assert steps[0]["learning_rate"] == 0.0 and steps[2]["learning_rate"] > 0  # warmup
    assert steps[-1]["loss"] < steps[0]["loss"]
    evals = [r for r in rows if "eval_loss" in r]
    assert [r["step"] for r in evals] == [3, 6] and "eval_loss_ema" in evals[0]
    assert list((tmp_path / "tb").glob("events.out.tfevents.*"))
    assert (tmp_path / "metrics.png").stat().st_size > 1000
    assert json.loads((tmp_path / "config.json").read_text())["train"]["steps"] == 6
    assert sorted(int(p.name) for p in (tmp_path / "checkpoints").iterdir()) == [3, 6]

    # Started again on a finished workdir: nothing to do, nothing rewritten.
    again = train(_config(data_dir), tmp_path)
    assert again.step == 6 and _rows(tmp_path) == rows


def test_a_nan_step_is_skipped_and_leaves_parameters_unchanged(tmp_path, data_dir):
    train(_config(data_dir, "--config.train.nan_steps=(2,)"), tmp_path)
    rows = {r["step"]: r for r in _rows(tmp_path) if "loss" in r}
    assert math.isnan(rows[3]["loss"])  # 0-based step 2 is logged as step 3
    assert [rows[s]["skipped_steps"] for s in (2, 3, 4)] == [0, 1, 1]
    assert rows[3]["param_norm"] == rows[2]["param_norm"]  # no update applied
    assert rows[4]["param_norm"] != rows[3]["param_norm"]  # training went on
    assert math.isfinite(rows[6]["loss"])


def test_k_bad_steps_in_a_row_stop_the_run_with_a_checkpoint(tmp_path, data_dir, capsys):
    config = _config(data_dir, "--config.train.nan_steps=(1,2,3)", "--config.train.max_bad_steps=3")
    with pytest.raises(TooManyBadSteps, match=r"3 consecutive steps \(last: step 4\)"):
        train(config, tmp_path)
    out = capsys.readouterr().out
    assert "step 2: non-finite loss or gradients, update skipped (1 in a row" in out
    rows = {r["step"]: r for r in _rows(tmp_path) if "loss" in r}
    assert rows[4]["skipped_steps"] == 3
    saved = sorted(int(p.name) for p in (tmp_path / "checkpoints").iterdir())
    assert saved == [3, 5]  # the regular one, and the one written on the way out
    # That checkpoint holds the last good parameters: step 1's, untouched by steps 2-4.
    assert rows[4]["param_norm"] == rows[1]["param_norm"]


def test_corrupt_newest_checkpoint_falls_back_with_a_warning(tmp_path, data_dir, capsys):
    train(_config(data_dir), tmp_path)
    newest = tmp_path / "checkpoints" / "6" / "params"
    data_files = sorted(
        (p for p in newest.rglob("*") if p.is_file() and p.stat().st_size > 0),
        key=lambda p: p.stat().st_size,
    )
    victim = data_files[-1]  # the largest file: array data
    victim.write_bytes(victim.read_bytes()[: victim.stat().st_size // 3])  # truncate
    with pytest.warns(RuntimeWarning, match="step 6 .* unreadable"):
        result = train(_config(data_dir, "--config.train.steps=8"), tmp_path)
    assert "resumed from step 3" in capsys.readouterr().out
    assert result.step == 8
    steps = [r["step"] for r in _rows(tmp_path) if "loss" in r]
    assert steps == list(range(1, 9))  # 4..6 re-run once each, not duplicated


def test_init_from_takes_parameters_and_a_fresh_optimizer(tmp_path, data_dir, capsys):
    source = tmp_path / "source"
    train(_config(data_dir), source)
    target = tmp_path / "target"
    train(_config(data_dir, f"--config.init_from={source / 'checkpoints'}"), target)
    assert "initialised from" in capsys.readouterr().out
    first_source = next(r for r in _rows(source) if "loss" in r)
    first_target = next(r for r in _rows(target) if "loss" in r)
    assert first_target["loss"] < first_source["loss"]  # starts from trained weights
    assert first_target["learning_rate"] == 0.0  # fresh schedule


def test_config_typo_is_an_error_that_names_the_field(tmp_path, capsys):
    rc = cli.main(
        ["train", "--config", SMOKE, "--config.train.stepz=3", "--workdir", str(tmp_path)]
    )
    assert rc == 2
    err = capsys.readouterr().err
    assert "'train.stepz'" in err and "did you mean 'train.steps'" in err


def test_bad_values_name_the_field(tmp_path, capsys):
    rc = cli.main(
        ["train", "--config", SMOKE, "--config.model.preset=huge", "--workdir", str(tmp_path)]
    )
    assert rc == 2
    assert "model.preset" in capsys.readouterr().err
    rc = cli.main(
        ["train", "--config", SMOKE, "--config.mesh.tensor=3", "--workdir", str(tmp_path)]
    )
    assert rc == 2
    assert "mesh" in capsys.readouterr().err


def test_train_help_lists_the_flags(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["train", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for flag in ("--workdir", "--dry-run", "--topology", "--stop-at", "--config.FIELD"):
        assert flag in out


def test_prepare_batch_pools_frames_and_strides_time():
    from worldsim.recipes import dry_run_task

    config, _ = load_config(["--config", SMOKE])
    _, task = dry_run_task(config)
    video = np.zeros((2, 32, 64, 64, 3), np.uint8)
    video[:, 4, :2, :2] = 200  # frame 4 -> output frame 1; top-left 2x2 -> one pixel
    frames = task.prepare_batch({"video": video})["frames"]
    assert frames.shape == (2, 8, 32, 32, 3) and frames.dtype == np.uint8
    assert frames[0, 1, 0, 0, 0] == 200 and frames[0, 1, 0, 1, 0] == 0
    assert frames[0, 0].max() == 0
    spec = task.batch_shapes(4)["frames"]
    assert spec.shape == (4, 8, 32, 32, 3)


def test_an_unwritable_workdir_is_one_line_and_verbose_shows_the_traceback(tmp_path, capsys):
    argv = ["train", "--config", SMOKE, "--workdir", "/sys/worldsim-test-run"]  # even root
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot write to --workdir /sys/worldsim-test-run" in err[0], err
    assert cli.main([*argv, "--verbose"]) == 2
    assert "Traceback" in capsys.readouterr().err


def test_the_sharding_table_only_with_verbose(tmp_path, data_dir, capsys):
    argv = ["train", "--config", SMOKE, f"--config.data.dir={data_dir}", "--config.train.steps=2"]
    argv += ["--config.train.warmup_steps=1"]
    assert cli.main([*argv, "--workdir", str(tmp_path / "quiet")]) == 0
    quiet = capsys.readouterr().out
    assert "done: 2 steps" in quiet and " P(" not in quiet
    assert cli.main([*argv, "--workdir", str(tmp_path / "loud"), "--verbose"]) == 0
    assert " P(" in capsys.readouterr().out  # `path shape spec shard` lines
