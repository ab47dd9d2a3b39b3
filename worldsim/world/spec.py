"""What the world model is made of, as numbers: windows, latent grids, tokens, seconds.

`WorldSpec` is built once from the config (`worldsim.world.settings.validate_world`) and read by every
stage (VAE training, transformer training, generation), so the three agree on
shapes and on the shared time axis without passing the config around.

Windows. A training clip (2 s at 16 fps = 32 frames) gives two windows of
`window_frames` frames: the *previous shot* [0, W) and the *target*
[shot_offset, shot_offset + W). The causal video VAE needs W = 1 + k * time_factor.

Time. Every token carries its time in seconds relative to the target window's
start (DESIGN.md: one temporal RoPE for both modalities). Video latent 0 is frame
0 alone; latent i >= 1 summarises frames 4i-3 .. 4i (time_factor 4), so its centre
is at (4i - 1) / fps + 0.5 / fps. Audio latent j summarises mel frames
4j .. 4j + 3 (audio time_factor 4), mel frame m being centred on sample m * hop: its
centre is their mean, (j + 0.375) / fps at 4 mel frames per video frame (not the
middle of video frame j, (j + 0.5) / fps: 7.8 ms earlier). Its STFT windows reach
n_fft / 2 samples past its last mel frame (`audio_token_reach_times`): in first-frame
conditioning an audio token is given only when all the sound it saw was given.

Local letters: t h w latent grid, Z video latent channels, U audio latents per
window, Y audio latent channels, F features per token.
"""

from __future__ import annotations

import dataclasses

import numpy as np

TEXT_WINDOW_MULTIPLE = 8  # text windows are rounded up to this many tokens
# A dry run has no dataset to size the window from (model.text_len = 0): it sizes the pod's
# program at this many tokens, above the simulator's longest caption measured so far
# (67 tokens with EOS over 200 clips, benchmarks/RESULTS.md).
DRY_RUN_TEXT_LEN = 96


