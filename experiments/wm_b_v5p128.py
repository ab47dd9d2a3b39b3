r"""The world model at preset "B" on a TPU v5p-128 slice (64 chips), pure FSDP.

Check that the transformer stage fits before paying for the pod (compiles its real
sharded train step for the slice on a CPU-only machine; needs libtpu:
`pip install -e .[tpu]`):

    worldsim train --config experiments/wm_b_v5p128.py --dry-run --topology v5p-128

Measured on the 2-core CPU VM (benchmarks/RESULTS.md, "World model dry runs"): fits.
AVDiT 134,320,200 params (0.153B with the 6-layer text encoder); per chip: arguments
0.06 GiB, peak 7.02 GiB of 95.74 GiB HBM (7.3%); 1.767e12 FLOPs/chip/step (1.13e14 for
the slice; the analytic count says 1.738e12), 3.8 ms per step at 100% MFU; main
compile 115-122 s, whole dry run (three compiles) 5.5-6 min. The peak is almost all
activations (7.28 GiB temporaries at 8 examples per chip, no remat).

Launch on the pod with the same command minus `--dry-run --topology` plus
`--workdir`, one process per host. The clips must be 128x128: build them with
`worldsim data build physics_clips --out DIR --width 128 --height 128`.

Differs from experiments/tiny_cpu.py only in numbers and the mesh: 128x128 frames,
the "default" video VAE (17 frames -> latents [5, 16, 16, 16]: 320 video tokens per
window with patch (1, 2, 2), 674 tokens per example over both windows), the "small"
audio VAE, the "B" transformer (width 512, 12 layers, 8 heads) with a text encoder
of the same width, bf16 compute over fp32 master weights.
"""

from worldsim.train.config import parse_arg
from worldsim.world.settings import world_config


def get_config(arg=None):
    arg = parse_arg(arg, fsdp=-1)
    c = world_config()  # every field and its default: worldsim/world/settings.py
    # 64 chips: all on fsdp (params, grads and Adam moments sharded 64 ways); the batch
    # is split over data x fsdp = 64, so every stage's batch is a multiple of 64.
    c.mesh = dict(data=1, fsdp=arg.fsdp, tensor=1, sequence=1)
    c.data.dir = "gs://YOUR_BUCKET/physics_clips_128"  # or a local path on each host
    c.data.build_if_missing = False
    c.model.preset = "B"  # joint transformer: width 512, depth 12, heads 8
    c.model.remat = "none"
    c.model.video_vae = "default"  # 128x128 -> 16x16 latents, 16 channels
    c.model.audio_vae = "small"
    c.model.frame_size = 128
    c.model.text = dict(width=512, depth=6, heads=8)
    c.train.compute_dtype = "bfloat16"
    c.train.param_dtype = "float32"  # master weights
    c.train.ema_decay = 0.9999
    c.train.log_every = 50
    c.train.eval_every = 2_000
    c.checkpoint.every_steps = 1_000
    c.stages.video_vae.update(steps=100_000, learning_rate=2e-4, warmup_steps=2_000, batch_size=128)
    c.stages.audio_vae.update(steps=50_000, learning_rate=2e-4, warmup_steps=1_000, batch_size=256)
    # 512 examples x 674 tokens per step: 8 per chip.
    c.stages.av_dit.update(steps=200_000, learning_rate=1e-4, warmup_steps=5_000, batch_size=512)
    return c
