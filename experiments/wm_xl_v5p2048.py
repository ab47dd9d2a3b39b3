r"""The world model at preset "XL" on a TPU v5p-2048 slice (1024 chips): FSDP x tensor.

Check that the transformer stage fits before paying for the pod (compiles its real
sharded train step for the slice on a CPU-only machine; needs libtpu:
`pip install -e .[tpu]`):

    worldsim train --config experiments/wm_xl_v5p2048.py --dry-run --topology v5p-2048

Measured on the 2-core CPU VM (benchmarks/RESULTS.md, "World model dry runs"): fits.
AVDiT 1,124,212,680 params (1.167B with the text encoder); mesh data 1 x fsdp 128 x
tensor 8; per chip: arguments 0.05 GiB, peak 1.48 GiB of 95.74 GiB HBM (1.5%);
6.705e12 FLOPs/chip/step by XLA (6.87e15 for the slice; the analytic count says
7.682e12, 15% more, where for B they agree within 2%: not investigated), 16.7 ms per
step at 100% MFU; main
compile 150-167 s, whole dry run (three compiles) 7-8.5 min, with other jobs on the
cores.

Launch on the pod with the same command minus `--dry-run --topology` plus
`--workdir`, one process per host. The clips must be 256x256: build them with
`worldsim data build physics_clips --out DIR --width 256 --height 256`.

Differs from experiments/tiny_cpu.py only in numbers and the mesh: 256x256 frames,
the "default" video VAE (17 frames -> latents [5, 32, 32, 16]: 1280 video tokens per
window with patch (1, 2, 2), 2594 tokens per example over both windows), the "small"
audio VAE, the "XL" transformer (width 1152, 20 layers, 16 heads) with a 768-wide text
encoder, bf16 compute over fp32 master weights, every block rematerialised.
"""

from worldsim.train.config import parse_arg
from worldsim.world.settings import world_config


def get_config(arg=None):
    arg = parse_arg(arg, fsdp=-1, tensor=8)
    c = world_config()  # every field and its default: worldsim/world/settings.py
    # 1024 chips (physical 8x8x16): heads and MLP split 8 ways (tensor), everything else
    # FSDP over the other 128. Each mesh axis must be a product of physical axes (8, 8,
    # 16), so tensor is 8 or 16, not 4. The batch is split over data x fsdp = 128, so
    # every stage's batch is a multiple of 128.
    c.mesh = dict(data=1, fsdp=arg.fsdp, tensor=arg.tensor, sequence=1)
    c.data.dir = "gs://YOUR_BUCKET/physics_clips_256"  # or a local path on each host
    c.data.build_if_missing = False
    c.model.preset = "XL"  # joint transformer: width 1152, depth 20, heads 16
    c.model.remat = "full"
    c.model.video_vae = "default"  # 256x256 -> 32x32 latents, 16 channels
    c.model.audio_vae = "small"
    c.model.frame_size = 256
    c.model.text = dict(width=768, depth=6, heads=8)  # heads divisible by tensor
    c.train.compute_dtype = "bfloat16"
    c.train.param_dtype = "float32"  # master weights
    c.train.ema_decay = 0.9999
    c.train.log_every = 50
    c.train.eval_every = 2_000
    c.checkpoint.every_steps = 1_000
    c.stages.video_vae.update(steps=100_000, learning_rate=2e-4, warmup_steps=2_000, batch_size=256)
    c.stages.audio_vae.update(steps=50_000, learning_rate=2e-4, warmup_steps=1_000, batch_size=256)
    # 1024 examples x 2594 tokens per step: 8 per data shard, each split 8 ways (tensor).
    c.stages.av_dit.update(steps=300_000, learning_rate=1e-4, warmup_steps=10_000, batch_size=1024)
    return c
