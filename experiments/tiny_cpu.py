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

import ml_collections

from worldsim.parallel import DEFAULT_RULES
from worldsim.train.config import parse_arg


def get_config(arg=None):
    arg = parse_arg(arg, smoke=False)
    c = ml_collections.ConfigDict()
    c.seed = 0

    # Mesh sizes per axis; -1 takes the remaining devices (worldsim.parallel.make_mesh).
    c.mesh = dict(data=-1, fsdp=1, tensor=1, sequence=1)
    # Logical -> mesh axis rules, in priority order (tuples, so they can be overridden).
    c.rules = tuple((name, axes) for name, axes in DEFAULT_RULES)

    c.init_from = ""  # a checkpoint directory to start from (params + EMA, fresh optimizer)

    c.data = dict(
        dir="data/physics_clips",
        split="train",
        eval_split="validation",
        batch_size=8,  # global batch
        success_weight=0.7,  # share of failure clips = failure / (success + failure)
        failure_weight=0.3,
        augment=True,  # random left-right mirror
        num_clips=200,  # used only when building the dataset
        build_if_missing=True,
        frame_stride=4,  # 16 fps clips -> 4 fps frames for the frame predictor
    )

    # The engine's test model until the world model lands: next-frame prediction.
    # Presets in worldsim/models/frame_predictor.py; remat: none | full | dots.
    c.model = dict(kind="frame_predictor", preset="cpu", remat="none")

    c.train = dict(
        steps=1000,
        learning_rate=1e-3,
        warmup_steps=100,
        weight_decay=0.01,
        grad_clip_norm=1.0,  # 0 turns clipping off
        grad_accum_steps=1,
        ema_decay=0.999,
        param_dtype="float32",
        compute_dtype="float32",
        log_every=10,
        eval_every=200,
        eval_batches=2,
        max_bad_steps=3,  # consecutive non-finite steps before the run stops (0: never)
        nan_steps=(),  # fault injection: these 0-based steps get a NaN loss
        peak_flops_per_device=0.0,  # for MFU; 0 looks the device up in train/metrics.py
    )

    c.checkpoint = dict(every_steps=200, keep=3)

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
