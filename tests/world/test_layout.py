"""Token layout of the two-slot sequence, and the loss's indifference to context positions."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from worldsim.world import layout as lay
from worldsim.world.model import loss_from_velocity
from worldsim.world.spec import WorldSpec

SPEC = WorldSpec(frame_size=32)  # 17 frames of 32x32 -> latents [5, 16, 16, 8], 17 audio latents


def test_spec_shapes_and_shared_seconds_axis():
    assert SPEC.video_latent_grid == (5, 16, 16)
    assert SPEC.video_tokens == 5 * 4 * 4 and SPEC.audio_tokens == 17
    # Audio latent j is mel frames 4j..4j+3, centred on samples 250 m: its centre is
    # their mean, 4j + 1.5 mel frames = (j + 0.375) / 16 s (not the frame's middle).
    np.testing.assert_allclose(SPEC.audio_latent_times(), (np.arange(17) + 0.375) / 16)
    # ... and it sees sound until its last mel frame's centre + n_fft / 2 = 512 samples.
    np.testing.assert_allclose(
        SPEC.audio_token_reach_times(), ((4 * np.arange(17) + 3) * 250 + 512) / 16_000
    )
    # Video latent i >= 1 covers frames 4i-3 .. 4i; its centre sits inside them.
    times = SPEC.video_latent_times()
    for i in range(1, 5):
        assert (4 * i - 3) / 16 < times[i] < (4 * i + 1) / 16
    video_pos, audio_pos = lay.positions(SPEC, 2)
    assert video_pos.shape == (2, 2 * SPEC.video_tokens, 3) and audio_pos.shape == (2, 34)
    # The context slot sits before the target on the time axis.
    assert audio_pos[0, :17].max() < audio_pos[0, 17:].min() + 1e-6 + 15 / 16
    assert audio_pos[0, :17].min() < 0


def test_bad_window_is_a_clear_error():
    with pytest.raises(ValueError, match="window_frames"):
        WorldSpec(window_frames=16)


def test_tokens_round_trip():
    key = jax.random.key(0)
    video = jax.random.normal(key, (2, 5, 16, 16, 8))
    audio = jax.random.normal(key, (2, 17, 8))
    tokens = lay.video_to_tokens(video, SPEC.video_patch)
    assert tokens.shape == (2, 80, 128)  # (1, 4, 4) patches of 8 channels
    np.testing.assert_array_equal(lay.tokens_to_video(tokens, SPEC), video)
    np.testing.assert_array_equal(lay.tokens_to_audio(lay.audio_to_tokens(audio, 1), SPEC), audio)


def test_modes():
    layout = lay.fixed_layout(SPEC, 1, "none")
    assert not layout.video_valid[0, :80].any() and layout.video_valid[0, 80:].all()
    assert (layout.video_type == 0).all()

    layout = lay.fixed_layout(SPEC, 1, "first_frames", first_latents=2)
    given = np.asarray(layout.video_type[0, 80:] == lay.TYPE_FIRST_FRAMES)
    assert given.sum() == 2 * 16 and given[:32].all()  # latent frames 0 and 1, 16 tokens each
    # Latent frames 0, 1 cover video frames 0..4 (5000 samples): audio token j sees sound
    # until sample 1000 j + 1262, so tokens 0..3 saw only given sound; token 4 is generated.
    audio_given = np.asarray(layout.audio_type[0, 17:] == lay.TYPE_FIRST_FRAMES)
    assert audio_given.tolist() == [True] * 4 + [False] * 13

    for mode, type_ in (
        ("reference", lay.TYPE_REFERENCE),
        ("previous_shot", lay.TYPE_PREVIOUS_SHOT),
    ):
        layout = lay.fixed_layout(SPEC, 1, mode)
        assert layout.video_valid[0].all() and (layout.video_type[0, :80] == type_).all()
        assert (layout.video_type[0, 80:] == 0).all()


@pytest.mark.parametrize("first_latents", [1, 2, 3, 4])
def test_given_audio_tokens_saw_only_the_given_sound(first_latents):
    """The mel frames of every given audio token are the same whether the window after the
    given frames holds the clip's sound or the silence generation pads it with."""
    from worldsim.media.audio_features import log_mel

    given_frames = (first_latents - 1) * 4 + 1
    sound = np.random.default_rng(0).normal(0, 0.1, SPEC.window_samples).astype(np.float32)
    padded = sound.copy()
    padded[given_frames * 1000 :] = 0.0
    full, cut = log_mel(sound, SPEC.mel_config), log_mel(padded, SPEC.mel_config)  # [68, F]
    layout = lay.fixed_layout(SPEC, 1, "first_frames", first_latents=first_latents)
    given = np.flatnonzero(np.asarray(layout.audio_type[0, 17:] == lay.TYPE_FIRST_FRAMES))
    mels = np.asarray([m for j in given for m in range(4 * j, 4 * j + 4)], int)
    assert len(given) == max(0, given_frames - 1)
    np.testing.assert_allclose(full[mels], cut[mels], atol=1e-6)
    after = 4 * (given[-1] + 1) if len(given) else 0  # the next token's frames do differ
    assert np.abs(full[after : after + 4] - cut[after : after + 4]).max() > 1e-3


def test_sampled_layouts_cover_every_mode():
    layout, mode = lay.sample_layout(jax.random.key(1), SPEC, 400, (0.25, 0.25, 0.25, 0.25))
    counts = np.bincount(np.asarray(mode), minlength=4)
    assert (counts > 60).all(), counts
    # Rows without a context clip never attend to the slot.
    assert not np.asarray(layout.video_valid)[np.asarray(mode) < 2, :80].any()


def test_loss_ignores_context_token_positions():
    """Perturbing the model's output at context (or padding) positions leaves the loss unchanged."""
    b = 4
    layout, mode = lay.sample_layout(jax.random.key(2), SPEC, b, (0.0, 0.5, 0.25, 0.25))
    keys = jax.random.split(jax.random.key(3), 6)
    shape_v, shape_a = (b, 160, 128), (b, 34, 8)
    x0_v, noise_v, pred_v = (jax.random.normal(k, shape_v) for k in keys[:3])
    x0_a, noise_a, pred_a = (jax.random.normal(k, shape_a) for k in keys[3:])
    loss, _ = loss_from_velocity(pred_v, pred_a, x0_v, noise_v, x0_a, noise_a, layout)

    ctx_v = lay.context_mask(layout.video_type, layout.video_valid)[..., None]
    ctx_a = lay.context_mask(layout.audio_type, layout.audio_valid)[..., None]
    assert ctx_v.sum() > 0 and ctx_a.sum() > 0
    junk_v = jnp.where(ctx_v, 1e3 * jax.random.normal(keys[0], shape_v), pred_v)
    junk_a = jnp.where(ctx_a, -1e3, pred_a)
    perturbed, _ = loss_from_velocity(junk_v, junk_a, x0_v, noise_v, x0_a, noise_a, layout)
    assert float(perturbed) == float(loss)

    # ... while the same perturbation on a target token moves it.
    target_v = ~ctx_v
    moved, _ = loss_from_velocity(
        jnp.where(target_v, pred_v + 1.0, pred_v), pred_a, x0_v, noise_v, x0_a, noise_a, layout
    )
    assert float(moved) > float(loss) + 0.1
