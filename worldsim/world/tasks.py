"""The world model's training stages as engine `Task`s: video VAE, audio VAE, transformer.

Each stage is an ordinary engine run (`worldsim.train.trainer.train`) in its own
subdirectory of the workdir, so each checkpoints, resumes and logs by itself
(`worldsim.world.stages` runs them in order). The VAE stages train on both
windows of every clip (previous shot and target: 2B rows); the transformer stage
reads the frozen VAEs' latents, written once before it (`worldsim.world.latents`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from worldsim.train.tasks import HostBatch, Task
from worldsim.world.codec import fit_frames, make_video_vae, video_to_unit, windows
from worldsim.world.settings import STAGES, WorldModelSettings
from worldsim.world.spec import WorldSpec


def lowered_flops(make_model, loss_fn, batch_shapes, batch_size: int) -> float:
    """FLOPs of one forward + backward of `loss_fn`, counted by XLA on the lowered program.

    For models without an analytic count (the conv VAEs). Lowering allocates nothing and
    takes about a second; the count is global and before XLA's optimisations (no scans
    here, so nothing is undercounted). Used for the trainer's FLOP/s and MFU figures.
    """
    from flax import nnx

    graphdef, abstract = nnx.split(nnx.eval_shape(lambda: make_model(nnx.Rngs(0))))

    def loss_and_grads(state, batch):
        def loss_of(s):
            return loss_fn(nnx.merge(graphdef, s), batch, jax.random.key(0))[0]

        return jax.value_and_grad(loss_of)(state)

    cost = jax.jit(loss_and_grads).lower(abstract, batch_shapes(batch_size)).cost_analysis()
    if isinstance(cost, (list, tuple)):  # older jax: [dict]
        cost = cost[0] if cost else {}
    return float((cost or {}).get("flops", 0.0))


def video_vae_task(spec: WorldSpec, model: WorldModelSettings) -> Task:
    from worldsim.models import vae_video

    vae_cfg = spec.video_vae_config
    kl_weight, foreground_weight = model.video_kl_weight, model.video_foreground_weight
    recon = model.video_recon

    def prepare_batch(batch: HostBatch) -> HostBatch:
        video = fit_frames(np.asarray(batch["video"]), spec)
        return {"video": np.concatenate(windows(video, spec), axis=0)}  # [2B, W, S, S, 3]

    def batch_shapes(batch_size: int) -> dict[str, jax.ShapeDtypeStruct]:
        s = spec.frame_size
        return {
            "video": jax.ShapeDtypeStruct((2 * batch_size, spec.window_frames, s, s, 3), jnp.uint8)
        }

    def loss_fn(model, batch, key):
        return vae_video.vae_loss(
            model,
            video_to_unit(batch["video"]),
            key,
            kl_weight=kl_weight,
            recon=recon,
            foreground_weight=foreground_weight,
        )

    def make_model(rngs):
        return make_video_vae(vae_cfg, rngs)

    return Task(
        name="video_vae",
        make_model=make_model,
        loss_fn=loss_fn,
        prepare_batch=prepare_batch,
        batch_shapes=batch_shapes,
        flops_per_step=lambda b: lowered_flops(make_model, loss_fn, batch_shapes, b),
    )


def audio_vae_task(spec: WorldSpec, model: WorldModelSettings) -> Task:
    from worldsim.media.audio_features import log_mel
    from worldsim.models import vae_audio

    vae_cfg = spec.audio_vae_config
    kl_weight = model.audio_kl_weight
    per_frame = spec.sample_rate // spec.fps

    def prepare_batch(batch: HostBatch) -> HostBatch:
        audio = np.concatenate(windows(np.asarray(batch["audio"]), spec, per_frame), axis=0)
        return {"mel": log_mel(audio.astype(np.float32), spec.mel_config)}  # [2B, M, n_mels]

    def batch_shapes(batch_size: int) -> dict[str, jax.ShapeDtypeStruct]:
        shape = (2 * batch_size, spec.mel_frames, vae_cfg.n_mels)
        return {"mel": jax.ShapeDtypeStruct(shape, jnp.float32)}

    def loss_fn(model, batch, key):
        return vae_audio.vae_loss(model, batch["mel"], key, kl_weight=kl_weight)

    def make_model(rngs):
        return vae_audio.AudioVAE(vae_cfg, rngs=rngs)

    return Task(
        name="audio_vae",
        make_model=make_model,
        loss_fn=loss_fn,
        prepare_batch=prepare_batch,
        batch_shapes=batch_shapes,
        flops_per_step=lambda b: lowered_flops(make_model, loss_fn, batch_shapes, b),
    )


def av_dit_task(
    spec: WorldSpec,
    model: WorldModelSettings,
    latents_dir: Any = None,
    *,
    unrolled_depth: int | None = None,
) -> Task:
    """The transformer stage on the latents under `latents_dir` (`worldsim.world.latents`).
    Without it the task still compiles (dry runs, tests with synthetic latents) but reads
    no data. `unrolled_depth`: that many layers in a Python loop (FLOP counting in the
    dry run)."""
    from worldsim.models import av_dit
    from worldsim.world import latents
    from worldsim.world.model import model_configs, world_loss, world_model_from_configs

    dit_cfg, text_cfg = model_configs(spec, model)
    if unrolled_depth is not None:
        dit_cfg = dataclasses.replace(dit_cfg, depth=unrolled_depth, scan_layers=False)
    loss_cfg = loss_config(model)
    t, h, w = spec.video_latent_grid

    def prepare_batch(batch: HostBatch) -> HostBatch:
        return latents.host_batch(batch)  # a cast: the latents were written once

    def train_iterator(data_cfg, data_dir, seed):
        if latents_dir is None:
            raise RuntimeError("the av_dit task reads latents: give it the latents' folder")
        return latents.latent_train_iterator(latents_dir, data_cfg.split, data_cfg, seed)

    def eval_batches(data_cfg, data_dir, seed, num_batches):
        if latents_dir is None:
            raise RuntimeError("the av_dit task reads latents: give it the latents' folder")
        return latents.latent_eval_batches(
            latents_dir, data_cfg.eval_split, data_cfg, seed, num_batches
        )

    def batch_shapes(batch_size: int) -> dict[str, jax.ShapeDtypeStruct]:
        video = (batch_size, t, h, w, spec.video_latent_channels)
        audio = (batch_size, spec.audio_latents, spec.audio_latent_channels)
        f32 = jnp.float32
        return {
            "video_previous": jax.ShapeDtypeStruct(video, f32),
            "video_target": jax.ShapeDtypeStruct(video, f32),
            "audio_previous": jax.ShapeDtypeStruct(audio, f32),
            "audio_target": jax.ShapeDtypeStruct(audio, f32),
            "caption": jax.ShapeDtypeStruct((batch_size, spec.text_len), jnp.int32),
        }

    def loss_fn(model, batch, key):
        return world_loss(model, batch, key, spec=spec, loss_cfg=loss_cfg)

    video_tokens, audio_tokens = 2 * spec.video_tokens, 2 * spec.audio_tokens

    def flops_per_step(batch_size: int) -> float:
        return av_dit.flops_per_step(
            dit_cfg, batch_size, video_tokens, audio_tokens, spec.text_len
        ) + text_flops_per_step(text_cfg, batch_size)

    return Task(
        name="av_dit",
        make_model=lambda rngs: world_model_from_configs(spec, model, dit_cfg, text_cfg, rngs),
        loss_fn=loss_fn,
        prepare_batch=prepare_batch,
        batch_shapes=batch_shapes,
        flops_per_step=flops_per_step,
        tokens_per_step=lambda batch_size: batch_size * (video_tokens + audio_tokens),
        unrolled_with_depth=lambda depth: av_dit_task(
            spec, model, latents_dir, unrolled_depth=depth
        ),
        depth=dit_cfg.depth,
        train_iterator=train_iterator,
        eval_batches=eval_batches,
    )


def loss_config(model: WorldModelSettings):
    """The transformer's `LossConfig` from the world model's settings."""
    from worldsim.world.model import LossConfig

    return LossConfig(
        mode_probs=model.context_mode_probs,
        caption_dropout=model.caption_dropout,
        timestep_mean=model.timestep_mean,
        timestep_std=model.timestep_std,
    )


def text_flops_per_step(text_cfg: Any, batch_size: int) -> float:
    """Forward + backward matmul FLOPs of the text encoder (6 * params * tokens, embeddings excluded)."""
    d, c = text_cfg.width, text_cfg.max_len
    per_layer = 4 * d * d + 2 * d * text_cfg.mlp_ratio * d
    return (
        6.0 * per_layer * text_cfg.depth * batch_size * c
        + 12.0 * text_cfg.depth * batch_size * c * c * d
    )


def stage_task(
    stage: str, spec: WorldSpec, model: WorldModelSettings, latents_dir: Any = None
) -> Task:
    if stage == "video_vae":
        return video_vae_task(spec, model)
    if stage == "audio_vae":
        return audio_vae_task(spec, model)
    if stage == "av_dit":
        return av_dit_task(spec, model, latents_dir)
    raise ValueError(f"unknown stage {stage!r}; stages are {STAGES}")
