"""The cameo consent registry: append-only (a revocation never deletes or rewrites), safe with
several writing processes and with a writer killed mid-write, and a revoked subject's clip
(or a copy of it) refused as a reference."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from worldsim.errors import WorldsimError
from worldsim.media.video_io import ffmpeg_exe, transcode, write_mp4
from worldsim.provenance.fingerprint import Fingerprint
from worldsim.provenance.registry import (
    REGISTRY_ENV,
    CameoError,
    Registry,
    SubjectNameError,
    default_registry_path,
)

REPO = Path(__file__).resolve().parents[2]


def moving_clip(path: Path, seed: int, frames: int = 32) -> Path:
    """A 64x64 clip of a dark square on a random path over a light textured background."""
    rng = np.random.default_rng(seed)
    background = rng.integers(150, 230, (8, 8, 1), dtype=np.uint8).repeat(8, 0).repeat(8, 1)
    video = np.repeat(np.repeat(background, 3, axis=2)[None], frames, axis=0).copy()
    xy = np.cumsum(rng.integers(-3, 4, (frames, 2)), axis=0) + 28
    for t, (x, y) in enumerate(np.clip(xy, 4, 52)):
        video[t, y : y + 10, x : x + 10] = (30, 40, 160)
    return write_mp4(path, video, None, fps=16)


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("cameo_clips")
    ada, bob = moving_clip(folder / "ada.mp4", 1), moving_clip(folder / "bob.mp4", 2)
    trimmed = folder / "ada_trimmed.mp4"
    args = [ffmpeg_exe(), "-y", "-loglevel", "error", "-ss", "0.5", "-i", str(ada), "-t", "1.0"]
    subprocess.run([*args, "-c:v", "libx264", "-crf", "28", str(trimmed)], check=True)
    small = transcode(ada, folder / "ada_small.mp4", size=(32, 32), fps=12, crf=30)
    return {"ada": ada, "bob": bob, "ada_trimmed": trimmed, "ada_small": small}


def rows(path: Path) -> list[tuple]:
    """Every record as stored (seq, kind, name, name_key, time, actor, scope, reason,
    clip_sha256, clip_path, source_path, fingerprint), read by a plain connection."""
    with contextlib.closing(sqlite3.connect(path)) as db:
        return db.execute("SELECT * FROM events ORDER BY seq").fetchall()


def test_default_path_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(REGISTRY_ENV, str(tmp_path / "r.sqlite"))
    assert default_registry_path() == tmp_path / "r.sqlite"
    monkeypatch.delenv(REGISTRY_ENV)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_registry_path() == tmp_path / "xdg" / "worldsim" / "cameo.sqlite"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_registry_path() == tmp_path / "home/.local/share/worldsim/cameo.sqlite"


def test_wal_mode_and_busy_timeout(tmp_path):
    registry = Registry(tmp_path / "cameo.sqlite")
    assert registry._db.execute("PRAGMA busy_timeout").fetchone()[0] >= 10_000
    with contextlib.closing(
        sqlite3.connect(tmp_path / "cameo.sqlite")
    ) as other:  # persistent: in the file itself
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_register_stores_a_copy_that_outlives_the_users_file(tmp_path, clips):
    mine = tmp_path / "mine.mp4"
    mine.write_bytes(clips["ada"].read_bytes())
    registry = Registry(tmp_path / "db" / "cameo.sqlite")
    subject = registry.register("Ada Lovelace", mine, consent_by="Ada", scope="research")
    mine.unlink()
    found = registry.lookup("ada lovelace")  # names are case-insensitive
    assert found == subject and found.active and found.scope == "research"
    assert found.clip_path.read_bytes() == clips["ada"].read_bytes()
    assert found.clip_path.parent == tmp_path / "db" / "cameo_clips"
    assert found.clip_path.stem == found.clip_sha256
    record = rows(registry.path)[0]
    assert Fingerprint.from_bytes(record[-1]).hashes.shape[0] == 32  # 2 s at 16 fps


@pytest.mark.parametrize("name", ["", "   ", "a/b", "Ada\nLovelace", "Ada  Lovelace", "_x",
                                  "-Ada", "x" * 65, "Ada_Lovelace", "Ada;DROP TABLE"])  # fmt: skip
def test_odd_names_are_refused(tmp_path, clips, name):
    registry = Registry(tmp_path / "cameo.sqlite")
    with pytest.raises(SubjectNameError) as info:
        registry.register(name, clips["ada"], consent_by="Ada")
    assert isinstance(info.value, ValueError) and isinstance(info.value, WorldsimError)
    assert "\n" not in str(info.value)
    assert rows(registry.path) == []


def test_good_names_pass(tmp_path, clips):
    registry = Registry(tmp_path / "cameo.sqlite")
    for name in ("José Ortega-Gasset", "Zoë", "R2 D2", "Mary O'Neil", "Dr. Who"):
        assert registry.register(name, clips["ada"], consent_by="them").name == name


def test_an_active_name_cannot_be_registered_twice(tmp_path, clips):
    registry = Registry(tmp_path / "cameo.sqlite")
    registry.register("Ada", clips["ada"], consent_by="Ada")
    with pytest.raises(SubjectNameError, match="already registered"):
        registry.register("ADA", clips["bob"], consent_by="someone else")
    assert len(rows(registry.path)) == 1
    assert registry.lookup("Ada").clip_path.read_bytes() == clips["ada"].read_bytes()


def test_revoke_appends_and_keeps_the_registration(tmp_path, clips):
    registry = Registry(tmp_path / "cameo.sqlite")
    registry.register("Ada", clips["ada"], consent_by="Ada", scope="any")
    before = rows(registry.path)
    subject = registry.revoke("ada", by="Ada", reason="changed her mind")
    after = rows(registry.path)
    assert after[: len(before)] == before and len(after) == 2  # nothing rewritten, one added
    assert subject.status == "revoked" and subject.reason == "changed her mind"
    assert [e.kind for e in registry.history("Ada")] == ["register", "revoke"]
    assert [(s.name, s.status) for s in registry.list()] == [("Ada", "revoked")]
    with pytest.raises(CameoError, match="revoked") as info:
        registry.lookup("Ada")
    assert isinstance(info.value, WorldsimError) and "\n" not in str(info.value)
    with pytest.raises(CameoError, match="already revoked"):
        registry.revoke("Ada", by="Ada")
    with pytest.raises(CameoError, match="no cameo subject named 'Nobody'"):
        registry.lookup("Nobody")
    with pytest.raises(CameoError, match="no cameo subject"):
        registry.revoke("Nobody", by="x")
    assert registry.protected_names() == ["Ada"]  # revoked names stay protected
    assert len(rows(registry.path)) == 2


def test_the_table_refuses_updates_and_deletes(tmp_path, clips):
    registry = Registry(tmp_path / "cameo.sqlite")
    registry.register("Ada", clips["ada"], consent_by="Ada")
    with contextlib.closing(sqlite3.connect(registry.path)) as db:
        for statement in ("DELETE FROM events", "UPDATE events SET actor = 'forged'"):
            with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                db.execute(statement)
    assert rows(registry.path)[0][5] == "Ada"


def test_a_revoked_name_can_consent_again(tmp_path, clips):
    registry = Registry(tmp_path / "cameo.sqlite")
    registry.register("Ada", clips["ada"], consent_by="Ada")
    registry.revoke("Ada", by="Ada")
    again = registry.register("Ada", clips["bob"], consent_by="Ada", scope="films only")
    assert registry.lookup("Ada") == again and again.scope == "films only"
    assert [e.kind for e in registry.history("ada")] == ["register", "revoke", "register"]


def test_check_reference_refuses_a_revoked_clip_and_its_copies(tmp_path, clips):
    registry = Registry(tmp_path / "cameo.sqlite")
    registry.register("Ada", clips["ada"], consent_by="Ada")
    registry.register("Bob", clips["bob"], consent_by="Bob")
    for clip in clips.values():  # nothing revoked yet: every clip is fine
        registry.check_reference_file(clip)
    registry.revoke("Ada", by="Ada")
    for key in ("ada", "ada_trimmed", "ada_small"):
        with pytest.raises(CameoError, match="'Ada', whose consent was revoked"):
            registry.check_reference_file(clips[key])
    registry.check_reference_file(clips["bob"])  # an active subject's clip
    copy = tmp_path / "renamed.mov"
    copy.write_bytes(clips["ada"].read_bytes())
    with pytest.raises(CameoError):
        registry.check_reference_file(copy)
    registry.register("Ada", clips["ada"], consent_by="Ada")  # she consents again
    registry.check_reference_file(clips["ada_trimmed"])


def test_a_clip_that_is_not_a_video_is_refused_with_one_line(tmp_path):
    bad = tmp_path / "notes.mp4"
    bad.write_text("not a video")
    registry = Registry(tmp_path / "cameo.sqlite")
    with pytest.raises(CameoError, match="not a readable video") as info:
        registry.register("Ada", bad, consent_by="Ada")
    assert "\n" not in str(info.value) and rows(registry.path) == []
    with pytest.raises(CameoError, match="no such file"):
        registry.register("Ada", tmp_path / "missing.mp4", consent_by="Ada")


# --------------------------------------------------------------------- several processes

WORKER = """
import sys, time
from pathlib import Path
from worldsim.provenance.registry import Registry
db, clip, worker, writes, go = sys.argv[1:6]
print("ready", flush=True)
while not Path(go).exists():
    time.sleep(0.001)
