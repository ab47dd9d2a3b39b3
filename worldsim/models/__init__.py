"""Models.

Shape alphabet (every einsum and reshape comment in this package uses it):
  B batch, T frames, H W grid (pixels or patches), L video tokens,
  A audio tokens, C context tokens, D width, N heads, K head dim, M MLP width.
Extra letters local to one file are declared in that file (frame_predictor: P
patches per frame, F patch features p*p*3; vae_video: t h w latent grid, Z latent
channels; av_dit: F features per token).

The world model's parts: `vae_video` (causal 3D-conv VAE), `vae_audio` (log-mel conv
VAE), `text_encoder` (captions), `av_dit` (joint audio-video MM-DiT). They are put
together, trained stage by stage and sampled in `worldsim.world`.
"""

from worldsim.models.av_dit import AVDiT, AVDiTConfig
from worldsim.models.frame_predictor import (
    PRESETS,
    FramePredictor,
    FramePredictorConfig,
    flops_per_step,
    loss_fn,
    patchify,
)
from worldsim.models.text_encoder import TextEncoder, TextEncoderConfig
from worldsim.models.vae_audio import AudioVAE, AudioVAEConfig
from worldsim.models.vae_video import VideoVAE, VideoVAEConfig, vae_loss

__all__ = [
    "AVDiT",
    "AVDiTConfig",
    "AudioVAE",
    "AudioVAEConfig",
    "TextEncoder",
    "TextEncoderConfig",
    "VideoVAE",
    "VideoVAEConfig",
    "vae_loss",
    "PRESETS",
    "FramePredictor",
    "FramePredictorConfig",
    "flops_per_step",
    "loss_fn",
    "patchify",
]
