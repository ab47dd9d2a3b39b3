r"""The world model at preset "S" on one GPU (H100 80 GB), at the clips' real size.

    worldsim train --config experiments/wm_s_gpu.py --workdir runs/wm_s

Same three stages as experiments/tiny_cpu.py (video VAE, audio VAE, then the joint
transformer with its text encoder), with only numbers changed: 64x64 frames (the
clips' own size, no pooling), the "small" video VAE (17 frames -> latents [5, 8, 8, 8],
80 video tokens per window with patch (1, 2, 2)), the "small" audio VAE (17 audio
tokens per window), the "S" transformer (width 256, 12 layers, 4 heads: AVDiT
33,656,360 params at Fv = 32, Fa = 8, Dt = 256) and a text encoder of the same width, bf16
compute over fp32 master weights. Simulates `runs/data/physics_clips_1k` (1000
in-range clips) and trains its tokenizer first if they are missing.

What it should show: per-stage `metrics.jsonl`, TensorBoard events and checkpoints
under runs/wm_s/{video_vae,audio_vae,av_dit}/, `losses.png` with all three loss
curves falling, in roughly 15 minutes on an H100. The step counts are an estimate,
not yet timed on a GPU: a transformer step is ~2.5 TFLOP (64 examples x 194 tokens x
6 x 33.7M params), ~10 ms at a third of the H100's bf16 peak, so the host-side data
pipeline and the first epoch's per-clip VAE encoding (then cached) set the pace;
check `steps/s` in the first stage's log and scale the `stages.*.steps`. Then:

    worldsim generate --workdir runs/wm_s --prompt "a red ball is thrown ..." --out clip.mp4

Shorten any stage from the command line, e.g. `--config.stages.av_dit.steps=1000`.
"""

from worldsim.train.config import parse_arg
from worldsim.world.settings import world_config


def get_config(arg=None):
    arg = parse_arg(arg, clips=1000)
    c = world_config()  # every field and its default: worldsim/world/settings.py
    c.data.dir = "runs/data/physics_clips_1k"  # simulated on first use
    c.data.num_clips = arg.clips
    c.model.preset = "S"  # joint transformer: width 256, depth 12, heads 4
    c.model.video_vae = "small"  # 64x64 -> 8x8 latents, 8 channels
    c.model.audio_vae = "small"
    c.model.frame_size = 64
    c.model.text = dict(width=256, depth=4, heads=4)  # as the transformer's width
    c.train.compute_dtype = "bfloat16"
    c.train.param_dtype = "float32"
    c.train.ema_decay = 0.999
    c.train.eval_every = 500
    c.train.log_every = 50
    c.checkpoint.every_steps = 1000
    c.stages.video_vae.update(steps=3000, learning_rate=1e-3, warmup_steps=200, batch_size=16)
    c.stages.audio_vae.update(steps=2000, learning_rate=1e-3, warmup_steps=100, batch_size=32)
    c.stages.av_dit.update(steps=6000, learning_rate=3e-4, warmup_steps=500, batch_size=64)
    return c