registry = Registry(db)  # opened at the same moment by every worker (a new file: the schema too)
name = f"Worker {worker}"
for i in range(int(writes)):
    if i % 2 == 0:
        registry.register(name, clip, consent_by=name, scope=f"write {i}")
    else:
        registry.revoke(name, by=name, reason=f"write {i}")
    time.sleep(0.002)  # a breath between writes, so that the writers interleave
print("done", flush=True)
"""


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def seeded(db: Path, clip: Path) -> Path:
    """A registry that already holds the clip's fingerprint, so that child processes reuse it
    instead of decoding (a fresh process spends seconds importing worldsim.media)."""
    with Registry(db) as registry:
        registry.register("Seed", clip, consent_by="tester")
    return db


def test_four_processes_writing_at_once_keep_every_record(tmp_path, clips):
    db, go = seeded(tmp_path / "cameo.sqlite", clips["ada"]), tmp_path / "go"
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(db), str(clips["ada"]), str(w), "25", str(go)],
            env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for w in range(4)
    ]  # fmt: skip
    assert [w.stdout.readline().strip() for w in workers] == ["ready"] * 4
    go.touch()  # all four start together
    results = [w.communicate(timeout=60) for w in workers]
    for worker, (out, err) in zip(workers, results):
        assert worker.returncode == 0 and "locked" not in err, err
        assert out.strip() == "done"
    records = rows(db)[1:]  # after the seed
    assert len(records) == 100 and [r[0] for r in records] == list(range(2, 102))
    order = [r[2] for r in records]
    assert sum(a != b for a, b in zip(order, order[1:])) > 3, "the writers never overlapped"
    registry = Registry(db)
    for w in range(4):
        events = registry.history(f"Worker {w}")
        assert [e.kind for e in events] == ["register", "revoke"] * 12 + ["register"]
        assert [e.scope or e.reason for e in events] == [f"write {i}" for i in range(25)]
    assert all(s.active for s in registry.list())


OPENER = """
import sys, time
from pathlib import Path
from worldsim.provenance.registry import Registry
folder, trials = Path(sys.argv[1]), int(sys.argv[2])
print("ready", flush=True)
for k in range(trials):
    while not (folder / f"go{k}").exists():
        time.sleep(0.0005)
    Registry(folder / f"db{k}.sqlite").close()  # every opener at once, on a new file
