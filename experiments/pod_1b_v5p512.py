r"""A ~1B-parameter model on a TPU v5p-512 slice (256 chips), pure FSDP.

Check that it fits before paying for the pod (compiles the real sharded train step
for the topology on a CPU-only machine; needs libtpu: `pip install -e .[tpu]`):

    worldsim train --config experiments/pod_1b_v5p512.py --dry-run --topology v5p-512

Measured on a 2-core CPU VM (see the README, "Pod dry runs"): fits, with per-chip
memory and FLOPs printed by the command above. Launch on the pod with the same
command minus `--dry-run --topology`, one process per host (`jax.distributed` picks
up the TPU environment; or pass --coordinator/--num-processes/--process-id).

Differs from experiments/frame_predictor_cpu.py only in numbers and the mesh.
"""

from worldsim.recipes.frame_predictor import defaults
from worldsim.train.config import parse_arg


def get_config(arg=None):
    arg = parse_arg(arg, fsdp=-1)
    c = defaults()
    # 256 chips: all of them on fsdp (params, grads and Adam moments sharded 256 ways).
    c.mesh = dict(data=1, fsdp=arg.fsdp, tensor=1, sequence=1)
    c.data.dir = "gs://YOUR_BUCKET/physics_clips"  # or a local path on each host
    c.data.build_if_missing = False
    c.data.batch_size = 256  # global: one clip of 16x128x128 (3840 tokens) per chip
    c.model.frame_stride = 2
    c.model.preset = "1b"  # width 2048, 20 layers, 16 heads: 1.01B params
    c.model.remat = "full"
    c.train.steps = 100_000
    c.train.learning_rate = 3e-4
    c.train.warmup_steps = 2_000
    c.train.param_dtype = "float32"  # master weights
    c.train.compute_dtype = "bfloat16"
    c.train.log_every = 50
    c.train.eval_every = 2_000
    c.checkpoint.every_steps = 1_000
    return c
