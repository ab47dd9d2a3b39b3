"""The world model's output head: a velocity, or clean latents turned into a velocity."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from worldsim.diffusion import flow_matching as fm
from worldsim.world import layout as lay
from worldsim.world.model import X0_MIN_T, WorldModel, model_configs
from worldsim.world.settings import WorldModelSettings
from worldsim.world.spec import WorldSpec

SPEC = WorldSpec(frame_size=16, video_vae="tiny", text_len=8)


def _inputs(b=2, seed=0):
    k = jax.random.split(jax.random.key(seed), 4)
    video = jax.random.normal(k[0], (b, 2 * SPEC.video_tokens, SPEC.video_features))
    audio = jax.random.normal(k[1], (b, 2 * SPEC.audio_tokens, SPEC.audio_features))
    layout = lay.fixed_layout(SPEC, b, "none")
    video_pos, audio_pos = lay.positions(SPEC, b)
    caption = jnp.ones((b, SPEC.text_len), jnp.int32)
    return video, audio, layout, video_pos, audio_pos, caption


def test_an_x0_head_is_a_velocity_of_its_clean_latents():
    """With the clean latents x0 as its output, v = (x_t - x0) / t: the flow's own velocity
    noise - x0 wherever t >= X0_MIN_T (and the same network, so the same x0 estimate)."""
    dit_cfg, text_cfg = model_configs(SPEC, WorldModelSettings(preset="tiny"))
    velocity = WorldModel(dit_cfg, text_cfg, prediction="velocity", rngs=nnx.Rngs(0))
    x0_head = WorldModel(dit_cfg, text_cfg, prediction="x0", rngs=nnx.Rngs(0))
    nnx.update(x0_head, nnx.state(velocity))  # the same weights
    video, audio, layout, video_pos, audio_pos, caption = _inputs()
    t = jnp.asarray([0.5, 0.01])
    raw_v, raw_a = velocity(video, audio, layout, video_pos, audio_pos, t, caption)
    v, a = x0_head(video, audio, layout, video_pos, audio_pos, t, caption)
    t_safe = np.maximum(np.asarray(t), X0_MIN_T)[:, None, None]
    np.testing.assert_allclose(v, (video - raw_v) / t_safe, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(a, (audio - raw_a) / t_safe, rtol=1e-5, atol=1e-5)
    # If the head returned the true x0, the velocity would be exact: noise - x0.
    x0, noise = jax.random.normal(jax.random.key(1), video.shape), video
    x_t = fm.interpolate(x0, noise, 0.5)
    np.testing.assert_allclose((x_t - x0) / 0.5, fm.velocity_target(x0, noise), atol=1e-5)


def test_the_training_noise_levels_are_the_settings_ones():
    """model.timestep_mean / _std reach the loss: the logit-normal t the transformer trains on."""
    from worldsim.world.tasks import loss_config

    settings = WorldModelSettings(timestep_mean=0.8, timestep_std=0.5)
    cfg = loss_config(settings)
    assert (cfg.timestep_mean, cfg.timestep_std) == (0.8, 0.5)
    assert cfg.mode_probs == settings.context_mode_probs
    t = fm.sample_timesteps(
        jax.random.key(0), (4096,), mean=cfg.timestep_mean, std=cfg.timestep_std
    )
    assert abs(float(jnp.median(t)) - float(jax.nn.sigmoid(0.8))) < 0.02  # noisier than 0.5


def test_an_x0_delta_head_starts_from_the_prior_guess_anchored_on_the_last_given_frame():
    """Every video token's x0 is the head's output plus E[x0 | x_t] under a Gaussian prior:
    on first-frame rows' target window centred on the token at its spatial position in the
    last given latent frame (so at high noise the model starts by holding that frame),
    elsewhere the latents' own N(0, 1); the audio gets the plain x0 head."""
    from worldsim.world.model import ANCHOR_VARIANCE, last_given_frame, make_world_model

    settings = WorldModelSettings(preset="tiny", prediction="x0")
    x0_head = make_world_model(SPEC, settings, nnx.Rngs(0))
    delta = make_world_model(
        SPEC, dataclasses.replace(settings, prediction="x0_delta"), nnx.Rngs(0)
    )
    nnx.update(delta, nnx.state(x0_head))  # the same weights
    video, audio, _, video_pos, audio_pos, caption = _inputs(b=3)
    t = jnp.asarray([0.9, 0.5, 0.1])
    given = lay.fixed_layout(SPEC, 3, "first_frames", first_latents=2)
    none = lay.fixed_layout(SPEC, 3, "none")
    n_l = SPEC.video_tokens
    per_frame = n_l // SPEC.video_latent_grid[0]
    tt = np.asarray(t)[:, None, None]
    x = np.asarray(video)
    for layout, has_anchor in ((given, True), (none, False)):
        plain_v, plain_a = x0_head(video, audio, layout, video_pos, audio_pos, t, caption)
        v, a = delta(video, audio, layout, video_pos, audio_pos, t, caption)
        x0_plain = x - np.asarray(plain_v) * tt  # [B, 2L, Fv]
        x0_delta = x - np.asarray(v) * tt
        np.testing.assert_allclose(a, plain_a, rtol=1e-5, atol=1e-5)  # audio: plain x0
        anchor = np.zeros_like(x)
        s2 = np.ones(x.shape[:2] + (1,), np.float32)  # the latents' own prior: N(0, 1)
        if has_anchor:  # latent frame 1 (tokens per_frame .. 2 per_frame) of the target
            last = x[:, n_l + per_frame : n_l + 2 * per_frame]
            anchor[:, n_l:] = np.tile(last, (1, n_l // per_frame, 1))
            s2[:, n_l:] = ANCHOR_VARIANCE
        k = (1 - tt) * s2 / ((1 - tt) ** 2 * s2 + tt**2)
        prior = anchor + k * (x - (1 - tt) * anchor)
        np.testing.assert_allclose(x0_delta - x0_plain, prior, rtol=1e-4, atol=1e-4)
        got_anchor, anchored = last_given_frame(video, layout.video_type, per_frame)
        np.testing.assert_allclose(got_anchor, anchor, atol=1e-6)
        assert np.asarray(anchored)[:, n_l:].all() == has_anchor
        assert not np.asarray(anchored)[:, :n_l].any()
    # At high noise the guess is the anchor itself; at low noise the noisy token.
    k = lambda t: (1 - t) * ANCHOR_VARIANCE / ((1 - t) ** 2 * ANCHOR_VARIANCE + t**2)  # noqa: E731
    assert k(0.95) < 0.01 and abs(k(0.01) * 0.99 - 1) < 0.05
