"""The world model end to end on a tiny budget: three stages, generation, conditioning, sharding.

One session-scoped smoke run (`experiments/tiny_cpu.py:smoke`, 4 steps per stage) is
shared by the tests; they check plumbing and contracts (files, shapes, durations,
exact first-frame conditioning, mesh equivalence), not sample quality.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
SMOKE = str(REPO / "experiments/tiny_cpu.py:smoke")

pytestmark = pytest.mark.slow


def _config(data_dir: Path, *flags: str):
    from worldsim.train.config import load_config

    config, rest = load_config(["--config", SMOKE, f"--config.data.dir={data_dir}", *flags])
    assert not rest
    return config


@pytest.fixture(scope="module")
def world_run(tmp_path_factory, data_dir) -> Path:
    from worldsim.recipes import train_from_config

    workdir = tmp_path_factory.mktemp("world") / "run"
    result = train_from_config(_config(data_dir), workdir)
    assert result.status == "done"
    return workdir


def _losses(path: Path) -> dict[int, float]:
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    return {r["step"]: r["loss"] for r in rows if "loss" in r}


def test_stages_write_their_runs(world_run, data_dir):
    for stage in ("video_vae", "audio_vae", "av_dit"):
        losses = _losses(world_run / stage / "metrics.jsonl")
        assert sorted(losses) == [1, 2, 3, 4] and all(np.isfinite(list(losses.values())))
        assert (world_run / stage / "checkpoints").is_dir()
    assert (world_run / "losses.png").stat().st_size > 0
    assert (world_run / "tokenizer.model").stat().st_size > 0
    stats = json.loads((world_run / "av_dit" / "latent_stats.json").read_text())
    assert stats["video_std"] > 0 and stats["audio_std"] > 0
    # The evaluation reports the VAEs' quality measures.
    rows = [json.loads(x) for x in (world_run / "video_vae/metrics.jsonl").read_text().splitlines()]
    assert any("eval_psnr_ema" in r for r in rows)

    # A second call finds every stage finished and trains nothing.
    from worldsim.recipes import train_from_config

    before = (world_run / "av_dit/metrics.jsonl").read_text()
    assert train_from_config(_config(data_dir), world_run).status == "done"
    assert (world_run / "av_dit/metrics.jsonl").read_text() == before


def test_generate_writes_mp4_with_one_video_and_one_audio_stream_of_the_duration(
    world_run, tmp_path
):
    from worldsim.cli import main
    from worldsim.media.video_io import probe, read_audio, read_video

    out = tmp_path / "clip.mp4"
    seconds = 1.5  # 24 frames at 16 fps: two windows (the second continues the first)
    argv = ["generate", "--workdir", str(world_run), "--prompt", "a ball", "--prompt", "a tower"]
    argv += ["--seconds", str(seconds), "--num-samples", "1", "--steps", "3", "--out", str(out)]
    assert main(argv) == 0
    paths = sorted(tmp_path.glob("clip_p*_s0.mp4"))
    assert len(paths) == 2
    for path in paths:
        streams = subprocess.run(
            [_ffprobe_or_ffmpeg(), "-hide_banner", "-i", str(path)],
            capture_output=True,
            text=True,
        ).stderr
        assert streams.count("Stream #0:") == 2, streams
        assert streams.count("Video:") == 1 and streams.count("Audio:") == 1
        info = probe(path)
        assert info["has_video"] and info["has_audio"]
        frames, fps = read_video(path)
        assert fps == 16 and len(frames) == 24
        audio = read_audio(path, sample_rate=16_000)
        assert abs(len(audio) - seconds * 16_000) <= 16_000 / 16  # within one frame
    a, _ = read_video(paths[0])
    b, _ = read_video(paths[1])
    assert np.abs(a.astype(int) - b.astype(int)).mean() > 0.5  # the prompt reaches the model


def _ffprobe_or_ffmpeg() -> str:
    from worldsim.media.video_io import ffmpeg_exe

    return ffmpeg_exe()


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / max(mse, 1e-10)))


def test_first_frames_given_are_the_first_frames_generated(world_run, data_dir, tmp_path):
    """With K first frames given, the output's first frames are their VAE reconstruction."""
    from data_pipelines.catalog import open_split
    from worldsim.media.video_io import write_mp4
    from worldsim.world.generate import Generator, SamplerConfig

    record = open_split(data_dir, "validation")[0]
    init = tmp_path / "init.mp4"
    write_mp4(init, record["video"], record["audio"], 16, 16_000)

    gen = Generator(world_run)
    sampler = SamplerConfig(steps=3)
    k = 5  # frames 0..4 = latent frames 0 and 1
    context = gen.context(init_video=str(init), init_frames=k)
    frames, audio = gen.generate(["a ball"], context=context, seed=0, sampler=sampler)
    free, _ = gen.generate(["a ball"], seed=0, sampler=sampler)
    assert frames.shape == (1, 17, 32, 32, 3) and audio.shape == (1, 17 * 1000)

    # What the model was given: the init clip's first k frames, through the VAE and back.
    given, _ = gen._window(*gen._read_clip(init))
    latents = gen.codec.encode_video(given[None])
    reconstruction = gen.codec.decode_video(latents)[0]  # [17, 32, 32, 3]
    held = _psnr(frames[0, :k], reconstruction[:k])
    unheld = _psnr(free[0, :k], reconstruction[:k])
    print(f"first {k} frames: PSNR vs reconstruction held {held:.1f} dB, free {unheld:.1f} dB")
    assert held > 40.0 and held > unheld + 15.0


