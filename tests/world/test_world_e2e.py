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


def _window_latents(gen, captions: list[str]) -> np.ndarray:
    """Video latents of one window per caption, every row drawn from the *same* noise."""
    import jax

    from worldsim.world.generate import Context, SamplerConfig

    keys = jax.numpy.stack([jax.random.key(7)] * len(captions))  # one key per row, all equal
    video, _ = gen.sample_window(captions, Context(), keys, SamplerConfig(steps=3))
    return video


def test_the_prompt_reaches_the_model_under_one_noise(world_run):
    """Rows with the same noise: the same prompt gives the same latents, bit for bit, and
    another prompt other latents. (Rows with their own noise differ whatever the prompt.)
    After 4 training steps the zero-initialised text path moves a sample only slightly
    (~1e-6), but any difference at all is the prompt's: equal prompts differ by exactly 0."""
    from worldsim.world.generate import Generator

    gen = Generator(world_run)
    same = _window_latents(gen, ["a ball", "a ball"])
    other = _window_latents(gen, ["a ball", "a tower"])
    moved = float(np.abs(other[0] - other[1]).max())
    print(
        f"\nunder one noise: same prompt max |diff| {np.abs(same[0] - same[1]).max():.2e}, "
        f"'a ball' vs 'a tower' {moved:.2e}"
    )
    assert np.array_equal(same[0], same[1])
    assert np.array_equal(same[0], other[0])  # a row does not depend on its batch-mate
    assert moved > 0.0


def test_a_long_caption_reaches_the_model_whole(world_run, data_dir):
    """The text window is sized from the data: the dataset's longest caption fits with its
    EOS, and changing only its last word (past the old 24-token window) changes the sample."""
    import jax

    from data_pipelines.tokenizer import caption_report
    from worldsim.world.generate import Generator

    gen = Generator(world_run)
    report = caption_report(data_dir)
    longest = report["longest_caption"]
    assert gen.spec.text_len >= report["longest_caption_tokens"] > 24
    words = longest.rstrip(".").split(" ")
    swapped = " ".join([*words[:-1], "tower" if words[-1] != "tower" else "ball"]) + "."
    ids = gen.codec.tokenize([longest, swapped])
    assert (ids == gen.codec.tokenizer.EOS_ID).sum(axis=1).tolist() == [1, 1]  # both whole
    assert np.array_equal(ids[:, :24][0], ids[:, :24][1])  # same first 24 tokens
    latents = _window_latents(gen, [longest, swapped])
    assert float(np.abs(latents[0] - latents[1]).max()) > 0.0  # equal captions: exactly 0
    text, _ = gen.model.text(jax.numpy.asarray(ids))  # [2, C, Dt]: the encoder sees the end
    assert float(np.abs(np.asarray(text[0] - text[1])).max()) > 1e-3
    with pytest.raises(ValueError, match="tokens"):  # too long for the window: an error, not a cut
        gen.codec.tokenize([" ".join([longest] * 3)])


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


