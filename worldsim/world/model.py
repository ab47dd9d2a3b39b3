"""The world model the transformer stage trains: text encoder + joint AV transformer, and its loss.

    v_video, v_audio = model(video, audio, layout, video_pos, audio_pos, t, caption)

The text encoder is trained jointly with the transformer (its gradients come
from the flow-matching loss). The VAEs are frozen by then: their latents arrive
in the batch (`worldsim.world.encoders`).

The loss (`world_loss`) fits on one screen: sample a context mode per row, build
the two-slot token sequence (`worldsim.world.layout`), noise the target tokens
only, drop captions for classifier-free guidance, and average the squared
velocity error over target tokens of both modalities (`loss_from_velocity`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

from worldsim.diffusion import flow_matching as fm
from worldsim.models.av_dit import AVDiT, AVDiTConfig
from worldsim.models.text_encoder import TextEncoder, TextEncoderConfig
from worldsim.world import layout as lay
from worldsim.world.spec import WorldSpec


@dataclasses.dataclass(frozen=True)
class LossConfig:
    mode_probs: tuple[float, ...] = (0.4, 0.3, 0.15, 0.15)  # over layout.MODE_NAMES
    caption_dropout: float = 0.1  # classifier-free guidance
    timestep_mean: float = 0.0  # logit-normal t (SD3)
    timestep_std: float = 1.0


X0_MIN_T = 0.05  # an x0 head's velocity divides by max(t, this)
PREDICTIONS = ("velocity", "x0", "x0_delta")


class WorldModel(nnx.Module):
    def __init__(
        self,
        dit: AVDiTConfig,
        text: TextEncoderConfig,
        *,
        prediction: str = "velocity",
        tokens_per_frame: int = 0,
        rngs: nnx.Rngs,
    ):
        if prediction not in PREDICTIONS:
            raise ValueError(f"prediction must be one of {PREDICTIONS}, got {prediction!r}")
        if prediction == "x0_delta" and tokens_per_frame < 1:
            raise ValueError(
                "prediction 'x0_delta' needs tokens_per_frame >= 1 (video tokens per latent frame)"
            )
        self.text = TextEncoder(text, rngs=rngs)
        self.dit = AVDiT(dit, rngs=rngs)
        self.prediction = prediction
        self.tokens_per_frame = tokens_per_frame

    def __call__(
        self,
        video: jax.Array,  # [B, 2L, Fv]
        audio: jax.Array,  # [B, 2A, Fa]
        layout: lay.Layout,
        video_pos: jax.Array,  # [B, 2L, 3]
        audio_pos: jax.Array,  # [B, 2A]
        t: jax.Array,  # [B]
        caption: jax.Array,  # int32 [B, C]; all zeros = null caption
        *,
        scan: bool | None = None,
    ) -> tuple[jax.Array, jax.Array]:
        text, text_mask = self.text(caption)  # [B, C, Dt], [B, C]
        out_v, out_a = self.dit(
            video,
            video_pos,
            layout.video_type,
            audio,
            audio_pos,
            layout.audio_type,
            t,
            text,
            text_mask,
            layout.video_valid,
            layout.audio_valid,
            scan=scan,
        )
        if self.prediction == "velocity":
            return out_v, out_a
        if self.prediction == "x0_delta":  # the video head predicts the rest of a prior guess
            anchor, anchored = last_given_frame(video, layout.video_type, self.tokens_per_frame)
            variance = jnp.where(anchored, ANCHOR_VARIANCE, 1.0)[:, :, None]  # [B, 2L, 1]
            out_v = out_v + gaussian_x0_prior(video, anchor, variance, t)  # [B, 2L, Fv]
        # x_t = (1 - t) x0 + t noise and v = noise - x0 give v = (x_t - x0) / t.
        t_safe = jnp.maximum(t, X0_MIN_T)[:, None, None]  # [B, 1, 1]
        return (video - out_v) / t_safe, (audio - out_a) / t_safe


def last_given_frame(
    video: jax.Array,  # [B, 2L, Fv]: context slot, then the target window
    video_type: jax.Array,  # int32 [B, 2L]
    tokens_per_frame: int,
) -> tuple[jax.Array, jax.Array]:
    """Each target token's anchor: the same position in the last given latent frame.

    Rows with first frames given (`TYPE_FIRST_FRAMES`, whole leading latent frames of the
    target window, clean in the input) get, at every target-window token, the token at
    its spatial position in the last of those frames. Returns (anchor [B, 2L, Fv], zeros
    elsewhere; anchored [B, 2L], True on the target window of rows with given frames).
    """
    b, two_l, fv = video.shape
    n_l = two_l // 2
    target = video[:, n_l:]  # [B, L, Fv]
    n_given = jnp.sum(video_type[:, n_l:] == lay.TYPE_FIRST_FRAMES, axis=1)  # [B] tokens
    start = jnp.maximum(n_given - tokens_per_frame, 0)  # [B] the last given frame's first
    index = start[:, None] + jnp.arange(n_l)[None, :] % tokens_per_frame  # [B, L]
    anchor = jnp.take_along_axis(target, index[:, :, None], axis=1)  # [B, L, Fv]
    has = jnp.broadcast_to((n_given > 0)[:, None], (b, n_l))  # [B, L]
    anchor = jnp.where(has[:, :, None], anchor, 0.0)
    anchored = jnp.concatenate([jnp.zeros_like(has), has], axis=1)  # [B, 2L]
    return jnp.concatenate([jnp.zeros_like(anchor), anchor], axis=1), anchored


# How far a latent frame strays from the last given one: mean squared difference of the
# normalised video latents, 0.017 one latent frame on to 0.062 eight on (cpu_physics' 4000
# clips, validation batch); 0.05 is the anchored prior's variance. Elsewhere the prior is the
# latents' own: mean 0, variance 1 (they are normalised).
ANCHOR_VARIANCE = 0.05


def gaussian_x0_prior(
    video: jax.Array,  # [B, 2L, Fv] x_t
    anchor: jax.Array,  # [B, 2L, Fv] the prior's mean
    variance: jax.Array,  # [B, 2L, 1] the prior's variance s^2
    t: jax.Array,  # [B]
) -> jax.Array:
    """E[x0 | x_t] when x0 ~ N(anchor, s^2 I) and x_t = (1 - t) x0 + t noise:

        anchor + k (x_t - (1 - t) anchor),   k = (1 - t) s^2 / ((1 - t)^2 s^2 + t^2).

    At high noise it is the anchor (on first-frame rows, what copying the last given frame
    gives); at low noise the noisy token itself, x_t / (1 - t). An "x0_delta" head predicts
    the rest, on every row (EDM's skip connection, Karras et al. 2022, with the prior
    centred on the last given frame where there is one). Adding the anchor alone made the
    low-noise target x_t - anchor, which the network must build by attention; adding the
    guess on first-frame rows only left it two targets to tell apart (video loss 3.5 at
    step 100 in both cases, against the x0 head's 0.75).
    """
    tt = t[:, None, None]  # [B, 1, 1]
    k = (1 - tt) * variance / ((1 - tt) ** 2 * variance + tt**2)
    return anchor + k * (video - (1 - tt) * anchor)


def sequence_tokens(
    spec: WorldSpec, batch: dict[str, jax.Array], mode: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """Clean two-slot token sequences (video [B, 2L, Fv], audio [B, 2A, Fa]) for a training batch.

    The context slot holds the previous window of the same clip (mode 3), or the
    target window of another clip of the batch as a reference (mode 2, rolled by
    one row), or zeros (masked out) otherwise.
    """
    target_v = lay.video_to_tokens(batch["video_target"], spec.video_patch)  # [B, L, Fv]
    target_a = lay.audio_to_tokens(batch["audio_target"], spec.audio_patch)  # [B, A, Fa]
    previous_v = lay.video_to_tokens(batch["video_previous"], spec.video_patch)
    previous_a = lay.audio_to_tokens(batch["audio_previous"], spec.audio_patch)

    def slot(target, previous):
        reference = jnp.roll(target, 1, axis=0)
        m = mode[:, None, None]
        return jnp.where(m == 2, reference, jnp.where(m == 3, previous, 0.0))

    video = jnp.concatenate([slot(target_v, previous_v), target_v], axis=1)  # [B, 2L, Fv]
    audio = jnp.concatenate([slot(target_a, previous_a), target_a], axis=1)  # [B, 2A, Fa]
    return video, audio


def loss_from_velocity(
    v_video: jax.Array,
    v_audio: jax.Array,
    x0_video: jax.Array,
    noise_video: jax.Array,
    x0_audio: jax.Array,
    noise_audio: jax.Array,
    layout: lay.Layout,
) -> tuple[jax.Array, dict[str, jax.Array]]:
    """Squared velocity error averaged over the target tokens' features of both modalities.

    Context and padding positions carry no weight: whatever the model outputs there
    leaves the loss unchanged (tested).
    """
    mask_v = lay.target_mask(layout.video_type, layout.video_valid)  # [B, 2L]
    mask_a = lay.target_mask(layout.audio_type, layout.audio_valid)  # [B, 2A]
    loss_v = fm.flow_matching_loss(v_video, x0_video, noise_video, mask_v)
    loss_a = fm.flow_matching_loss(v_audio, x0_audio, noise_audio, mask_a)
    n_v = jnp.sum(mask_v) * x0_video.shape[-1]
    n_a = jnp.sum(mask_a) * x0_audio.shape[-1]
    loss = (loss_v * n_v + loss_a * n_a) / jnp.maximum(n_v + n_a, 1)
    return loss, {"loss": loss, "video_loss": loss_v, "audio_loss": loss_a}


def world_loss(
    model: WorldModel,
    batch: dict[str, jax.Array],
    key: jax.Array,
    *,
    spec: WorldSpec,
    loss_cfg: LossConfig,
) -> tuple[jax.Array, dict[str, jax.Array]]:
    """Flow matching on the two-slot sequence with a random context mode per row.

    batch: `video_target`, `video_previous` [B, t, h, w, Z]; `audio_target`,
    `audio_previous` [B, U, Y] (normalised VAE latents); `caption` int32 [B, C].
    """
    b = batch["caption"].shape[0]
    k_layout, k_t, k_nv, k_na, k_cap = jax.random.split(key, 5)
    with jax.named_scope("layout"):
        layout, mode = lay.sample_layout(k_layout, spec, b, loss_cfg.mode_probs)
        x0_v, x0_a = sequence_tokens(spec, batch, mode)  # [B, 2L, Fv], [B, 2A, Fa]
        video_pos, audio_pos = lay.positions(spec, b)
    with jax.named_scope("noise"):
        t = fm.sample_timesteps(
            k_t, (b,), mean=loss_cfg.timestep_mean, std=loss_cfg.timestep_std
        )  # [B]
        noise_v = jax.random.normal(k_nv, x0_v.shape, x0_v.dtype)
        noise_a = jax.random.normal(k_na, x0_a.shape, x0_a.dtype)
        in_v, _ = fm.noised_inputs(
            x0_v, noise_v, t, lay.context_mask(layout.video_type, layout.video_valid)
        )
        in_a, _ = fm.noised_inputs(
            x0_a, noise_a, t, lay.context_mask(layout.audio_type, layout.audio_valid)
        )
        caption, _ = fm.drop_captions(k_cap, batch["caption"], loss_cfg.caption_dropout)
    with jax.named_scope("model"):
        v_v, v_a = model(in_v, in_a, layout, video_pos, audio_pos, t, caption)
    with jax.named_scope("loss"):
        loss, metrics = loss_from_velocity(v_v, v_a, x0_v, noise_v, x0_a, noise_a, layout)
    return loss, metrics


def make_world_model(spec: WorldSpec, model: Any, rngs: nnx.Rngs) -> WorldModel:
    dit_cfg, text_cfg = model_configs(spec, model)
    return world_model_from_configs(spec, model, dit_cfg, text_cfg, rngs)


def world_model_from_configs(
    spec: WorldSpec, model: Any, dit_cfg: AVDiTConfig, text_cfg: TextEncoderConfig, rngs: nnx.Rngs
) -> WorldModel:
    t, h, w = spec.video_latent_grid
    _, ph, pw = spec.video_patch
    return WorldModel(
        dit_cfg,
        text_cfg,
        prediction=model.prediction,
        tokens_per_frame=(h // ph) * (w // pw),
        rngs=rngs,
    )


def model_configs(spec: WorldSpec, model: Any) -> tuple[AVDiTConfig, TextEncoderConfig]:
    """(transformer config, text encoder config) from the world model's settings
    (`worldsim.world.settings.WorldModelSettings`)."""
    from worldsim.models import av_dit

    text = model.text
    if spec.text_len < 1:
        raise ValueError(
            "model.text_len = 0 (sized from the dataset's longest caption) is only resolved "
            "when training starts; give it a number to build the model without data"
        )
    text_cfg = TextEncoderConfig(
        vocab_size=spec.vocab_size,
        max_len=spec.text_len,
        width=text.width,
        depth=text.depth,
        heads=text.heads,
    )
    if model.preset not in av_dit.PRESETS:
        raise ValueError(
            f"config field 'model.preset' = {model.preset!r}: not one of {sorted(av_dit.PRESETS)}"
        )
    dit_cfg = av_dit.make_config(
        model.preset,
        video_features=spec.video_features,
        audio_features=spec.audio_features,
        text_width=text.width,
        remat=model.remat,
    )
    return dit_cfg, text_cfg