def test_transformer_stage_on_8_devices_matches_1_device(world_run, data_dir, tmp_path):
    """fsdp=2, tensor=2, data=2 on 8 fake CPU devices: the same losses as the 1-device run."""
    from tests.train.conftest import child_env

    workdir = tmp_path / "d8"
    shutil.copytree(world_run, workdir, ignore=shutil.ignore_patterns("av_dit"))
    cmd = [sys.executable, "-m", "worldsim.cli", "train", "--config", SMOKE]
    cmd += ["--workdir", str(workdir), f"--config.data.dir={data_dir}"]
    cmd += ["--config.stages.order=av_dit", "--config.mesh.fsdp=2", "--config.mesh.tensor=2"]
    cmd += ["--verbose"]  # the sharding table
    done = subprocess.run(cmd, env=child_env(8), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "mesh {'data': 2, 'fsdp': 2, 'tensor': 2, 'sequence': 1} on 8 cpu" in done.stdout
    assert "P(None, 'fsdp', 'tensor')" in done.stdout  # the largest weights are sharded
    one = _losses(world_run / "av_dit/metrics.jsonl")
    eight = _losses(workdir / "av_dit/metrics.jsonl")
    assert sorted(one) == sorted(eight) == [1, 2, 3, 4]
    for step, loss in one.items():
        assert abs(eight[step] - loss) <= 1e-4 * abs(loss), (step, loss, eight[step])
    print("av_dit losses, 1 device:", one, "8 devices:", eight)


def test_bench_run_continues_every_case_and_scores_it(world_run, tmp_path):
    """`worldsim bench run`: export, one generated mp4 per case (whole clip), a report."""
    from worldsim.cli import main
    from worldsim.media.video_io import read_video

    out = tmp_path / "bench"
    argv = ["bench", "run", "--workdir", str(world_run), "--out", str(out)]
    argv += ["--num-cases", "6", "--steps", "2", "--batch-size", "4"]  # two batches, one padded
    assert main(argv) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["summary"]["status"] == {"scored": 6, "missing": 0, "unreadable": 0, "error": 0}
    # 4 training steps per stage: noise, which scores as the trivial continuations do.
    assert report["summary"]["overall"]["score"] < 10.0
    assert (out / "cases-truth" / "truth_manifest.json").is_file()  # the truth apart from the cases
    assert sorted(p.name for p in (out / "cases").iterdir()) == [
        "condition",
        "manifest.json",
        "prompts.csv",
    ]
    clips = sorted((out / "videos").glob("*.mp4"))
    assert len(clips) == 6
    frames, fps = read_video(clips[0])
    assert len(frames) == 32 and fps == 16  # the case's 2 s at the model's frame rate
    assert (out / "report.html").stat().st_size > 0


def test_a_resumed_bench_run_writes_the_clip_an_uninterrupted_one_wrote(
    world_run, data_dir, tmp_path
):
    """Each case's noise comes from (seed, case id): regenerated alone in a padded batch,
    a case that was the middle row of a full batch comes out the same, bit for bit; two
    cases with the same caption and conditioning differ (their ids, hence their noise)."""
    from data_pipelines.catalog import open_split
    from worldsim.media.video_io import read_audio, read_video, write_mp4
    from worldsim.world.generate import SamplerConfig
    from worldsim.world.generate_cases import generate_cases

    k, record = 5, open_split(data_dir, "validation")[0]
    cases_dir, videos = tmp_path / "cases", tmp_path / "videos"
    cases_dir.mkdir()
    write_mp4(cases_dir / "cond.mp4", record["video"][:k], record["audio"][: k * 1000], 16)
    cases = [("a", "a ball"), ("b", "a ball"), ("c", "a tower")]
    manifest = {
        "condition_frames": k,
        "format": {"seconds": 1.0},  # one window
        "cases": [{"id": i, "caption": c, "condition": "cond.mp4"} for i, c in cases],
    }
    (cases_dir / "manifest.json").write_text(json.dumps(manifest))

    def decoded(case_id: str) -> tuple[np.ndarray, np.ndarray]:
        path = videos / f"{case_id}.mp4"
        return read_video(path)[0], read_audio(path, sample_rate=16_000)

    run = dict(sampler=SamplerConfig(steps=1, solver="euler"), batch_size=3, seed=0)
    assert len(generate_cases(world_run, cases_dir, videos, **run)) == 3
    first = {i: decoded(i) for i, _ in cases}
    (videos / "b.mp4").unlink()  # interrupted: b is regenerated as row 0 of [b, pad, pad]
    assert generate_cases(world_run, cases_dir, videos, **run) == [videos / "b.mp4"]
    again = decoded("b")
    assert np.array_equal(again[0], first["b"][0]), "the resumed run drew other video noise"
    assert np.array_equal(again[1], first["b"][1]), "the resumed run drew other sound noise"
    assert not np.array_equal(first["a"][0], first["b"][0]), "two cases drew the same noise"


def _tree(root: Path) -> dict[str, tuple[int, int]]:
    """Every path under `root` with its size and mtime: what "unchanged" means."""
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
    }