def test_transformer_stage_resumes_exactly_after_kill_9(world_run, data_dir, tmp_path):
    """The av_dit stage killed with SIGKILL after a checkpoint and run again: every step's
    data and loss equal an uninterrupted run's, mirrored draws included (data.augment).
    (Before the latents were written once, an in-memory cache keyed on the caption gave
    a mirrored clip its twin's latents in one run and not in the other.)"""
    from tests.train.conftest import child_env
    from tests.train.test_resume import _kill_when, _records

    steps = 16

    def command(workdir: Path) -> list[str]:
        cmd = [sys.executable, "-m", "worldsim.cli", "train", "--config", SMOKE]
        cmd += ["--workdir", str(workdir), f"--config.data.dir={data_dir}"]
        cmd += ["--config.stages.order=av_dit", f"--config.stages.av_dit.steps={steps}"]
        cmd += ["--config.checkpoint.every_steps=4", "--config.train.eval_every=100"]
        return cmd

    runs = {}
    for name in ("straight", "killed"):
        runs[name] = tmp_path / name
        shutil.copytree(world_run, runs[name], ignore=shutil.ignore_patterns("av_dit"))
    done = subprocess.run(command(runs["straight"]), env=child_env(), capture_output=True)
    assert done.returncode == 0, done.stderr[-3000:]

    metrics = runs["killed"] / "av_dit"
    logged = lambda: len(_records(metrics)) if (metrics / "metrics.jsonl").exists() else 0  # noqa: E731
    process = subprocess.Popen(
        command(runs["killed"]),
        env=child_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _kill_when(process, lambda: logged() >= 10)  # checkpoint at step 8 written, 9-10 lost
    finished = subprocess.run(
        command(runs["killed"]), env=child_env(), capture_output=True, text=True
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    assert "resumed from step" in finished.stdout

    straight, resumed = _records(runs["straight"] / "av_dit"), _records(metrics)
    assert sorted(resumed) == sorted(straight) == list(range(1, steps + 1))
    for step in range(1, steps + 1):
        a, b = straight[step], resumed[step]
        assert b["batch_crc"] == a["batch_crc"], f"step {step}: different data"
        assert b["loss"] == pytest.approx(a["loss"], rel=1e-6, abs=1e-7), f"step {step}"
        assert b["video_loss"] == pytest.approx(a["video_loss"], rel=1e-6, abs=1e-7)


def test_latents_are_written_once_per_mirror_image_and_host(world_run, data_dir, tmp_path):
    """Record 2k is clip k as simulated, 2k + 1 its mirror image (keyed on exactly what was
    encoded); two hosts write disjoint shards covering the split; a shard made by other
    VAEs is written again, an up-to-date one is kept."""
    from flax import serialization

    from data_pipelines.catalog import open_split
    from data_pipelines.grain_pipeline import mirror
    from worldsim.train.config import read_config
    from worldsim.world.codec import Codec
    from worldsim.world.latents import latent_dataset, read_meta, shard_path, write_latents
    from worldsim.world.settings import validate_world

    spec = validate_world(read_config(world_run / "config.json")).spec
    codec = Codec.load(world_run, spec)
    out = tmp_path / "latents"
    for host in (0, 1):
        write_latents(codec, data_dir, "train", out, shard_index=host, shard_count=2)
    ids = [read_meta(out, "train", h, 2)["clip_ids"] for h in (0, 1)]
    source = open_split(data_dir, "train")
    every = [bytes(source[i]["clip_id"]).decode() for i in range(len(source))]
    assert not set(ids[0]) & set(ids[1]) and sorted(ids[0] + ids[1]) == sorted(every)

    import grain

    records = grain.sources.ArrayRecordDataSource([str(shard_path(out, "train", 0, 2))])
    plain, mirrored = (serialization.msgpack_restore(records[i]) for i in (0, 1))
    clip = {**source[0], "flipped": False}  # host 0's first clip is record 0 of the split
    assert plain["clip_id"] == mirrored["clip_id"] == bytes(clip["clip_id"])
    assert not plain["flipped"] and mirrored["flipped"]
    _, target = codec.encode_video_windows(mirror(clip)["video"][None])
    np.testing.assert_allclose(mirrored["video_target"], target[0], atol=2e-3, rtol=2e-3)
    assert np.abs(plain["video_target"] - mirrored["video_target"]).max() > 1e-2
    tokens = codec.tokenize([mirror(clip)["caption"]])[0]
    np.testing.assert_array_equal(mirrored["caption"], tokens)

    # Draws pick both mirror images; without augmentation only the simulated one.
    batch = next(iter(latent_dataset(out, "train", batch_size=16, shard_index=0, shard_count=2)))
    assert 0 < batch["flipped"].sum() < 16
    batch = next(iter(latent_dataset(out, "train", batch_size=8, augment=False, shard_count=2)))
    assert not batch["flipped"].any()

    path = shard_path(out, "train", 0, 2)
    before = path.stat().st_mtime_ns
    write_latents(codec, data_dir, "train", out, shard_index=0, shard_count=2)
    assert path.stat().st_mtime_ns == before  # up to date: kept
    codec.vae_steps = {**codec.vae_steps, "video_vae": -1}  # as if other VAEs made it
    write_latents(codec, data_dir, "train", out, shard_index=0, shard_count=2)
    assert path.stat().st_mtime_ns != before


@pytest.fixture(scope="module")
def bench_run(world_run, tmp_path_factory) -> Path:
    """`worldsim bench run` of the smoke run on 6 cases (shared by the bench and demo tests)."""
    from worldsim.cli import main

    out = tmp_path_factory.mktemp("bench_run") / "bench"
    argv = ["bench", "run", "--workdir", str(world_run), "--out", str(out)]
    argv += ["--num-cases", "6", "--steps", "2", "--batch-size", "4"]  # two batches, one padded
    assert main([*argv, "--seed", "0"]) == 0  # the same cases every run
    return out


def test_bench_run_continues_every_case_and_scores_it(bench_run):
    """`worldsim bench run`: export, one generated mp4 per case (whole clip), a report."""
    from worldsim.media.video_io import read_video

    out = bench_run
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
    refuse_model_loading(monkeypatch)


def refuse_model_loading(monkeypatch) -> None:
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
    long_prompt = " ".join(["a red ball bounces off the left wall and then the floor"] * 16)
    probes = [
        (["--seconds", "0"], "--seconds must be a finite number > 0"),
        (["--seconds", "inf"], "--seconds must be a finite number > 0"),
        (["--seconds", "-1"], "--seconds must be a finite number > 0"),
        (["--init-frames", "5"], "--init-frames needs --init-video"),
        (["--init-video", str(clip), "--init-frames", "500"], "has only 32 frames"),
        (["--reference", str(tmp_path / "missing.mp4")], "--reference"),
        (["--init-video", str(notes), "--init-frames", "2"], "notes.txt"),
        (["--prompts-file", str(empty)], "has no prompts"),
        (["--prompt", long_prompt], "tokens; the model's text window is"),
        (["--watermark-text", "generated by worldsim"], "--watermark-text"),
        (["--registry", str(tmp_path / "typo.sqlite")], "no cameo registry there"),
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


def test_demo_json_holds_the_benchmark_score_beside_the_trivial_continuations(
    world_run, bench_run, tmp_path
):
    from worldsim.cli import main

    out = tmp_path / "demo"
    argv = ["demo", "--workdir", str(world_run), "--out", str(out), "--num-clips", "1"]
    argv += ["--steps", "2"]
    missing = tmp_path / "no_bench"
    assert main([*argv, "--bench", str(missing)]) == 2  # checked before any work
    assert not out.exists()
    assert main([*argv, "--bench", str(bench_run)]) == 0
    figures = json.loads((out / "demo.json").read_text())["benchmark"]
    report = json.loads((bench_run / "report.json").read_text())["summary"]["overall"]
    assert figures["model"]["score"] == report["score"]
    assert figures["model"]["tracked_share"] == report["metrics"]["tracked_share"]["mean"]
    assert figures["cases"] == 6
    # Freezing the last given frame keeps every object in view, so the tracker finds each
    # one in every frame the truth shows it (the smoke model's clips do not: blobs).
    assert figures["freeze"]["tracked_share"] == pytest.approx(1.0)
    assert set(figures) >= {"freeze", "constant_velocity"}


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


def test_generated_clips_carry_the_mark_and_signed_credentials_and_a_cameo_needs_consent(
    world_run, data_dir, tmp_path, capsys, monkeypatch
):
    """generate marks every clip and signs it (the prompt, the model, the config, the
    reference's hash, the watermark setting); --no-watermark is recorded; a flipped byte is
    tampering. A cameo is used by its registered name; once revoked, neither its name, nor
    its file, nor a re-encoded copy of the file is accepted, and its name in a prompt is
    refused before the model loads (and logged)."""
    from data_pipelines import open_split
    from worldsim.cli import main
    from worldsim.media.video_io import read_video, transcode, write_mp4
    from worldsim.provenance import watermark
    from worldsim.provenance.credentials import hash_file, verify
    from worldsim.provenance.registry import Registry

    record = open_split(data_dir, "validation")[0]
    clip = write_mp4(tmp_path / "subject.mp4", record["video"], record["audio"], 16, 16_000)
    registry = tmp_path / "cameo.sqlite"

    def cameo(command, *argv):
        return ["cameo", command, "--registry", str(registry), *argv]

    assert main(cameo("register", "--name", "Ada", "--clip", str(clip), "--consent-by", "Ada")) == 0
    base = ["generate", "--workdir", str(world_run), "--steps", "2", "--registry", str(registry)]
    capsys.readouterr()

    marked = tmp_path / "marked.mp4"
    assert (
        main([*base, "--prompt", "Ada throws a ball", "--reference", "Ada", "--out", str(marked)])
        == 0
    )
    assert "development key" in capsys.readouterr().err
    found = verify(marked)
    assert found.status == "valid" and found.development, found
    claims = found.claims
    assert claims["generated_by_ai"] and claims["prompt"] == "Ada throws a ball"
    assert claims["model"]["run"] == world_run.name and claims["model"]["checkpoint_step"] == 4
    assert len(claims["model"]["params_sha256"]) == 64
    assert claims["config_sha256"] == hash_file(world_run / "config.json")
    assert claims["inputs"] == {"--reference": {"sha256": hash_file(clip)}}
    assert claims["watermark"]["enabled"] is True
    assert watermark.detect(read_video(marked)[0]).found

    plain = tmp_path / "plain.mp4"
    assert main([*base, "--prompt", "a ball", "--no-watermark", "--out", str(plain)]) == 0
    assert verify(plain).claims["watermark"]["enabled"] is False
    assert not watermark.detect(read_video(plain)[0]).found
    from tests.provenance.test_credentials import _boxes

    data = bytearray(plain.read_bytes())
    offset, length = _boxes(bytes(data))[b"mdat"]
    data[offset + length // 2] ^= 0x01  # one byte of the media data
    (tmp_path / "flipped.mp4").write_bytes(bytes(data))
    assert verify(tmp_path / "flipped.mp4").status == "tampered"

    assert main(cameo("revoke", "Ada", "--by", "Ada", "--reason", "changed her mind")) == 0
    refuse_model_loading(monkeypatch)  # every refusal comes before the model
    capsys.readouterr()
    copy = transcode(clip, tmp_path / "copy.mp4", size=(48, 48), fps=16, crf=30)
    out = ["--out", str(tmp_path / "never.mp4")]
    probes = [
        (["--prompt", "a ball", "--reference", "Ada"], "revoked"),
        (["--prompt", "a ball", "--reference", str(clip)], "revoked"),
        (["--prompt", "a ball", "--reference", str(copy)], "revoked"),
        (["--prompt", "Ada throws a ball"], "protected name 'Ada'"),
        (["--prompt", "a ball", "--reference", "Grace"], "no cameo subject of that name"),
    ]
    for extra, message in probes:
        assert main([*base, *extra, *out]) == 2, extra
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0], (extra, err)
    assert not (tmp_path / "never.mp4").exists()
    log = [json.loads(x) for x in (registry.parent / "refusals.jsonl").read_text().splitlines()]
    assert [r["prompt"] for r in log] == ["Ada throws a ball"]
    with Registry(registry) as reg:
        assert [e.kind for e in reg.history("Ada")] == ["register", "revoke"]
