"""Recipes: what `model.kind` names. Each builds the engine's `Task`(s) and trains its model.

    recipe = recipe_for(config)                 # the module worldsim.recipes.<model.kind>
    settings = recipe.validate(config)          # typed settings, or one ConfigError
    result = recipe.train(config, workdir, data_dir=..., stop_at=None)
    config, task = recipe.dry_run_task(config)  # what `train --dry-run` compiles

Found by name, as big_vision finds a model (`import_module(f"big_vision.models.{name}")`):
a recipe sits above the engine (worldsim/train/) and the world model (worldsim/world/)
and below the CLI, so the engine never names a model. A recipe module exposes
`defaults()`, `MOVED_FIELDS`, `validate`, `run_settings`, `train` and `dry_run_task`.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from types import ModuleType
from typing import Any

from worldsim.train.settings import ConfigError

RECIPES = ("frame_predictor", "world_model")


def recipe_for(config: Any) -> ModuleType:
    """The recipe module named by `config.model.kind`; an unknown kind names the field."""
    kind = config.model.kind if "model" in config and "kind" in config.model else None
    if kind not in RECIPES:
        raise ConfigError(f"config field 'model.kind' = {kind!r}: not one of {list(RECIPES)}")
    return importlib.import_module(f"worldsim.recipes.{kind}")


def moved_fields(config: Any) -> Mapping[str, str]:
    """{field the config's recipe does not read: the field to use instead} (for errors)."""
    try:
        return recipe_for(config).MOVED_FIELDS
    except ConfigError:
        return {}


def train_from_config(
    config: Any, workdir: Any, *, stop_at: int | None = None, verbose: bool = False
):
    """The one dispatch of a training run: the recipe of `config`, its settings checked, the
    dataset resolved once, then the recipe's training (`worldsim train` adds the workdir
    check and lock around this)."""
    from worldsim.train import inputs

    recipe = recipe_for(config)
    run = recipe.run_settings(config)  # validates the whole config
    data_dir = inputs.ensure_dataset(run.data, run.seed)  # simulated there first if missing
    return recipe.train(config, workdir, data_dir=data_dir, stop_at=stop_at, verbose=verbose)


def dry_run_task(config: Any):
    """(engine config, Task) that `train --dry-run` compiles for `config`."""
    return recipe_for(config).dry_run_task(config)
