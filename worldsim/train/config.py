"""Experiment configs: load `experiments/*.py` with command-line overrides, check, save.

    config, rest = load_config(["--config", "experiments/tiny_cpu.py:smoke",
                                "--config.train.steps=200", "--workdir", "runs/tiny"])
    settings = validate(config)           # typed, frozen settings (worldsim.train.settings)
    save_config(config, "runs/tiny/config.json")

`load_config` is `ml_collections.config_flags` on a private absl `FlagValues`, so it
never touches the global `FLAGS` and can be called many times (tests). Flags it does
not know (`--workdir`, `--help`, positionals) come back untouched in `rest`, in order,
for the caller's own parser. Every config error (unknown field, bad value, missing or
broken config file) is one `ConfigError` naming the field.

Sequences in configs are tuples: `config_flags` can override a tuple field
(`--config.rules="(('batch', 'data'),)"`) but not a list one, and `config_from_json`
turns JSON arrays back into tuples so a saved config round-trips.
"""

from __future__ import annotations

import ast
import difflib
import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import ml_collections
from absl import flags
from ml_collections import config_flags

from worldsim.train.settings import ConfigError, validate

__all__ = [
    "ConfigError",
    "config_from_json",
    "config_to_json",
    "load_config",
    "parse_arg",
    "read_config",
    "save_config",
    "validate",
]

_OVERRIDE = re.compile(r"^--?(?:no)?config\.([^=]+)")
_BAD_VALUE = re.compile(r"flag --config(\.[^=\s]+)?=")


# ----------------------------------------------------------------------------- loading


def load_config(
    argv: Sequence[str],
    moved_fields: Callable[[ml_collections.ConfigDict], Mapping[str, str]] | None = None,
) -> tuple[ml_collections.ConfigDict, list[str]]:
    """Parses `--config PATH[:ARG]` and `--config.a.b=value` overrides from `argv`.

    moved_fields: config -> {field path the config's recipe does not read: what to use
    instead}, so an override of such a field says where it went (the CLI passes the
    recipes' tables, `worldsim.recipes.moved_fields`).

    argv: command-line arguments without the program name. Overrides accept absl
    forms: `--config.train.steps=200`, `--config.train.steps 200`,
    `--config.data.augment=false`, `--noconfig.data.augment`. Returns the locked
    config (values may change, fields may not be added) and the arguments that were
    not config flags, in order.
    """
    argv = [str(a) for a in argv]
    full = ["worldsim", *argv]
    values = flags.FlagValues()
    config_flags.DEFINE_config_file(
        "config",
        None,
        "experiment config file, PATH[:ARG]",
        flag_values=values,
        lock_config=True,
        sys_argv=full,
    )
    try:
        rest = values(full, known_only=True)
    except (AttributeError, KeyError) as e:
        raise ConfigError(_unknown_field_message(argv, e, moved_fields)) from e
    except flags.IllegalFlagValueError as e:
        match = _BAD_VALUE.search(str(e))
        if match and match.group(1) is None:  # get_config itself raised
            last = str(e).strip().splitlines()[-1]
            detail = last.split(": ", 1)[-1] if re.match(r"^[\w.]+: ", last) else last
            raise ConfigError(f"cannot load config {_config_arg(argv)!r}: {detail}") from e
        field = match.group(1)[1:] if match else "?"
        detail = str(e).split(": ", 1)[-1]
        raise ConfigError(f"bad value for config field {field!r}: {detail}") from e
    except (flags.Error, ValueError, TypeError) as e:
        raise ConfigError(f"cannot apply config overrides: {e}") from e
    config = values["config"].value
    if config is None:
        if _config_arg(argv) != "?":
            raise ConfigError(f"get_config() in {_config_arg(argv)!r} returned None")
        raise ConfigError(
            "no config given: pass --config PATH[:ARG] (e.g. experiments/tiny_cpu.py)"
        )
    if not isinstance(config, ml_collections.ConfigDict):
        error = object.__getattribute__(config, "_error")  # config_flags' _ErrorConfig
        raise ConfigError(f"cannot load config {_config_arg(argv)!r}: {error}") from error
    return config, list(rest[1:])


def _config_arg(argv: Sequence[str]) -> str:
    for i, arg in enumerate(argv):
        if re.match(r"^--?config=", arg):
            return arg.split("=", 1)[1]
        if re.match(r"^--?config$", arg) and i + 1 < len(argv):
            return argv[i + 1]
    return "?"


def _base_config(argv: Sequence[str]) -> ml_collections.ConfigDict | None:
    """The config with no overrides applied, to explain a bad override path."""
    config_arg = _config_arg(argv)
    values = flags.FlagValues()
    only = ["worldsim", f"--config={config_arg}"]
    config_flags.DEFINE_config_file("config", None, flag_values=values, sys_argv=only)
    try:
        values(only, known_only=True)
        config = values["config"].value
    except Exception:  # noqa: BLE001 - best effort; the caller has the original error
        return None
    return config if isinstance(config, ml_collections.ConfigDict) else None


