r"""The default run: a tiny world model on the physics clips, on a laptop CPU.

    worldsim train --config experiments/tiny_cpu.py --workdir runs/tiny

Status: the `train` command and trainer are not written yet (issue 3 is in progress: this
config, `worldsim.parallel`, `worldsim.train.{config,optim,metrics}` exist and are tested).
Target: runs in minutes on 2 CPU cores; nothing measured yet, no loss figures recorded.
Builds `data/physics_clips` first if it is missing.

Variants through the config argument:

    worldsim train --config experiments/tiny_cpu.py:smoke --workdir runs/tiny_smoke

`smoke`: a handful of steps on a handful of clips, to check the whole loop
(data, step, eval, checkpoint, resume) end to end in seconds.

Any field can be overridden: `--config.train.steps=200 --config.data.augment=false`.
"""

from worldsim.train.config import parse_arg
from worldsim.train.defaults import base_config


def get_config(arg=None):
    arg = parse_arg(arg, smoke=False)
    c = base_config()  # every field and its default: worldsim/train/defaults.py
    c.data.dir = "data/physics_clips"
    c.data.batch_size = 8
    c.model.preset = "cpu"  # 8 frames of 32x32, width 64, 2 layers: 0.13M params
    c.train.steps = 1000
    c.train.learning_rate = 1e-3
    c.train.warmup_steps = 100

    if arg.smoke:
        c.data.batch_size = 2
        c.data.num_clips = 20
        c.data.dir = "data/physics_clips_smoke"
        c.train.steps = 6
        c.train.warmup_steps = 2
        c.train.log_every = 1
        c.train.eval_every = 3
        c.checkpoint.every_steps = 3
    return c