@pytest.fixture
def no_model_loading(monkeypatch):
    """Fails the test if the world model is loaded: argument checks must come first."""
    from worldsim.world import generate

    def refuse(*args, **kwargs):
        raise AssertionError("the model was loaded before the arguments were checked")

    monkeypatch.setattr(generate.Generator, "__init__", refuse)


def test_generate_checks_every_argument_before_loading_the_model(
    world_run, data_dir, tmp_path, capsys, no_model_loading
):
    from data_pipelines.catalog import open_split
    from worldsim.cli import main
    from worldsim.media.video_io import write_mp4

    record = open_split(data_dir, "validation")[0]
    clip = tmp_path / "clip.mp4"  # 32 frames at 16 fps
    write_mp4(clip, record["video"], record["audio"], 16, 16_000)
    notes = tmp_path / "notes.txt"
    notes.write_text("not a video\n")
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    out = str(tmp_path / "o.mp4")
    base = ["generate", "--workdir", str(world_run), "--prompt", "a ball", "--out", out]
    long_prompt = " ".join(["a red ball bounces off the left wall and then the floor"] * 4)
    probes = [
        (["--seconds", "0"], "--seconds must be a finite number > 0"),
        (["--seconds", "inf"], "--seconds must be a finite number > 0"),
        (["--seconds", "-1"], "--seconds must be a finite number > 0"),
        (["--init-frames", "5"], "--init-frames needs --init-video"),
        (["--init-video", str(clip), "--init-frames", "500"], "has only 32 frames"),
        (["--reference", str(tmp_path / "missing.mp4")], "--reference"),
        (["--init-video", str(notes), "--init-frames", "2"], "notes.txt"),
        (["--prompts-file", str(empty)], "has no prompts"),
        (["--prompt", long_prompt], "tokens; the model's text window is 24"),
    ]
    for extra, message in probes:
        assert main([*base, *extra]) == 2, extra
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0], (extra, err)
        assert "Traceback" not in err[0]
    # An output folder that cannot be written (even root cannot write under /sys).
    assert main([*base[:-1], "/sys/worldsim-test/o.mp4"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "/sys/worldsim-test" in err[0], err
    assert not Path(out).exists()


def test_reading_a_run_never_changes_it(world_run, tmp_path, capsys):
    """generate on a run whose newest checkpoint is unreadable: skipped in memory, not moved."""
    from worldsim.cli import main

    run = tmp_path / "run"
    shutil.copytree(world_run, run)
    newest = max(int(p.name) for p in (run / "av_dit/checkpoints").iterdir() if p.name.isdigit())
    for f in (run / f"av_dit/checkpoints/{newest}/ema").rglob("*"):
        if f.is_file() and f.stat().st_size > 0 and "d" in f.parts:
            f.write_bytes(b"garbage")
    before = _tree(run)
    out = tmp_path / "out.mp4"
    argv = ["generate", "--workdir", str(run), "--prompt", "a ball", "--steps", "2"]
    with pytest.warns(RuntimeWarning, match=f"step {newest} .* unreadable .* skipping it"):
        assert main([*argv, "--out", str(out)]) == 0
    assert out.stat().st_size > 0
    assert _tree(run) == before  # nothing moved, nothing written
    assert not (run / "av_dit/checkpoints.unreadable").exists()


def test_demo_command_reads_the_data_dir_from_the_run(world_run, tmp_path):
    from worldsim.cli import main

    before = _tree(world_run)
    out = tmp_path / "demo"
    argv = ["demo", "--workdir", str(world_run), "--out", str(out), "--num-clips", "1"]
    assert main([*argv, "--steps", "2"]) == 0
    assert (out / "index.html").stat().st_size > 0
    figures = json.loads((out / "demo.json").read_text())
    assert figures["page"].endswith("index.html")
    assert _tree(world_run) == before


def test_a_resume_with_a_changed_model_is_refused_and_the_run_stays_usable(
    world_run, data_dir, tmp_path, capsys
):
    from worldsim.cli import main

    run = tmp_path / "run"
    shutil.copytree(world_run, run)
    before = (run / "config.json").read_text()
    argv = ["train", "--config", SMOKE, "--workdir", str(run), f"--config.data.dir={data_dir}"]
    argv += ["--config.stages.av_dit.steps=6", "--config.model.text.depth=3"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert any("holds another model than the one built from this config" in e for e in err), err
    assert (run / "config.json").read_text() == before  # generation still reads the old model