print("done", flush=True)
"""


def test_many_processes_opening_a_new_registry_at_once(tmp_path):
    """Switching a new file to WAL is not covered by busy_timeout; without the retry about
    one open in fifteen failed here with "database is locked"."""
    trials = 10
    openers = [
        subprocess.Popen([sys.executable, "-c", OPENER, str(tmp_path), str(trials)],
                         env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(8)
    ]  # fmt: skip
    assert [p.stdout.readline().strip() for p in openers] == ["ready"] * 8
    for k in range(trials):
        (tmp_path / f"go{k}").touch()
        time.sleep(0.05)
    for opener in openers:
        out, err = opener.communicate(timeout=60)
        assert opener.returncode == 0 and out.strip() == "done", err
    for k in range(trials):
        with contextlib.closing(sqlite3.connect(tmp_path / f"db{k}.sqlite")) as db:
            assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


KILLED = """
import sys
from worldsim.provenance.registry import Registry
registry = Registry(sys.argv[1])
i = 0
while True:
    name = f"Subject {sys.argv[3]} {i}"
    registry.register(name, sys.argv[2], consent_by="tester", scope="x" * 2000)
    registry.revoke(name, by="tester", reason="y" * 2000)
    i += 1
"""


def _count(db: Path) -> int:
    """Records so far; 0 while the child has not yet made the file or its table."""
    try:
        return len(rows(db))
    except sqlite3.OperationalError:
        return 0


def test_a_writer_killed_mid_write_leaves_a_consistent_registry(tmp_path, clips):
    db = seeded(tmp_path / "cameo.sqlite", clips["ada"])
    seen = 1
    rng = random.Random(0)
    for run in range(5):  # five kills at different moments, on the same file
        args = [sys.executable, "-c", KILLED, str(db), str(clips["ada"]), str(run)]
        child = subprocess.Popen(args,
                                 env=_env(), stderr=subprocess.PIPE)  # fmt: skip
        deadline = time.monotonic() + 30
        while _count(db) < seen + 10 and time.monotonic() < deadline:
            assert child.poll() is None, child.stderr.read()
            time.sleep(0.01)
        time.sleep(rng.uniform(0, 0.05))
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        with contextlib.closing(sqlite3.connect(db)) as check:
            assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        records = rows(db)
        assert len(records) >= seen + 10  # every record committed before the kill is kept
        assert [r[0] for r in records] == list(range(1, len(records) + 1))  # no gaps
        for r in records[1:]:  # no half record: each is whole (after the seed)
            if r[1] == "register":
                assert r[6] == "x" * 2000 and Fingerprint.from_bytes(r[11])
                assert (db.parent / r[9]).read_bytes() == clips["ada"].read_bytes()
            else:
                assert r[1] == "revoke" and r[7] == "y" * 2000
        seen = len(records)
    registry = Registry(db)  # and it still takes writes
    registry.register("After", clips["ada"], consent_by="tester")
    assert len(rows(db)) == seen + 1
