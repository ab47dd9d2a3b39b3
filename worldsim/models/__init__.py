"""Models.

Shape alphabet (every einsum and reshape comment in this package uses it):
  B batch, T frames, H W grid (pixels or patches), L video tokens,
  A audio tokens, C context tokens, D width, N heads, K head dim, M MLP width.
Extra letters local to one file are declared in that file (frame_predictor: P
patches per frame, F patch features p*p*3; vae_video: t h w latent grid, Z latent
channels).
"""

from worldsim.models.frame_predictor import (
    PRESETS,
    FramePredictor,
    FramePredictorConfig,
    flops_per_step,
    loss_fn,
    patchify,
)
from worldsim.models.vae_video import VideoVAE, VideoVAEConfig, vae_loss

__all__ = [
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
