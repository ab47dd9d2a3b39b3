"""Training: experiment configs (`config`, `defaults`), optimiser and NaN guard (`optim`),
metrics (`metrics`), orbax checkpoints with fallback and resharding (`checkpoint`), the
pure train/eval steps (`step`), the model interface (`tasks`), input from the config
(`inputs`), the loop (`trainer.train`) and the TPU-pod dry run (`dry_run`).

Heavy modules (trainer, dry_run) are imported by their users, not here.
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
