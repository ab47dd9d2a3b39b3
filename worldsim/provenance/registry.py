"""The cameo consent registry: who agreed that their likeness may be generated, from which clip.

    registry = Registry()                                   # default_registry_path()
    registry.register("Ada", "ada.mp4", consent_by="Ada Lovelace", scope="any")
    registry.lookup("Ada").clip_path                        # the stored copy, for --reference
    registry.revoke("Ada", by="Ada Lovelace", reason="changed her mind")
    registry.check_reference_file("copy_of_ada.mp4")        # CameoError: consent revoked

Why append-only: consent is a record someone may have to show later (who agreed, when, to
what, and when they withdrew). A revocation is a new event, never a deletion or an update;
the state of a name is its latest event, and history() gives every event in order. Triggers
refuse UPDATE and DELETE on the table, so a bug cannot rewrite the past either.

Why SQLite in WAL mode: several processes (a `worldsim cameo` command beside running
generations) read and write at once. WAL lets readers go on while one writer commits;
busy_timeout makes a second writer wait instead of failing with "database is locked"; every
write is one `BEGIN IMMEDIATE` transaction (the write lock is taken before the name's state is
read, so two registrations of one name cannot both pass the check), and a process killed
mid-write leaves the last committed state (SQLite's journal rolls the rest back).

The clip is copied beside the database (`<stem>_clips/<sha256><suffix>`, content-addressed),
so the subject survives the user deleting their file; its sha256 and perceptual fingerprint
(worldsim.provenance.fingerprint) are recorded with the consent, so check_reference_file
finds a revoked subject's clip again after a re-encode, resize or trim.
"""

from __future__ import annotations

import builtins
import contextlib
import datetime as dt
import os
import random
import re
import shutil
import sqlite3
import time
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from worldsim.errors import WorldsimError
from worldsim.fileio import atomic_path
from worldsim.provenance import fingerprint as fp
from worldsim.provenance.credentials import hash_file

REGISTRY_ENV = "WORLDSIM_REGISTRY"
BUSY_TIMEOUT_MS = 30_000
MAX_NAME_CHARS = 64
_NAME = re.compile(r"\w(?:[\w.'-]| (?! ))*", re.UNICODE)  # words, single spaces, . ' -

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('register', 'revoke')),
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    time TEXT NOT NULL,
    actor TEXT NOT NULL,
    scope TEXT,
    reason TEXT,
    clip_sha256 TEXT,
    clip_path TEXT,
    source_path TEXT,
    fingerprint BLOB,
    CHECK (kind = 'revoke' OR (clip_sha256 IS NOT NULL AND clip_path IS NOT NULL
                               AND fingerprint IS NOT NULL AND scope IS NOT NULL))
);
CREATE INDEX IF NOT EXISTS events_by_name ON events (name_key, seq);
CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events
    BEGIN SELECT RAISE(ABORT, 'the cameo registry is append-only'); END;
CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events
    BEGIN SELECT RAISE(ABORT, 'the cameo registry is append-only'); END;
"""


class CameoError(WorldsimError):
    """A cameo the registry refuses: unknown, revoked, or a revoked subject's clip."""


class SubjectNameError(CameoError, ValueError):
    """A subject name that cannot be registered (empty, odd characters, already active)."""


@dataclass(frozen=True)
class Subject:
    """A registered name's current state: its latest registration and, if any, revocation."""

    name: str
    status: str  # "active" | "revoked"
    clip_sha256: str
    clip_path: Path  # the stored copy beside the database
    consent_by: str
    scope: str
    registered_at: str  # ISO 8601, UTC
    source_path: str  # the file given at registration (it may be gone)
    revoked_at: str | None = None
    revoked_by: str | None = None
    reason: str | None = None

    @property
    def active(self) -> bool:
        return self.status == "active"


@dataclass(frozen=True)
class Event:
    """One record of the log: a registration or a revocation."""

    seq: int
    kind: str  # "register" | "revoke"
    name: str
    time: str
    actor: str  # consent_by of a registration, by of a revocation
    scope: str | None
    reason: str | None
    clip_sha256: str | None
    clip_path: str | None


def default_registry_path() -> Path:
    """$WORLDSIM_REGISTRY, else $XDG_DATA_HOME/worldsim/cameo.sqlite, else under ~/.local/share."""
    if os.environ.get(REGISTRY_ENV):
        return Path(os.environ[REGISTRY_ENV]).expanduser()
    data_home = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(data_home).expanduser() / "worldsim" / "cameo.sqlite"


def normalise_name(name: str) -> str:
    """The name as stored: NFC, outer spaces stripped; SubjectNameError if it is not a name."""
    if not isinstance(name, str) or not name.strip():
        raise SubjectNameError("a cameo subject needs a name; got an empty one")
    name = unicodedata.normalize("NFC", name.strip())
    if len(name) > MAX_NAME_CHARS:
        raise SubjectNameError(f"cameo name {name[:20]!r}... is over {MAX_NAME_CHARS} characters")
    if not _NAME.fullmatch(name) or "_" in name:
        raise SubjectNameError(
            f"cameo name {name!r}: use letters, digits, single spaces and . ' - "
            "(starting with a letter or digit)"
        )
    return name


