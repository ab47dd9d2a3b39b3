"""Config loading, overrides, variants, validation and JSON round trip."""

from pathlib import Path

import pytest

from worldsim.parallel import DEFAULT_RULES, rules_from_config
from worldsim.train.config import (
    ConfigError,
    config_from_json,
    config_to_json,
    load_config,
    parse_arg,
    read_config,
    save_config,
    validate,
)

# ml_collections loads config files with the deprecated SourceFileLoader.load_module.
pytestmark = pytest.mark.filterwarnings("ignore:the load_module:DeprecationWarning")

TINY = str(Path(__file__).resolve().parents[2] / "experiments" / "frame_predictor_cpu.py")


def load(*args):
    return load_config(["--config", TINY, *args])


def test_frame_predictor_cpu_loads_and_validates():
    config, rest = load()
    assert rest == []
    validate(config)
    assert dict(config.mesh) == {"data": -1, "fsdp": 1, "tensor": 1, "sequence": 1}
    assert rules_from_config(config.rules) == DEFAULT_RULES
    assert (config.model.kind, config.model.preset) == ("frame_predictor", "cpu")
    assert (config.data.success_weight, config.data.failure_weight) == (0.7, 0.3)
    assert config.train.param_dtype == "float32" and config.model.remat == "none"


def test_overrides_nested_types_and_leftover_args():
    config, rest = load(
        "--workdir",
        "runs/x",
        "--config.train.steps=700",
        "--config.train.learning_rate=3e-4",
        "--config.train.compute_dtype=bfloat16",
        "--config.data.augment=false",
        "--config.mesh.fsdp",
        "2",
        "--noconfig.data.build_if_missing",
        "--config.rules=(('batch', 'data'), ('embed', None))",
    )
    assert rest == ["--workdir", "runs/x"]
    assert config.train.steps == 700 and isinstance(config.train.steps, int)
    assert config.train.learning_rate == pytest.approx(3e-4)
    assert config.train.compute_dtype == "bfloat16"
    assert config.data.augment is False and config.data.build_if_missing is False
    assert config.mesh.fsdp == 2
    assert config.rules == (("batch", "data"), ("embed", None))
    validate(config)


def test_smoke_variant():
    full, _ = load()
    smoke, _ = load_config([f"--config={TINY}:smoke"])
    assert smoke.train.steps < 20 < full.train.steps
    validate(smoke)


def test_unknown_field_names_it_and_suggests():
    with pytest.raises(ConfigError, match=r"'train\.stepz'.*did you mean 'train\.steps'"):
        load("--config.train.stepz=5")
    with pytest.raises(ConfigError, match=r"'trainz\.steps'.*did you mean 'train\.steps'"):
        load("--config.trainz.steps=5")


def test_bad_value_names_field():
    with pytest.raises(ConfigError, match=r"bad value for config field 'train\.steps'"):
        load("--config.train.steps=abc")
    with pytest.raises(ConfigError, match=r"'data\.augment'"):
        load("--config.data.augment=maybe")


def test_config_file_errors():
    with pytest.raises(ConfigError, match="no config given"):
        load_config(["--workdir", "x"])
    with pytest.raises(ConfigError, match="nope.py"):
        load_config(["--config", "experiments/nope.py"])
    with pytest.raises(ConfigError, match=r"unknown config argument 'smok'.*'smoke'"):
        load_config([f"--config={TINY}:smok"])


def test_parse_arg():
    arg = parse_arg("variant=S,smoke,res=128,lr=0.5", variant="M", smoke=False, res=64, lr=1.0)
    assert arg.to_dict() == {"variant": "S", "smoke": True, "res": 128, "lr": 0.5}
    assert parse_arg(None, smoke=False).smoke is False
    assert parse_arg("smoke=false", smoke=True).smoke is False
    with pytest.raises(ConfigError, match="unknown config argument 'smok'"):
        parse_arg("smok", smoke=False)
    with pytest.raises(ConfigError, match="'res'"):
        parse_arg("res=big", res=64)


@pytest.mark.parametrize(
    "override, field",
    [
        ("--config.mesh.data=-1 --config.mesh.fsdp=-1", "mesh"),
        ("--config.mesh.tensor=0", "mesh"),
        ("--config.rules=(('batch','dta'),)", "rules"),
        ("--config.train.steps=0", "train.steps"),
        ("--config.train.warmup_steps=5000", "train.warmup_steps"),
        ("--config.train.ema_decay=1.0", "train.ema_decay"),
        ("--config.train.param_dtype=float64", "train.param_dtype"),
        ("--config.data.failure_weight=-0.1", "data.failure_weight"),
        (
            "--config.data.success_weight=0.0 --config.data.failure_weight=0.0",
            "data.success_weight",
        ),
        ("--config.checkpoint.keep=0", "checkpoint.keep"),
    ],
)
def test_validate_errors_name_field(override, field):
    config, _ = load(*override.split(" "))
    with pytest.raises(ConfigError, match=f"'{field}'"):
        validate(config)


def test_validate_mesh_against_devices():
    config, _ = load("--config.mesh.data=2", "--config.mesh.fsdp=2")
    validate(config)
    validate(config, num_devices=4)
    with pytest.raises(ConfigError, match="'mesh'"):
        validate(config, num_devices=8)


def test_json_round_trip(tmp_path):
    config, _ = load("--config.train.steps=1100")
    text = config_to_json(config)
    again = config_from_json(text)
    assert again.to_dict() == config.to_dict()
    assert again.rules == config.rules  # tuples survive
    path = tmp_path / "run" / "config.json"
    save_config(config, path)
    assert read_config(path).to_dict() == config.to_dict()
    assert config_to_json(read_config(path)) == text
    validate(read_config(path))
