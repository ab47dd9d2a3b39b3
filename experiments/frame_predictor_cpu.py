r"""The training engine's test model (a next-frame transformer) on the physics clips, on a CPU.

    worldsim train --config experiments/frame_predictor_cpu.py --workdir runs/fp

The engine's tests (exact resume, sharding, multi-process, dry run) use this small,
single-stage model (0.13M parameters); the world model is experiments/tiny_cpu.py.
Measured on a 2-core CPU VM (2026-11-22): 1000 steps in about 80 s after the dataset exists (~21 steps/s after compile), train loss 1.11 -> 0.009,
eval loss 0.0098 at step 1000. Simulates `runs/data/physics_clips` (200 clips) first if
it is missing. Writes metrics.jsonl, TensorBoard events, metrics.png and checkpoints.

Variants through the config argument:

    worldsim train --config experiments/frame_predictor_cpu.py:smoke --workdir runs/fp_smoke

`smoke`: a handful of steps on a handful of clips, to check the whole loop
(data, step, eval, checkpoint, resume) end to end in seconds.

Any field can be overridden: `--config.train.steps=200 --config.model.frame_stride=2`.
"""

from worldsim.recipes.frame_predictor import defaults
from worldsim.train.config import parse_arg


def get_config(arg=None):
    arg = parse_arg(arg, smoke=False)
    c = defaults()  # every field and its default: worldsim/recipes/frame_predictor.py
    c.data.dir = "runs/data/physics_clips"  # simulated on first use
    c.data.batch_size = 8
    c.model.preset = "cpu"  # 8 frames of 32x32, width 64, 2 layers: 0.13M params
    c.train.steps = 1000
    c.train.learning_rate = 1e-3
    c.train.warmup_steps = 100
    c.train.ema_decay = 0.99  # a 1000-step run: the EMA should see its last ~100 steps

    if arg.smoke:
        c.data.batch_size = 2
        c.data.num_clips = 20
        c.data.dir = "runs/data/physics_clips_smoke"
        c.train.steps = 6
        c.train.warmup_steps = 2
        c.train.log_every = 1
        c.train.eval_every = 3
        c.checkpoint.every_steps = 3
    return c
