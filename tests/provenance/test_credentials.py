"""Content credentials: a signed clip verifies with its claims; any change to its bytes, a trim,
a truncation or a re-encode is caught; keys are private and never overwritten by accident."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from worldsim.cli import provenance as provenance_cli
from worldsim.cli.args import common_parser
from worldsim.media.video_io import ffmpeg_exe, read_video, transcode, write_mp4
from worldsim.provenance.credentials import (
    CHAIN_FILE,
    DIGITAL_SOURCE_TYPE,
    KEY_FILE,
    SIGNING_DIR_ENV,
    GenerationFacts,
    KeyExistsError,
    ProvenanceError,
    classify,
    hash_file,
    make_development_keys,
    resolve_signing_dir,
    sign_mp4,
    verify,
)

FPS, SR, T = 10, 16_000, 10


def _clip(path, seed: int = 0):
    rng = np.random.default_rng(seed)
    frames = rng.integers(0, 256, (T, 64, 64, 3), dtype=np.uint8)  # [T, H, W, 3]
    audio = (0.1 * rng.standard_normal(SR * T // FPS)).astype(np.float32)  # [S]
    return write_mp4(path, frames, audio, FPS, SR)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="worldsim")
    provenance_cli.add_parser(parser.add_subparsers(dest="command"), common_parser())
    return parser


def _cli(*argv: str) -> int:
    args = _parser().parse_args(["provenance", *argv])
    return args.handler(args)


def _boxes(data: bytes) -> dict[bytes, tuple[int, int]]:
    """Top-level ISO BMFF boxes: type -> (offset, size)."""
    boxes, i = {}, 0
    while i + 8 <= len(data):
        size = int.from_bytes(data[i : i + 4], "big")
        boxes.setdefault(data[i + 4 : i + 8], (i, size))
        i += max(size, 8)
    return boxes


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    out = tmp_path_factory.mktemp("keys") / "dev"
    make_development_keys(out)
    return out


@pytest.fixture(scope="module")
def facts(tmp_path_factory):
    init = _clip(tmp_path_factory.mktemp("inputs") / "init.mp4", seed=1)
    return GenerationFacts(
        run_name="tiny",
        checkpoint_step=1200,
        params_hash="ab" * 32,
        config_hash="cd" * 32,
        prompt="a red ball bounces twice",
        inputs={"--init-video": hash_file(init)},
        watermark={"enabled": True, "text": "AI-generated"},
        created="2025-01-02T03:04:05+00:00",
    )


@pytest.fixture(scope="module")
def signed_bytes(tmp_path_factory, keys, facts) -> bytes:
    path = _clip(tmp_path_factory.mktemp("signed") / "clip.mp4")
    sign_mp4(path, facts, keys)
    return path.read_bytes()


@pytest.fixture
def signed(tmp_path, signed_bytes):
    path = tmp_path / "clip.mp4"
    path.write_bytes(signed_bytes)
    return path


def test_signed_clip_verifies_with_its_claims(signed, facts):
    v = verify(signed)
    assert v.status == "valid", v.errors
    assert v.claims["generated_by_ai"] and v.claims["digital_source_type"] == DIGITAL_SOURCE_TYPE
    assert v.claims["prompt"] == facts.prompt
    assert v.claims["inputs"] == {"--init-video": {"sha256": facts.inputs["--init-video"]}}
    assert v.claims["model"] == {"run": "tiny", "checkpoint_step": 1200, "params_sha256": "ab" * 32}
    assert v.claims["config_sha256"] == "cd" * 32
    assert v.claims["watermark"] == {"enabled": True, "text": "AI-generated"}
    assert v.claims["created"] == facts.created
    assert v.development and not v.trusted  # a development key: valid, signer unproven
    assert [e.split(":")[0] for e in v.errors] == ["signingCredential.untrusted"]


def test_signed_clip_still_plays(signed):
    frames, fps = read_video(signed)
    assert frames.shape == (T, 64, 64, 3) and fps == FPS


def test_verify_prints_claims_and_the_development_note(signed, facts, capsys):
    assert _cli("verify", str(signed)) == provenance_cli.EXIT_VALID
    out = capsys.readouterr().out
    assert "valid" in out.splitlines()[0]
    assert facts.prompt in out and facts.inputs["--init-video"] in out
    assert "checkpoint step 1200" in out and 'on: "AI-generated"' in out
    assert "DEVELOPMENT certificate" in out
    assert _cli("verify", "--json", str(signed)) == 0
    assert json.loads(capsys.readouterr().out)["claims"]["prompt"] == facts.prompt


def _tampered(capsys, path) -> str:
    """Assert path verifies as tampered, through the CLI too; its one stderr line."""
    assert verify(path).status == "tampered"
    assert _cli("verify", str(path)) == provenance_cli.EXIT_TAMPERED
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "TAMPERED" in err
    return err


def test_one_flipped_media_byte_is_tampering(signed, capsys):
    data = bytearray(signed.read_bytes())
    offset, size = _boxes(bytes(data))[b"mdat"]
    data[offset + size // 2] ^= 0x01
    signed.write_bytes(bytes(data))
    assert "assertion.bmffHash.mismatch" in _tampered(capsys, signed)


def test_one_flipped_manifest_byte_is_tampering(signed, capsys):
    data = bytearray(signed.read_bytes())
    offset, size = _boxes(bytes(data))[b"uuid"]  # the manifest store
    data[offset + size // 2] ^= 0x01
    signed.write_bytes(bytes(data))
    _tampered(capsys, signed)


def test_truncation_is_tampering(signed, capsys):
    data = signed.read_bytes()
    signed.write_bytes(data[: len(data) * 2 // 3])  # cut in the media
    assert "assertion.bmffHash.mismatch" in _tampered(capsys, signed)
    offset, size = _boxes(data)[b"uuid"]
    signed.write_bytes(data[: offset + size // 2])  # cut inside the manifest itself
    assert "manifest.unreadable" in _tampered(capsys, signed)


def test_trimming_with_ffmpeg_does_not_verify(signed, tmp_path, capsys):
    trimmed = tmp_path / "trimmed.mp4"
    for codec in (["-c", "copy"], []):  # a remux and a re-encode
        cmd = [ffmpeg_exe(), "-y", "-loglevel", "error", "-i", str(signed), "-t", "0.5", *codec]
        subprocess.run([*cmd, str(trimmed)], check=True)
        assert verify(trimmed).status in ("tampered", "no_manifest")
        assert _cli("verify", str(trimmed)) != 0
    capsys.readouterr()


def test_re_encoded_clip_has_no_manifest(signed, tmp_path, capsys):
    converted = transcode(signed, tmp_path / "small.mp4", size=(32, 32), fps=5)
    assert verify(converted).status == "no_manifest"
    assert _cli("verify", str(converted)) == provenance_cli.EXIT_NO_MANIFEST
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "re-encoded" in err


def test_unsigned_clip_has_no_manifest(tmp_path, capsys):
    clip = _clip(tmp_path / "plain.mp4")
    assert verify(clip).status == "no_manifest"
    assert _cli("verify", str(clip)) == provenance_cli.EXIT_NO_MANIFEST
    assert "no content credentials" in capsys.readouterr().err


def test_a_file_that_is_not_media_is_a_clear_error(tmp_path):
    text = tmp_path / "notes.mp4"
    text.write_text("not a video at all\n" * 10)
    with pytest.raises(ProvenanceError, match="not a readable media file"):
        verify(text)
    with pytest.raises(ProvenanceError, match="no such file"):
        verify(tmp_path / "missing.mp4")


@pytest.mark.parametrize(
    "codes, status",
    [
        (["signingCredential.untrusted"], "valid"),
        ([], "valid"),
        (["signingCredential.untrusted", "assertion.dataHash.mismatch"], "tampered"),
        (["assertion.hashedURI.mismatch"], "tampered"),
        (["claimSignature.mismatch"], "tampered"),
        (["signingCredential.expired"], "invalid"),
        (["signingCredential.ocsp.revoked"], "invalid"),
    ],
)
def test_validation_codes_are_classified(codes, status):
    store = {
        "active_manifest": "m",
        "manifests": {"m": {"assertions": []}},
        "validation_results": {
            "activeManifest": {"failure": [{"code": c, "explanation": ""} for c in codes]}
        },
    }
    assert classify(store).status == status


def test_keygen_writes_a_private_key_and_refuses_to_overwrite(tmp_path, capsys):
    out = tmp_path / "keys"
    assert _cli("keygen", "--out", str(out)) == 0
    assert "development only" in capsys.readouterr().out.lower()
    assert os.stat(out / KEY_FILE).st_mode & 0o777 == 0o600
    key = (out / KEY_FILE).read_bytes()
    with pytest.raises(KeyExistsError, match="--force") as error:
        _cli("keygen", "--out", str(out))
    assert len(str(error.value).splitlines()) == 1
    assert (out / KEY_FILE).read_bytes() == key
    assert _cli("keygen", "--out", str(out), "--force") == 0
    assert (out / KEY_FILE).read_bytes() != key
    assert os.stat(out / KEY_FILE).st_mode & 0o777 == 0o600


def test_signing_dir_precedence_and_the_default_development_key(tmp_path, keys, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.delenv(SIGNING_DIR_ENV, raising=False)
    folder, is_dev = resolve_signing_dir(None)  # made once, in the user's data folder
    assert folder == tmp_path / "data" / "worldsim" / "signing" and is_dev
    key = (folder / KEY_FILE).read_bytes()
    assert resolve_signing_dir(None)[0] == folder and (folder / KEY_FILE).read_bytes() == key
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]  # no leftovers

    other = tmp_path / "other"
    shutil.copytree(keys, other)
    monkeypatch.setenv(SIGNING_DIR_ENV, str(other))
    assert resolve_signing_dir(None) == (other, True)
    assert resolve_signing_dir(str(keys)) == (keys, True)  # the flag wins over the variable
    (other / CHAIN_FILE).unlink()
    with pytest.raises(ProvenanceError, match=f"\\${SIGNING_DIR_ENV} .*no {CHAIN_FILE}"):
        resolve_signing_dir(None)
    with pytest.raises(ProvenanceError, match="--signing-dir"):
        resolve_signing_dir(str(tmp_path / "nowhere"))


def test_cli_module_imports_nothing_heavy():
    code = (
        "import sys, worldsim.cli.provenance; "
        "print(sorted({'c2pa', 'cryptography'} & set(sys.modules)))"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root
    )
    assert out.stdout.strip() == "[]"
