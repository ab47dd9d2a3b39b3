"""The engine's settings: every field, its type, its default and its check, declared once.

    config = base_config()                      # ml_collections.ConfigDict of the defaults
    settings = validate(config, num_devices=8)  # RunSettings (frozen, typed) or ConfigError

Experiment files edit a `ConfigDict` (so `--config.train.steps=200` works on any field);
`validate` turns it into frozen dataclasses whose fields have their declared types, so
nothing downstream casts (`settings.train.steps` is an int). A field's check lives next
to its declaration (`field(default, check, what)`); cross-field checks sit in
`RunSettings.problems`. A recipe (worldsim/recipes/) adds its own `model` group with the
same mechanism (`from_config`).
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any

import ml_collections

from worldsim.parallel.mesh import MESH_AXES, resolve_mesh_shape
from worldsim.parallel.rules import DEFAULT_RULES, rules_from_config

DTYPES = ("float32", "bfloat16", "float16")


class ConfigError(ValueError):
    """A config that cannot be loaded or does not make sense; the message names the field."""


def field(default: Any, check: Callable[[Any], bool] | None = None, what: str = "") -> Any:
    """A settings field with its default and, optionally, a check and what the check wants."""
    if isinstance(default, (dict, list)):
        return dataclasses.field(
            default_factory=lambda: type(default)(default), metadata={"check": check, "what": what}
        )
    return dataclasses.field(default=default, metadata={"check": check, "what": what})


def positive(v: Any) -> bool:
    return v > 0


def non_negative(v: Any) -> bool:
    return v >= 0


# ----------------------------------------------------------------------------- the groups


@dataclasses.dataclass(frozen=True)
class DataSettings:
    dir: str = field("data/physics_clips")
    split: str = field("train")
    eval_split: str = field("validation")
    batch_size: int = field(8, positive, "must be a positive int")  # global batch
    # Share of failure clips = failure / (success + failure).
    success_weight: float = field(0.7, non_negative, "must be >= 0")
    failure_weight: float = field(0.3, non_negative, "must be >= 0")
    augment: bool = field(True)  # random left-right mirror
    num_clips: int = field(200, positive, "must be a positive int")  # when building it
    build_if_missing: bool = field(True)


@dataclasses.dataclass(frozen=True)
class TrainSettings:
    steps: int = field(1000, positive, "must be a positive int")
    learning_rate: float = field(1e-3, positive, "must be > 0")
    warmup_steps: int = field(100, non_negative, "must be an int >= 0")
    weight_decay: float = field(0.01, non_negative, "must be >= 0")
    grad_clip_norm: float = field(1.0, non_negative, "must be >= 0 (0 turns clipping off)")
    grad_accum_steps: int = field(1, positive, "must be a positive int")
    ema_decay: float = field(0.999, lambda v: 0 <= v < 1, "must be in [0, 1)")
    param_dtype: str = field("float32", lambda v: v in DTYPES, f"must be one of {DTYPES}")
    compute_dtype: str = field("float32", lambda v: v in DTYPES, f"must be one of {DTYPES}")
    log_every: int = field(10, positive, "must be a positive int")
    eval_every: int = field(200, positive, "must be a positive int")
    eval_batches: int = field(2, positive, "must be a positive int")
    # Consecutive non-finite steps before the run stops (0: never).
    max_bad_steps: int = field(3, non_negative, "must be an int >= 0")
    nan_steps: tuple[int, ...] = field(())  # fault injection: these 0-based steps get a NaN loss
    # For MFU; 0 looks the device up in train/metrics.py.
    peak_flops_per_device: float = field(0.0, non_negative, "must be >= 0 (0: look it up)")


@dataclasses.dataclass(frozen=True)
class CheckpointSettings:
    every_steps: int = field(200, positive, "must be a positive int")
    keep: int = field(3, positive, "must be a positive int")


@dataclasses.dataclass(frozen=True)
class RunSettings:
    """What the engine reads: the run's seed, mesh, rules, data, train and checkpoint fields.

    `model` is the recipe's (worldsim/recipes/); the engine passes it through untouched.
    """

    seed: int = field(0)
    # Mesh sizes per axis; -1 takes the remaining devices (worldsim.parallel.make_mesh).
    mesh: dict = field(dict(data=-1, fsdp=1, tensor=1, sequence=1))
    # Logical -> mesh axis rules, in priority order (tuples, so they can be overridden).
    rules: tuple = field(tuple((name, axes) for name, axes in DEFAULT_RULES))
    init_from: str = field(
        ""
    )  # a checkpoint directory to start from (params + EMA, fresh optimizer)
    data: DataSettings = field(DataSettings())
    train: TrainSettings = field(TrainSettings())
    checkpoint: CheckpointSettings = field(CheckpointSettings())

    def problems(self, num_devices: int | None) -> list[str]:
        errors = []
        try:
            if num_devices is None:
                fixed = math.prod(int(s) for s in self.mesh.values() if int(s) > 0)
                resolve_mesh_shape(self.mesh, fixed)  # shape checks only
            else:
                resolve_mesh_shape(self.mesh, num_devices)
        except (ValueError, TypeError) as e:
            errors.append(f"config field 'mesh': {e} (mesh axes are {MESH_AXES})")
        try:
            rules_from_config(self.rules)
        except (ValueError, TypeError) as e:
            errors.append(f"config field 'rules': {e}")
        if self.train.warmup_steps > self.train.steps:
            errors.append(
                f"config field 'train.warmup_steps' = {self.train.warmup_steps}: must be <= "
                f"train.steps ({self.train.steps})"
            )
        if not self.data.success_weight + self.data.failure_weight > 0:
            errors.append(
                "config fields 'data.success_weight' + 'data.failure_weight' must have a "
                "positive sum"
            )
        return errors


# ----------------------------------------------------------------------------- conversion


def to_config(settings: Any) -> ml_collections.ConfigDict:
    """The ConfigDict of a settings dataclass (its defaults, when given the class's instance)."""
    return ml_collections.ConfigDict(_plain(settings))


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _typed(path: str, value: Any, kind: Any) -> Any:
    """`value` as type `kind`, or ConfigError naming `path` (ints widen to floats, not back)."""
    origin = typing.get_origin(kind)
    if kind is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(kind)
        if value is None and type(None) in options:
            return None
        for option in options:
            if option is type(None):
                continue
            try:
                return _typed(path, value, option)
            except ConfigError:
                continue
        raise ConfigError(f"config field {path!r} = {value!r}: expected {kind}")
    if kind is bool:
        if isinstance(value, bool):
            return value
    elif kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif kind is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif kind is str:
        if isinstance(value, str):
            return value
    elif kind is dict or origin is dict:
        if isinstance(value, (Mapping, ml_collections.ConfigDict)):
            return dict(value.items())
    elif kind is tuple or origin is tuple:
        if isinstance(value, (tuple, list)):
            args = typing.get_args(kind)
            if len(args) == 2 and args[1] is Ellipsis:
                return tuple(_typed(f"{path}[{i}]", v, args[0]) for i, v in enumerate(value))
            if args and len(args) == len(value):
                return tuple(
                    _typed(f"{path}[{i}]", v, a) for i, (v, a) in enumerate(zip(value, args))
                )
            if not args:
                return tuple(value)
    else:
        raise TypeError(f"settings type {kind} of {path!r} is not supported")
    name = getattr(kind, "__name__", str(kind))
    raise ConfigError(f"config field {path!r} = {value!r}: expected {name}")


def from_config(
    cls: type,
    node: Any,
    path: str = "",
    *,
    moved: Mapping[str, str] | None = None,
    errors: list[str] | None = None,
) -> Any:
    """An instance of the settings dataclass `cls` from a ConfigDict node.

    Every field of `cls` must be in `node` with its type; a key of `node` that `cls` does
    not declare is an error (the recipe does not read it) whose message names the field
    to use instead when `moved` maps its path to one. Collects every problem, raises one
    ConfigError (unless the caller passes its own `errors` list).
    """
    own = errors is None
    errors = [] if own else errors
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    prefix = f"{path}." if path else ""
    kwargs: dict[str, Any] = {}
    keys = list(node.keys()) if node is not None else []
    for key in keys:
        if key not in names:
            full = f"{prefix}{key}"
            if moved and full in moved:
                errors.append(f"config field {full!r} is not read here: use {moved[full]}")
            else:
                close = difflib.get_close_matches(str(key), sorted(names), n=1)
                hint = f" (did you mean {prefix + close[0]!r}?)" if close else ""
                errors.append(f"unknown config field {full!r}{hint}")
    for f in dataclasses.fields(cls):
        full = f"{prefix}{f.name}"
        if f.name not in keys:
            if f.default is None:  # optional: absent means "not set"
                kwargs[f.name] = None
                continue
            errors.append(f"missing config field {full!r}")
            continue
        kind = hints[f.name]
        value = node[f.name]
        if dataclasses.is_dataclass(kind):
            kwargs[f.name] = from_config(kind, value, full, moved=moved, errors=errors)
            continue
        try:
            value = _typed(full, value, kind)
        except ConfigError as e:
            errors.append(str(e))
            continue
        check = f.metadata.get("check")
        if check is not None:
            try:
                good = check(value)
            except TypeError:
                good = False
            if not good:
                errors.append(f"config field {full!r} = {value!r}: {f.metadata['what']}")
                continue
        kwargs[f.name] = value
    if own and errors:
        raise ConfigError("invalid config:\n  " + "\n  ".join(errors))
    if errors and len(kwargs) < len(names):
        return None  # the caller reports
    return cls(**kwargs)


def validate(config: Any, num_devices: int | None = None) -> RunSettings:
    """The engine's typed settings from `config`; one ConfigError listing every problem.

    The `model` group belongs to the recipe and is not checked here. With `num_devices`,
    the mesh is also resolved against that many devices.
    """
    engine = {k: config[k] for k in config.keys() if k != "model"}
    errors: list[str] = []
    settings = from_config(RunSettings, engine, errors=errors)
    if not errors:
        errors += settings.problems(num_devices)
    if errors:
        raise ConfigError("invalid config:\n  " + "\n  ".join(errors))
    return settings


def base_config() -> ml_collections.ConfigDict:
    """Every engine field with its default; a recipe adds its `model` group."""
    return to_config(RunSettings())
