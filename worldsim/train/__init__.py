"""Training: experiment configs (`config`), optimiser and NaN guard (`optim`), metrics (`metrics`).

The trainer loop and checkpointing come next (issue 3).
"""

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
    "ConfigError",
    "config_from_json",
    "config_to_json",
    "load_config",
    "parse_arg",
    "read_config",
    "save_config",
    "validate",
]
