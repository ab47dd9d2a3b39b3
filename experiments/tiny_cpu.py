r"""The default run: the whole world model, tiny, on the physics clips, on a 2-core CPU.

    worldsim train --config experiments/tiny_cpu.py --workdir runs/tiny
    worldsim generate --workdir runs/tiny --prompt "a red ball is thrown ..." --out clip.mp4

Three stages in one command (worldsim/world/stages.py), each an engine run in its own
subdirectory: the causal video VAE, the log-mel audio VAE, then the joint audio-video
transformer (with its text encoder) on the frozen VAEs' latents. Simulates
`runs/data/physics_clips` (200 clips) and trains its sentencepiece tokenizer first if
they are missing. Writes per-stage metrics, TensorBoard events, checkpoints and
`losses.png`. Measured on the 2-core CPU VM (2026-11-22, `make demo`): 540 s for the whole
demo; video VAE PSNR 22.8 dB, audio VAE mel L1 0.117, transformer eval loss 1.49 -> 0.66.

Variants through the config argument:

    worldsim train --config experiments/tiny_cpu.py:smoke --workdir runs/wm_smoke

`smoke`: a few steps per stage on a handful of clips, to check the whole chain
(data, tokenizer, three stages, checkpoints, generation) in well under a minute.

Any field can be overridden: `--config.stages.av_dit.steps=50 --config.stages.order=av_dit`.
"""

from worldsim.train.config import parse_arg
from worldsim.world.settings import world_config


def get_config(arg=None):
    arg = parse_arg(arg, smoke=False)
    c = world_config()  # every field and its default: worldsim/world/settings.py
    c.data.dir = "runs/data/physics_clips"  # simulated on first use
    c.model.preset = "cpu"  # joint transformer
    c.model.video_vae = "cpu"
    c.model.audio_vae = "tiny"
    c.train.ema_decay = 0.99
    c.train.eval_every = 100
    c.train.log_every = 10
    c.checkpoint.every_steps = 100
    c.stages.video_vae.update(steps=300, learning_rate=2e-3, warmup_steps=30, batch_size=4)
    c.stages.audio_vae.update(steps=300, learning_rate=2e-3, warmup_steps=30, batch_size=8)
    c.stages.av_dit.update(steps=600, learning_rate=1e-3, warmup_steps=60, batch_size=8)

    if arg.smoke:
        c.data.num_clips = 20
        c.data.dir = "runs/data/physics_clips_smoke"
        c.train.log_every = 1
        c.train.eval_every = 3
        c.train.eval_batches = 1
        c.checkpoint.every_steps = 3
        for stage in ("video_vae", "audio_vae"):
            c.stages[stage].update(steps=4, learning_rate=1e-3, warmup_steps=1, batch_size=2)
        # Batch 4: divisible by data x fsdp = 4 on the 8-device test mesh (2, 2, 2).
        c.stages.av_dit.update(steps=4, learning_rate=1e-3, warmup_steps=1, batch_size=4)
    return c