def text_window(longest_caption_tokens: int) -> int:
    """The text window for captions of at most this many tokens (EOS included)."""
    m = TEXT_WINDOW_MULTIPLE
    return max(m, -(-int(longest_caption_tokens) // m) * m)


def sized_without_data(spec: WorldSpec) -> WorldSpec:
    """`spec` with a text window sized from the data (0) set to `DRY_RUN_TEXT_LEN`."""
    return spec if spec.text_len else dataclasses.replace(spec, text_len=DRY_RUN_TEXT_LEN)


@dataclasses.dataclass(frozen=True)
class WorldSpec:
    fps: int = 16
    sample_rate: int = 16_000
    frame_size: int = 32  # square frames, pixels (clips are mean-pooled to it)
    window_frames: int = 17  # W = 1 + k * video time_factor
    shot_offset_frames: int = 15  # target window start in the clip; previous shot starts at 0
    video_vae: str = "cpu"  # preset in worldsim.models.vae_video.PRESETS
    audio_vae: str = "tiny"  # preset in worldsim.models.vae_audio.PRESETS
    mel_frames_per_video_frame: int = 4
    video_patch: tuple[int, int, int] = (1, 4, 4)  # latent (t, h, w) per video token
    audio_patch: int = 1  # audio latents per audio token
    # Caption tokens C. 0: sized from the data when training starts (`text_window` of the
    # dataset's longest caption; worldsim/world/stages.py); a caption is never cut.
    text_len: int = 0
    vocab_size: int = 256  # text embedding rows; the sentencepiece model must fit in it

    def __post_init__(self):
        if self.text_len < 0:
            raise ValueError(
                f"model.text_len={self.text_len}: must be >= 1 tokens, or 0 to size the "
                "window from the dataset's longest caption"
            )
        vc = self.video_vae_config
        if (self.window_frames - 1) % vc.time_factor:
            raise ValueError(
                f"model.window_frames={self.window_frames}: must be 1 + k * "
                f"{vc.time_factor} (the video VAE's time_factor)"
            )
        if self.frame_size % vc.space_factor:
            raise ValueError(
                f"frame size {self.frame_size} not divisible by the video VAE's "
                f"space_factor {vc.space_factor}"
            )
        t, h, w = self.video_latent_grid
        pt, ph, pw = self.video_patch
        if t % pt or h % ph or w % pw:
            raise ValueError(
                f"model.video_patch={self.video_patch} must divide the latent grid {(t, h, w)}"
            )
        if self.audio_latents % self.audio_patch:
            raise ValueError(
                f"model.audio_patch={self.audio_patch} must divide the "
                f"{self.audio_latents} audio latents per window"
            )

    # ------------------------------------------------------------------ parts
    @property
    def video_vae_config(self):
        """The preset's config: a causal conv VAE (vae_video) or a linear patch VAE (vae_patch)."""
        from worldsim.models import vae_patch, vae_video

        presets = {**vae_video.PRESETS, **vae_patch.PRESETS}
        if self.video_vae not in presets:
            raise ValueError(f"model.video_vae={self.video_vae!r}: not one of {sorted(presets)}")
        return presets[self.video_vae]

    @property
    def audio_vae_config(self):
        from worldsim.models import vae_audio

        if self.audio_vae not in vae_audio.PRESETS:
            raise ValueError(
                f"model.audio_vae={self.audio_vae!r}: not one of {sorted(vae_audio.PRESETS)}"
            )
        return vae_audio.PRESETS[self.audio_vae]

    @property
    def mel_config(self):
        from worldsim.media.audio_features import MelConfig

        return MelConfig(
            sample_rate=self.sample_rate,
            fps=self.fps,
            mel_frames_per_video_frame=self.mel_frames_per_video_frame,
            n_mels=self.audio_vae_config.n_mels,
        )

    # ------------------------------------------------------------------ shapes
    @property
    def window_seconds(self) -> float:
        return self.window_frames / self.fps

    @property
    def window_samples(self) -> int:
        return self.window_frames * self.sample_rate // self.fps

    @property
    def clip_frames(self) -> int:  # frames a training clip must have
        return self.shot_offset_frames + self.window_frames

    @property
    def mel_frames(self) -> int:
        return self.window_frames * self.mel_frames_per_video_frame

    @property
    def video_latent_grid(self) -> tuple[int, int, int]:  # (t, h, w)
        vc = self.video_vae_config
        _, t, h, w, _ = vc.latent_shape(
            (1, self.window_frames, self.frame_size, self.frame_size, 3)
        )
        return t, h, w

    @property
    def video_latent_channels(self) -> int:  # Z
        return self.video_vae_config.latent_channels

    @property
    def audio_latents(self) -> int:  # U
        return self.mel_frames // self.audio_vae_config.time_factor

    @property
    def audio_latent_channels(self) -> int:  # Y
        return self.audio_vae_config.latent_channels

    @property
    def video_tokens(self) -> int:  # L per window
        t, h, w = self.video_latent_grid
        pt, ph, pw = self.video_patch
        return (t // pt) * (h // ph) * (w // pw)

    @property
    def audio_tokens(self) -> int:  # A per window
        return self.audio_latents // self.audio_patch

    @property
    def video_features(self) -> int:  # Fv
        return int(np.prod(self.video_patch)) * self.video_latent_channels

    @property
    def audio_features(self) -> int:  # Fa
        return self.audio_patch * self.audio_latent_channels

    # ------------------------------------------------------------------ time
    def video_latent_times(self) -> np.ndarray:
        """Centre of each video latent frame in seconds from the window start, [t]."""
        tf = self.video_vae_config.time_factor
        t = self.video_latent_grid[0]
        first = np.arange(t) * tf - (tf - 1) / 2.0  # mean frame index of each latent frame
        first[0] = 0.0
        return ((first + 0.5) / self.fps).astype(np.float32)

    def audio_latent_times(self) -> np.ndarray:
        """Centre of each audio latent in seconds from the window start, [U]: the mean
        centre of its mel frames (mel frame m is centred on sample m * hop_length)."""
        tf = self.audio_vae_config.time_factor
        first_mel = np.arange(self.audio_latents) * tf
        centre_mel = first_mel + (tf - 1) / 2.0
        return (centre_mel / self.mel_config.frames_per_second).astype(np.float32)

    def video_positions(self, offset_s: float = 0.0) -> np.ndarray:
        """Per video token (time in s, patch row, patch col), [L, 3], in token order (t, h, w)."""
        t, h, w = self.video_latent_grid
        pt, ph, pw = self.video_patch
        times = self.video_latent_times().reshape(t // pt, pt).mean(axis=1) + offset_s
        tt, rr, cc = np.meshgrid(times, np.arange(h // ph), np.arange(w // pw), indexing="ij")
        return np.stack([tt, rr, cc], axis=-1).reshape(-1, 3).astype(np.float32)  # [L, 3]

    def audio_positions(self, offset_s: float = 0.0) -> np.ndarray:
        """Per audio token time in s, [A]."""
        times = self.audio_latent_times().reshape(-1, self.audio_patch).mean(axis=1)
        return (times + offset_s).astype(np.float32)

    def audio_token_reach_times(self) -> np.ndarray:
        """The latest sound each audio token's mel frames see, s from the window start, [A]:
        its last mel frame's centre plus half the STFT window (n_fft / 2 samples)."""
        mel = self.mel_config
        mels_per_token = self.audio_patch * self.audio_vae_config.time_factor
        last_mel = (np.arange(self.audio_tokens) + 1) * mels_per_token - 1
        reach_samples = last_mel * mel.hop_length + mel.n_fft // 2
        return (reach_samples / self.sample_rate).astype(np.float32)

    def video_token_latent_frame(self) -> np.ndarray:
        """Index of the (first) latent frame of each video token, [L]."""
        t, h, w = self.video_latent_grid
        pt, ph, pw = self.video_patch
        return np.repeat(np.arange(t // pt) * pt, (h // ph) * (w // pw)).astype(np.int32)

    @property
    def previous_shot_offset_s(self) -> float:
        """Where the previous shot sits on the time axis, relative to the target start."""
        return -self.shot_offset_frames / self.fps
