"""mp4 + audio round trips through the bundled ffmpeg, and clear errors on bad files."""

from __future__ import annotations

import numpy as np
import pytest

from worldsim.media import MediaError, probe, read_audio, read_video, write_mp4, write_png

FPS, SR, T, H, W = 16, 16_000, 32, 48, 64


def _video(t: int = T, h: int = H, w: int = W) -> np.ndarray:
    """Smooth moving gradients: what a codec keeps well, so errors mean bugs, not codec loss."""
    yy, xx = np.mgrid[:h, :w]
    frames = [
        np.stack([(xx * 3 + i * 4) % 256, (yy * 4) % 256, np.full_like(xx, i * 7)], -1)
        for i in range(t)
    ]
    return np.asarray(frames, np.uint8)  # [T, H, W, 3]


def _audio(seconds: float = T / FPS) -> np.ndarray:
    s = np.arange(int(round(seconds * SR))) / SR
    tone = 0.3 * np.sin(2 * np.pi * 440 * s) + 0.2 * np.sin(2 * np.pi * 7000 * s)
    return (tone * np.exp(-((s - 1.0) ** 2))).astype(np.float32)  # [S]


@pytest.fixture(scope="module")
def mp4(tmp_path_factory):
    path = tmp_path_factory.mktemp("media") / "clip.mp4"
    write_mp4(path, _video(), _audio(), FPS, SR)
    return path


def test_round_trip_keeps_frames_fps_and_audio(mp4):
    frames, fps = read_video(mp4)
    assert frames.shape == (T, H, W, 3) and frames.dtype == np.uint8
    assert fps == FPS
    assert np.abs(frames.astype(int) - _video()).mean() < 4.0  # yuv420p + crf 15
    audio = read_audio(mp4, sample_rate=SR)
    ref = _audio()
    assert audio.dtype == np.float32 and audio.shape == ref.shape
    assert np.corrcoef(audio, ref)[0, 1] > 0.98
    # the 7 kHz component survives AAC (bandwidth kept to Nyquist)
    spec = np.abs(np.fft.rfft(audio)) / np.abs(np.fft.rfft(ref)).max()
    freqs = np.fft.rfftfreq(len(audio), 1 / SR)
    assert spec[np.abs(freqs - 7000) < 20].max() > 0.5
    info = probe(mp4)
    assert info["has_audio"] and (info["width"], info["height"]) == (W, H)
    assert info["fps"] == FPS and info["duration"] == pytest.approx(T / FPS, abs=0.05)


def test_read_resizes_resamples_and_truncates(mp4):
    frames, fps = read_video(mp4, size=(24, 24), fps=8)
    assert frames.shape == (T // 2, 24, 24, 3) and fps == 8
    stretched, _ = read_video(mp4, size=(20, 30), fit="stretch")
    assert stretched.shape == (T, 20, 30, 3)
    head, _ = read_video(mp4, max_seconds=1.0)
    assert head.shape[0] == FPS
    assert read_audio(mp4, sample_rate=8000, max_seconds=1.0).shape == (8000,)


def test_no_audio_track_gives_empty_audio(tmp_path):
    path = write_mp4(tmp_path / "silent.mp4", _video(8), None, FPS, SR)
    assert not probe(path)["has_audio"]
    audio = read_audio(path, sample_rate=SR)
    assert audio.shape == (0,) and audio.dtype == np.float32


def test_odd_sizes_are_padded_to_even(tmp_path):
    video = _video(4, 31, 45)
    frames, _ = read_video(write_mp4(tmp_path / "odd.mp4", video, None, FPS, SR))
    assert frames.shape == (4, 32, 46, 3)
    assert np.abs(frames[:, :31, :45].astype(int) - video).mean() < 6.0


def test_corrupt_and_missing_files_raise_media_error(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(np.random.default_rng(0).bytes(4096))
    for call in (
        lambda: read_video(bad),
        lambda: read_audio(bad, sample_rate=SR),
        lambda: probe(bad),
        lambda: read_video(tmp_path / "missing.mp4"),
    ):
        with pytest.raises(MediaError) as err:
            call()
        assert err.value.path.endswith(".mp4") and err.value.reason


def test_failed_write_leaves_no_file(tmp_path):
    with pytest.raises(ValueError):
        write_mp4(tmp_path / "x.mp4", _video(2).astype(np.float32), None, FPS, SR)
    with pytest.raises(MediaError):  # ffmpeg itself refuses a zero frame rate
        write_mp4(tmp_path / "y.mp4", _video(2), None, 0, SR)
    assert list(tmp_path.iterdir()) == []


def test_write_png_round_trip(tmp_path):
    import imageio.v3 as iio

    image = _video(1)[0]
    assert np.array_equal(iio.imread(write_png(tmp_path / "f.png", image)), image)
