"""`worldsim cameo`: register, list, revoke and history through the parser that add_parser
builds; a user error is a one-line WorldsimError for the command line to print."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest

from worldsim.cli import cameo as cameo_cli
from worldsim.cli.args import common_parser
from worldsim.errors import WorldsimError
from worldsim.media.video_io import write_mp4
from worldsim.provenance.registry import Registry


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="worldsim")
    commands = top.add_subparsers(dest="command", required=True)
    cameo_cli.add_parser(commands, common_parser())
    return top


def run(*argv: str) -> int:
    args = parser().parse_args(list(argv))
    return args.handler(args)


@pytest.fixture
def clip(tmp_path):
    frames = np.random.default_rng(0).integers(0, 255, (16, 32, 32, 3), dtype=np.uint8)
    return write_mp4(tmp_path / "ada.mp4", frames, None, fps=16)


def test_register_list_revoke_history(tmp_path, clip, capsys):
    db = str(tmp_path / "r" / "cameo.sqlite")
    assert run("cameo", "list", "--registry", db) == 0
    assert "no cameo subjects" in capsys.readouterr().out
    assert run("cameo", "register", "--name", "Ada", "--clip", str(clip), "--consent-by",
               "Ada Lovelace", "--scope", "research", "--registry", db) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "registered cameo 'Ada'" in out and "consent by Ada Lovelace" in out
    assert Registry(db).lookup("Ada").scope == "research"
    assert run("cameo", "revoke", "Ada", "--by", "Ada Lovelace", "--reason", "withdrawn",
               "--registry", db) == 0  # fmt: skip
    assert "revoked cameo 'Ada'" in capsys.readouterr().out
    assert run("cameo", "list", "--registry", db) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("Ada  revoked") and "(withdrawn)" in line
    assert run("cameo", "list", "--json", "--registry", db) == 0
    (entry,) = json.loads(capsys.readouterr().out)
    assert entry["status"] == "revoked" and entry["revoked_by"] == "Ada Lovelace"
    assert run("cameo", "history", "Ada", "--registry", db) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and "register" in lines[0] and "revoke" in lines[1]


def test_revoke_by_defaults_to_the_user(tmp_path, clip, monkeypatch, capsys):
    monkeypatch.setattr(cameo_cli.getpass, "getuser", lambda: "operator")
    db = str(tmp_path / "cameo.sqlite")
    run("cameo", "register", "--name", "Ada", "--clip", str(clip), "--consent-by", "Ada",
        "--registry", db)  # fmt: skip
    run("cameo", "revoke", "Ada", "--registry", db)
    assert Registry(db).list()[0].revoked_by == "operator"


def test_registry_defaults_to_the_environment(tmp_path, clip, monkeypatch, capsys):
    monkeypatch.setenv("WORLDSIM_REGISTRY", str(tmp_path / "env" / "cameo.sqlite"))
    run("cameo", "register", "--name", "Ada", "--clip", str(clip), "--consent-by", "Ada")
    assert [s.name for s in Registry(tmp_path / "env" / "cameo.sqlite").list()] == ["Ada"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["revoke", "Nobody"], "no cameo subject named 'Nobody'"),
        (["history", "Nobody"], "no cameo subject named 'Nobody'"),
        (["register", "--name", "a/b", "--clip", "CLIP", "--consent-by", "x"], "cameo name"),
        (["register", "--name", "Ada", "--clip", "missing.mp4", "--consent-by", "x"], "no such"),
    ],
)
def test_user_errors_are_one_line(tmp_path, clip, argv, message):
    argv = [str(clip) if a == "CLIP" else a for a in argv]
    with pytest.raises(WorldsimError, match=message) as info:
        run("cameo", *argv, "--registry", str(tmp_path / "cameo.sqlite"))
    assert "\n" not in str(info.value)


def test_missing_required_flags_are_usage_errors(capsys):
    with pytest.raises(SystemExit) as info:
        parser().parse_args(["cameo", "register", "--name", "Ada"])
    assert info.value.code == 2 and "--clip" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parser().parse_args(["cameo", "--help"])
    assert "register" in capsys.readouterr().out
