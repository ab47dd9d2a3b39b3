"""The world model's settings: its `model` and `stages` groups, declared once, and its defaults.

    config = world_config()            # engine fields + model + stages (a ConfigDict)
    world = validate_world(config)     # WorldSettings: spec, model, stages (typed, frozen)
    stage_config(config, "av_dit")     # the engine config one stage trains with

`model.*` is flat on the command line (`--config.model.frame_size=64`): the fields of
`WorldSpec` (shapes and windows, worldsim/world/spec.py) and of `WorldModelSettings`
(the parts' presets and the losses' weights) side by side. Each stage is an engine run
whose `train.steps`, `train.learning_rate`, `train.warmup_steps` and `data.batch_size`
come from `stages.<stage>`; those four engine fields are therefore not in this config
(an override of one says which field to use: `MOVED_FIELDS`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import ml_collections

from worldsim.train.settings import (
    ConfigError,
    RunSettings,
    base_config,
    field,
    from_config,
    non_negative,
    positive,
    to_config,
)
from worldsim.train.settings import validate as validate_run
from worldsim.world.spec import WorldSpec

STAGES = ("video_vae", "audio_vae", "av_dit")

# Engine fields each stage sets from `stages.<stage>` (so the world config leaves them out).
_FROM_STAGE = {
    "train.steps": "steps",
    "train.learning_rate": "learning_rate",
    "train.warmup_steps": "warmup_steps",
    "data.batch_size": "batch_size",
}
# ... and engine fields a stage may override (None: the engine field's value).
_OPTIONAL_FROM_STAGE = {
    "train.ema_decay": "ema_decay",
    "train.eval_every": "eval_every",
    "train.log_every": "log_every",
    "checkpoint.every_steps": "checkpoint_every",
}
MOVED_FIELDS = {
    path: f"stages.<stage>.{name} (one per stage: {', '.join(f'stages.{s}.{name}' for s in STAGES)})"
    for path, name in _FROM_STAGE.items()
}
REMAT = ("none", "full", "dots")


@dataclasses.dataclass(frozen=True)
class TextSettings:
    width: int = field(64, positive, "must be a positive int")
    depth: int = field(2, positive, "must be a positive int")
    heads: int = field(4, positive, "must be a positive int")


@dataclasses.dataclass(frozen=True)
class WorldModelSettings:
    """`model.*` beside the spec's fields: which parts, and the losses' weights."""

    kind: str = field("world_model")
    preset: str = field("cpu")  # the joint transformer, worldsim/models/av_dit.py PRESETS
    remat: str = field("none", lambda v: v in REMAT, f"must be one of {REMAT}")
    # What the transformer's output head predicts (the loss and the sampler always see a
    # velocity): "velocity" itself, or "x0", the clean latents, turned into
    # v = (x_t - x0) / max(t, 0.05). With token features wider than the model (a 512-value
    # video token into width 96) a velocity head must carry the noise through the narrow
    # stream and cannot; the clean latents are low-dimensional (flat scenes) and fit.
    # "x0_delta": an x0 head whose video output is what x0 adds to the guess E[x0 | x_t]
    # under a Gaussian prior, centred on the last given latent frame on first-frame rows
    # (worldsim.world.model.gaussian_x0_prior): at high noise those start as a freeze.
    prediction: str = field(
        "velocity",
        lambda v: v in ("velocity", "x0", "x0_delta"),
        "must be 'velocity', 'x0' or 'x0_delta'",
    )
    text: TextSettings = field(TextSettings())
    video_kl_weight: float = field(1e-6, non_negative, "must be >= 0")
    # Pixels unlike their frame's background weigh 1 + this in the video VAE's loss
    # (vae_video.vae_loss): the simulator's objects are ~1% of the pixels.
    video_foreground_weight: float = field(10.0, non_negative, "must be >= 0")
    # The video VAE's reconstruction term: "l1" or "mse" (a linear patch VAE trained with
    # mse is a PCA, whose gradient conditions far better than l1's signs).
    video_recon: str = field("l1", lambda v: v in ("l1", "mse"), "must be 'l1' or 'mse'")
    audio_kl_weight: float = field(1e-4, non_negative, "must be >= 0")
    caption_dropout: float = field(0.1, lambda v: 0 <= v <= 1, "must be in [0, 1]")
    # Training noise levels: t = sigmoid(n), n ~ N(mean, std) (logit-normal, SD3); t = 1 is
    # pure noise. A positive mean trains more at high noise, where a sample's layout is set.
    timestep_mean: float = field(0.0)
    timestep_std: float = field(1.0, positive, "must be > 0")
    # P(context mode) during training: none, first frames, reference, previous shot.
    context_mode_probs: tuple[float, float, float, float] = field(
        (0.4, 0.3, 0.15, 0.15),
        lambda v: min(v) >= 0 and abs(sum(v) - 1) < 1e-6,
        "must be four probabilities summing to 1",
    )


@dataclasses.dataclass(frozen=True)
class StageSettings:
    steps: int = field(200, positive, "must be a positive int")
    learning_rate: float = field(1e-3, positive, "must be > 0")
    warmup_steps: int = field(20, non_negative, "must be an int >= 0")
    batch_size: int = field(8, positive, "must be a positive int")
    # None: the engine field's value (train.ema_decay, ..., checkpoint.every_steps).
    ema_decay: float | None = field(None)
    eval_every: int | None = field(None)
    log_every: int | None = field(None)
    checkpoint_every: int | None = field(None)


@dataclasses.dataclass(frozen=True)
class StagesSettings:
    order: str = field("video_vae,audio_vae,av_dit")  # any subset, in this order
    video_vae: StageSettings = field(StageSettings())
    audio_vae: StageSettings = field(StageSettings())
    av_dit: StageSettings = field(StageSettings())

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(s.strip() for s in self.order.split(",") if s.strip())


@dataclasses.dataclass(frozen=True)
class WorldSettings:
    spec: WorldSpec
    model: WorldModelSettings
    stages: StagesSettings
    runs: dict[str, RunSettings]  # each stage's engine settings


# Fields added after runs were recorded, each with the value that reproduces what those runs
# did without it: a run's config.json without one reads as that (`with_added_fields`). A new
# field whose default changes behaviour goes here with its old behaviour, not its default.
ADDED_FIELDS: dict[str, Any] = {
    "model.video_recon": "l1",
    "model.prediction": "velocity",
    "model.timestep_mean": 0.0,
    "model.timestep_std": 1.0,
}


def with_added_fields(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """A recorded run's config with the fields added since (ADDED_FIELDS) filled in."""
    out = ml_collections.ConfigDict(config.to_dict())
    for path, value in ADDED_FIELDS.items():
        group, name = path.split(".")
        if group in out and name not in out[group]:
            out[group][name] = value
    return out