def name_key(name: str) -> str:
    """Case-insensitive identity of a name: "ada lovelace" and "Ada Lovelace" are one subject."""
    return normalise_name(name).casefold()


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


class Registry:
    """The consent log in one SQLite file; open it from as many processes as needed."""

    def __init__(self, path: str | os.PathLike | None = None) -> None:
        self.path = Path(path).expanduser() if path is not None else default_registry_path()
        self.clips_dir = self.path.parent / f"{self.path.stem}_clips"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        self._use_wal()
        self._db.execute("PRAGMA synchronous = FULL")  # a committed consent survives power loss
        with self._write():
            for statement in _split(_SCHEMA):
                self._db.execute(statement)

    # ------------------------------------------------------------------ plumbing

    def _use_wal(self) -> None:
        """Switch the file to WAL (once: the mode is stored in the file).

        The switch needs the file to itself and SQLite does not wait for that (busy_timeout
        does not cover it): several processes opening a new registry at once would fail with
        "database is locked". So it is retried, with jitter, for as long as busy_timeout.
        """
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        while True:
            try:
                mode = self._db.execute("PRAGMA journal_mode").fetchone()[0]
                if mode.lower() != "wal":
                    mode = self._db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                break
            except sqlite3.OperationalError as e:
                if "locked" not in str(e) or time.monotonic() > deadline:
                    raise
                time.sleep(random.uniform(0.005, 0.05))
        if mode.lower() != "wal":
            raise CameoError(f"{self.path}: SQLite cannot use WAL mode here (got {mode!r})")

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextlib.contextmanager
    def _write(self) -> Iterator[None]:
        """One write transaction: BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any exception
        (the connection is in autocommit mode, so nothing else opens one)."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _events(self, key: str | None = None) -> builtins.list[sqlite3.Row]:
        if key is None:
            return self._db.execute("SELECT * FROM events ORDER BY seq").fetchall()
        return self._db.execute(
            "SELECT * FROM events WHERE name_key = ? ORDER BY seq", (key,)
        ).fetchall()

    def _subject(self, rows: builtins.list[sqlite3.Row]) -> Subject | None:
        """The current state from one name's events (oldest first); None if never registered."""
        registrations = [r for r in rows if r["kind"] == "register"]
        if not registrations:
            return None
        last = registrations[-1]
        revoked = rows[-1] if rows[-1]["kind"] == "revoke" else None
        return Subject(
            name=last["name"],
            status="revoked" if revoked is not None else "active",
            clip_sha256=last["clip_sha256"],
            clip_path=self.path.parent / last["clip_path"],
            consent_by=last["actor"],
            scope=last["scope"],
            registered_at=last["time"],
            source_path=last["source_path"] or "",
            revoked_at=revoked["time"] if revoked is not None else None,
            revoked_by=revoked["actor"] if revoked is not None else None,
            reason=revoked["reason"] if revoked is not None else None,
        )

    def _store_clip(self, clip: Path, sha: str) -> str:
        """Copy the clip under its sha256 (once); the path relative to the database's folder."""
        stored = self.clips_dir / f"{sha}{clip.suffix.lower()}"
        if not stored.exists() or hash_file(stored) != sha:
            with atomic_path(stored, clip.suffix.lower()) as tmp:
                shutil.copyfile(clip, tmp)
        return os.path.relpath(stored, self.path.parent)

    def _known_fingerprint(self, sha: str) -> bytes | None:
        """A fingerprint already recorded for these bytes (same clip, no decode needed)."""
        row = self._db.execute(
            "SELECT fingerprint FROM events WHERE clip_sha256 = ? AND kind = 'register' LIMIT 1",
            (sha,),
        ).fetchone()
        if row is None:
            return None
        try:
            fp.Fingerprint.from_bytes(row[0])  # of this version
        except ValueError:
            return None
        return row[0]

    # ------------------------------------------------------------------ writes

    def register(
        self,
        name: str,
        clip: str | os.PathLike,
        consent_by: str,
        scope: str = "any",
    ) -> Subject:
        """Record that `consent_by` agreed to `name`'s likeness from `clip`, for `scope`.

        A revoked name may be registered again (a new consent); an active one may not.
        Raises SubjectNameError for a bad or active name, CameoError for an unreadable clip.
        """
        name = normalise_name(name)
        consent_by, scope = (consent_by or "").strip(), (scope or "").strip()
        if not consent_by:
            raise CameoError(f"cameo {name!r}: say who gave consent (consent_by)")
        if not scope:
            raise CameoError(f"cameo {name!r}: the consent needs a scope")
        clip = Path(clip)
        if not clip.is_file():
            raise CameoError(f"cameo clip {clip}: no such file")
        sha = hash_file(clip)
        blob = self._known_fingerprint(sha)
        if blob is None:
            from worldsim.media.video_io import MediaError

            try:
                blob = fp.fingerprint_clip(clip).to_bytes()
            except MediaError as e:
                reason = str(e.reason).splitlines()[0][:200]
                raise CameoError(f"cameo clip {clip}: not a readable video ({reason})") from None
        stored = self._store_clip(clip, sha)  # before the record: a record's clip always exists
        with self._write():
            current = self._subject(self._events(name.casefold()))
            if current is not None and current.active:
                raise SubjectNameError(
                    f"cameo name {current.name!r} is already registered (consent by "
                    f"{current.consent_by}, {current.registered_at}); revoke it first"
                )
            self._db.execute(
                "INSERT INTO events (kind, name, name_key, time, actor, scope, clip_sha256,"
                " clip_path, source_path, fingerprint) VALUES ('register', ?, ?, ?, ?, ?, ?, ?,"
                " ?, ?)",
                (name, name.casefold(), _now(), consent_by, scope, sha, stored,
                 os.fspath(clip.resolve()), blob),
            )  # fmt: skip
        return self.lookup(name)

    def revoke(self, name: str, by: str, reason: str = "") -> Subject:
        """Append a revocation of `name`'s consent; CameoError if it is not active."""
        name = normalise_name(name)
        by = (by or "").strip()
        if not by:
            raise CameoError(f"cameo {name!r}: say who revokes the consent (by)")
        with self._write():
            current = self._subject(self._events(name.casefold()))
            if current is None:
                raise CameoError(f"no cameo subject named {name!r} is registered")
            if not current.active:
                raise CameoError(
                    f"cameo {current.name!r} was already revoked on {current.revoked_at}"
                )
            self._db.execute(
                "INSERT INTO events (kind, name, name_key, time, actor, reason)"
                " VALUES ('revoke', ?, ?, ?, ?, ?)",
                (current.name, name.casefold(), _now(), by, (reason or "").strip()),
            )
        return self._subject(self._events(name.casefold()))

    # ------------------------------------------------------------------ reads

    def lookup(self, name: str) -> Subject:
        """The active subject of that name; CameoError if unregistered or revoked."""
        name = normalise_name(name)
        subject = self._subject(self._events(name.casefold()))
        if subject is None:
            raise CameoError(f"no cameo subject named {name!r} is registered")
        if not subject.active:
            raise CameoError(
                f"cameo {subject.name!r} was revoked on {subject.revoked_at} "
                f"by {subject.revoked_by}"
            )
        return subject

    def history(self, name: str) -> builtins.list[Event]:
        """Every event of that name, oldest first (empty if it was never registered)."""
        return [
            Event(r["seq"], r["kind"], r["name"], r["time"], r["actor"], r["scope"],
                  r["reason"], r["clip_sha256"], r["clip_path"])
            for r in self._events(name_key(name))
        ]  # fmt: skip

    def protected_names(self) -> builtins.list[str]:
        """Every name ever registered, active or revoked (the prompt filter refuses them)."""
        return [s.name for s in self.list()]

    def check_reference_file(self, path: str | os.PathLike) -> None:
        """Refuse (CameoError) a file that is, or perceptually matches, a revoked clip.

        A registration counts as revoked when a revocation of its name follows it. The same
        person registering the same footage again (a new consent) makes it usable again.
        Raises MediaError when a fingerprint is needed and the file does not decode.
        """
        path = Path(path)
        withdrawn, current = [], {}  # (registration, revocation) pairs; name -> registration
        for row in self._events():
            if row["kind"] == "register":
                current[row["name_key"]] = row
            elif row["name_key"] in current:
                withdrawn.append((current.pop(row["name_key"]), row))
        if not withdrawn:
            return  # nothing to refuse: no decoding
        sha = hash_file(path)
        query: builtins.list[fp.Fingerprint] = []  # decoded once, when first needed

        def same_footage(registration: sqlite3.Row) -> bool:
            if registration["clip_sha256"] == sha:
                return True
            if not query:
                query.append(fp.fingerprint_clip(path))
            return fp.matches(query[0], fp.Fingerprint.from_bytes(registration["fingerprint"]))

        for registration, revocation in withdrawn:
            if not same_footage(registration):
                continue
            again = current.get(registration["name_key"])
            if again is not None and same_footage(again):
                continue  # the same person consented to this footage again
            raise CameoError(
                f"{path}: this clip is the footage of cameo {registration['name']!r}, whose "
                f"consent was revoked on {revocation['time']}; it cannot be used as a reference"
            )

    def list(self) -> builtins.list[Subject]:
        """Every name ever registered with its current status, in order of first registration."""
        by_name: dict[str, builtins.list[sqlite3.Row]] = {}
        for row in self._events():
            by_name.setdefault(row["name_key"], []).append(row)
        return [s for rows in by_name.values() if (s := self._subject(rows)) is not None]


def _split(script: str) -> builtins.list[str]:
    """The schema's statements (triggers hold semicolons: split on those ending a line)."""
    return [s.strip() + ";" for s in re.split(r";\s*\n", script) if s.strip()]
