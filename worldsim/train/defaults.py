"""Every config field with its default: experiments start here and change numbers.

Keeping the full field list in one place means an experiment file shows only what
makes it different (tiny CPU run vs pod run), and a new field reaches every
experiment at once. Overrides still work on any field from the command line.
"""

import ml_collections

from worldsim.parallel import DEFAULT_RULES


def base_config() -> ml_collections.ConfigDict:
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

    return c


def world_config() -> ml_collections.ConfigDict:
    """`base_config()` plus the world model's fields: the three stages and their models.

    `model.*` names the parts (presets in worldsim/models/{vae_video,vae_audio,av_dit}.py)
    and the windows (worldsim/world/spec.py); `stages.*` gives each stage's length and
    learning rate (they override `train.*` and `data.batch_size` for that stage).
    """
    c = base_config()
    c.model = dict(
        kind="world_model",
        preset="cpu",  # the joint transformer
        remat="none",
        video_vae="cpu",
        audio_vae="tiny",
        text=dict(width=64, depth=2, heads=4),
        fps=16,
        sample_rate=16_000,
        frame_size=32,  # 64x64 clips are mean-pooled to it
        window_frames=17,  # 1 + 4k frames per window (causal video VAE)
        shot_offset_frames=15,  # target window start; the previous shot starts at 0
        mel_frames_per_video_frame=4,
        video_patch=(1, 4, 4),  # 16x16 latents -> 4x4 tokens per latent frame
        audio_patch=1,
        text_len=24,
        vocab_size=256,
        video_kl_weight=1e-6,
        # Pixels unlike their frame's background weigh 1 + this in the video VAE's loss
        # (vae_video.vae_loss): the simulator's objects are ~1% of the pixels.
        video_foreground_weight=10.0,
        audio_kl_weight=1e-4,
        caption_dropout=0.1,
        # P(context mode) during training: none, first frames, reference, previous shot.
        context_mode_probs=(0.4, 0.3, 0.15, 0.15),
    )
    stage = dict(steps=200, learning_rate=1e-3, warmup_steps=20, batch_size=8)
    c.stages = dict(
        order="video_vae,audio_vae,av_dit",  # any subset, in this order
        video_vae=dict(stage),
        audio_vae=dict(stage),
        av_dit=dict(stage),
    )
    return c