def _unknown_field_message(argv: Sequence[str], error: Exception, moved_fields=None) -> str:
    base = _base_config(argv)
    paths = [m.group(1) for a in argv if (m := _OVERRIDE.match(a))]
    if base is not None:
        moved = moved_fields(base) if moved_fields is not None else {}
        for path in paths:
            if path in moved:
                return (
                    f"config field {path!r} is not read by this config's model: use {moved[path]}"
                )
            message = _check_path(base, path)
            if message:
                return message
    return f"unknown config field: {error}"


def _check_path(config: Any, path: str) -> str | None:
    """None if `path` exists in `config`, else a message naming it with a suggestion."""
    parts = path.split(".")
    node = config
    for i, name in enumerate(parts):
        if not isinstance(node, Mapping | ml_collections.ConfigDict):
            parent = ".".join(parts[:i])
            return f"config field {parent!r} is a value, not a group; cannot set {path!r}"
        keys = list(node.keys())
        if name not in keys:
            close = difflib.get_close_matches(name, keys, n=1)
            hint = ""
            if close:
                hint = f" (did you mean {'.'.join([*parts[:i], close[0], *parts[i + 1 :]])!r}?)"
            elif keys:
                where = ".".join(parts[:i]) or "the top level"
                hint = f" (fields of {where}: {', '.join(sorted(map(str, keys)))})"
            return f"unknown config field {path!r}{hint}"
        node = node[name]
    return None


# ----------------------------------------------------------------------------- parse_arg


def parse_arg(arg: str | None, **defaults: Any) -> ml_collections.ConfigDict:
    """Turns the `PATH:ARG` string into typed fields, like big_vision's `parse_arg`.

    `parse_arg("variant=S,smoke", variant="M", smoke=False)` ->
    `{variant: "S", smoke: True}`. A bare name sets a bool to True; values are cast
    to the type of their default (bool accepts true/false/1/0/yes/no; a None default
    takes a Python literal or else the string). Unknown names raise ConfigError.
    """
    result = ml_collections.ConfigDict(dict(defaults))
    for item in (arg or "").split(","):
        item = item.strip()
        if not item:
            continue
        name, has_value, raw = item.partition("=")
        name = name.strip()
        if name not in defaults:
            close = difflib.get_close_matches(name, list(defaults), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            known = ", ".join(sorted(defaults)) or "none"
            raise ConfigError(f"unknown config argument {name!r}{hint}; known: {known}")
        default = defaults[name]
        if not has_value:
            if not isinstance(default, bool):
                raise ConfigError(f"config argument {name!r} needs a value: {name}=...")
            result[name] = True
            continue
        result[name] = _cast(name, raw.strip(), default)
    return result


def _cast(name: str, raw: str, default: Any) -> Any:
    try:
        if isinstance(default, bool):
            lowered = raw.lower()
            if lowered in ("true", "1", "yes"):
                return True
            if lowered in ("false", "0", "no"):
                return False
            raise ValueError(f"expected true/false, got {raw!r}")
        if isinstance(default, int | float | str):
            return type(default)(raw)
        try:
            return ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            return raw
    except ValueError as e:
        raise ConfigError(f"bad value for config argument {name!r}: {e}") from e


# ----------------------------------------------------------------------------- JSON


def config_to_json(config: ml_collections.ConfigDict | Mapping[str, Any]) -> str:
    """The resolved config as indented, key-sorted JSON (tuples become arrays)."""
    data = config.to_dict() if isinstance(config, ml_collections.ConfigDict) else dict(config)
    try:
        return json.dumps(data, indent=2, sort_keys=True) + "\n"
    except TypeError as e:
        raise ConfigError(f"config is not JSON-serialisable: {e}") from e


def _tuples(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    if isinstance(value, dict):
        return {k: _tuples(v) for k, v in value.items()}
    return value


def config_from_json(text: str) -> ml_collections.ConfigDict:
    """Inverse of `config_to_json`: a locked ConfigDict, JSON arrays as tuples."""
    config = ml_collections.ConfigDict(_tuples(json.loads(text)))
    config.lock()
    return config


def save_config(config: ml_collections.ConfigDict, path: str | os.PathLike) -> None:
    """Writes `config_to_json(config)` to a local `path` atomically (temp file + rename)."""
    from worldsim.fileio import atomic_path

    text = config_to_json(config)
    with atomic_path(path, ".json.tmp") as tmp:
        tmp.write_text(text)


def read_config(path: str | os.PathLike) -> ml_collections.ConfigDict:
    """Reads a config written by `save_config`."""
    with open(path) as f:
        return config_from_json(f.read())