def world_config() -> ml_collections.ConfigDict:
    """Every field of the world model's config with its default; experiments change numbers."""
    c = base_config()
    for path in _FROM_STAGE:
        group, name = path.split(".")
        del c[group][name]
    model = {**dataclasses.asdict(WorldSpec()), **to_config(WorldModelSettings()).to_dict()}
    c.model = ml_collections.ConfigDict(model)
    c.stages = to_config(StagesSettings())
    return c


def _model_settings(node: Any, errors: list[str]) -> tuple[WorldSpec | None, Any]:
    spec_names = {f.name for f in dataclasses.fields(WorldSpec)}
    own = {k: node[k] for k in node.keys() if k not in spec_names}
    spec_part = {k: node[k] for k in node.keys() if k in spec_names}
    model = from_config(WorldModelSettings, own, "model", errors=errors)
    try:  # WorldSpec checks that its windows, patches and grids fit together
        spec = from_config(WorldSpec, spec_part, "model", errors=errors)
    except ValueError as e:
        errors.append(str(e))
        spec = None
    return spec, model


def stage_order(stages: StagesSettings) -> tuple[str, ...]:
    order = stages.names
    if not order:
        raise ConfigError("config field 'stages.order' is empty: name at least one stage")
    for stage in order:
        if stage not in STAGES:
            raise ConfigError(
                f"config field 'stages.order' = {stages.order!r}: unknown stage {stage!r}; "
                f"stages are {', '.join(STAGES)}"
            )
    if list(order) != sorted(order, key=STAGES.index) or len(set(order)) != len(order):
        raise ConfigError(
            f"config field 'stages.order' = {stages.order!r}: stages must run in the order "
            f"{', '.join(STAGES)}"
        )
    return order


def stage_config(config: Any, stage: str) -> ml_collections.ConfigDict:
    """The engine config one stage's run sees: the engine fields, `stages.<stage>` applied.

    The stage's model fields stay under `model` (the stage's task reads them).
    """
    c = ml_collections.ConfigDict(config.to_dict())
    fields = config.stages[stage]
    for path, name in {**_FROM_STAGE, **_OPTIONAL_FROM_STAGE}.items():
        group, key = path.split(".")
        if name in fields and fields[name] is not None:
            c[group][key] = fields[name]
    del c["stages"]
    return c


def validate_world(config: Any, num_devices: int | None = None) -> WorldSettings:
    """The world model's typed settings; one ConfigError listing every problem."""
    errors: list[str] = []
    if "model" not in config or "stages" not in config:
        raise ConfigError("the world model's config needs 'model' and 'stages' groups")
    spec, model = _model_settings(config.model, errors)
    stages = from_config(StagesSettings, config.stages, "stages", errors=errors)
    for path in _FROM_STAGE:
        group, name = path.split(".")
        if group in config and name in config[group]:
            errors.append(f"config field {path!r} is not read here: use {MOVED_FIELDS[path]}")
    runs = {}
    if stages is not None:
        try:
            order = stage_order(stages)
        except ConfigError as e:
            errors.append(str(e))
            order = ()
        for stage in order:
            try:
                runs[stage] = validate_run(stage_config(config, stage), num_devices)
            except ConfigError as e:
                errors += [f"stage {stage}: {line.strip()}" for line in str(e).splitlines()[1:]]
    if errors:
        raise ConfigError("invalid config:\n  " + "\n  ".join(dict.fromkeys(errors)))
    return WorldSettings(spec=spec, model=model, stages=stages, runs=runs)
