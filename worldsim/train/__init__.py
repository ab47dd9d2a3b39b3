"""Training: experiment configs (`config`), optimiser and NaN guard (`optim`), metrics
(`metrics`), orbax checkpoints with fallback and resharding (`checkpoint`).

The trainer loop comes next (issue 3).
"""

from worldsim.train.checkpoint import Checkpointer, CheckpointError
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

__all__ = [
    "CheckpointError",
    "Checkpointer",
    "ConfigError",
    "config_from_json",
    "config_to_json",
    "load_config",
    "parse_arg",
    "read_config",
    "save_config",
    "validate",
]
