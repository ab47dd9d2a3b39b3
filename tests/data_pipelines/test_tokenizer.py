"""Caption tokenizer: trained from a built dataset, deterministic, fixed-length id rows, CLI."""

from __future__ import annotations

import pickle
import re
import shutil

import numpy as np
import pytest

from data_pipelines import build_physics_clips, catalog
from data_pipelines.tokenizer import (
    EOS_ID,
    PAD_ID,
    TOKENIZER_FILE,
    CaptionTooLong,
    Tokenizer,
    caption_report,
    ensure_tokenizer,
    load_tokenizer,
    train_tokenizer,
)
from tests.data_pipelines.conftest import TINY
from worldsim import cli
from worldsim.errors import WorldsimError


@pytest.fixture(scope="module")
def data(tmp_path_factory, synthetic_physics):
    """The `--out` directory of a small build (the directory users pass around)."""
    out = tmp_path_factory.mktemp("d")
    build_physics_clips(out, num_clips=20, seed=0, config=TINY)
    return out


@pytest.fixture(scope="module")
def tokenizer(data) -> Tokenizer:
    return Tokenizer.load(ensure_tokenizer(data, vocab_size=64))


@pytest.fixture(scope="module")
def caption(data) -> bytes:
    return catalog.open_split(data, "train", skip=catalog.HEAVY_FIELDS)[0]["caption"]


def test_lives_with_the_dataset_whichever_dir_is_passed(data, tokenizer):
    path = catalog.find_dataset_dir(data) / TOKENIZER_FILE
    assert path.is_file()
    assert ensure_tokenizer(catalog.find_dataset_dir(data)) == path  # version dir: same file
    assert not list(path.parent.glob(".*tmp"))  # atomic write left no temporary behind
    assert load_tokenizer(data).model_bytes == path.read_bytes() == tokenizer.model_bytes


def test_training_is_deterministic(data, tokenizer):
    path = train_tokenizer(data, vocab_size=64)
    assert path.read_bytes() == tokenizer.model_bytes


def test_round_trip_of_a_real_caption(tokenizer, caption):
    assert isinstance(caption, bytes)
    ids = tokenizer.encode([caption, caption.decode()], max_len=48)
    assert ids.dtype == np.int32 and ids.shape == (2, 48)
    np.testing.assert_array_equal(ids[0], ids[1])  # bytes and str encode alike
    assert not (ids == 1).any()  # no UNK: every character of the training captions is covered
    assert tokenizer.decode(ids) == [caption.decode()] * 2
    assert 4 < tokenizer.vocab_size <= 64


def test_eos_padding_and_truncation(tokenizer, caption):
    n = int((tokenizer.encode([caption], 64)[0] != PAD_ID).sum())  # pieces + EOS
    ids = tokenizer.encode([caption, "", caption], max_len=n + 3)
    assert ids[0, n - 1] == EOS_ID and (ids[0, n:] == PAD_ID).all()
    assert ids[1, 0] == EOS_ID and (ids[1, 1:] == PAD_ID).all()  # empty caption != null caption
    with pytest.raises(CaptionTooLong, match=f"has {n} tokens"):  # never cut silently
        tokenizer.encode([caption, ""], max_len=n - 2)
    short = tokenizer.encode([caption], max_len=n - 2, truncate=True)
    np.testing.assert_array_equal(short[0], ids[2, : n - 2])  # truncated: a prefix, no EOS
    assert EOS_ID not in short and PAD_ID not in short
    assert tokenizer.decode(np.zeros((1, 8), np.int32)) == [""]  # all PAD: the null caption


def test_from_bytes_and_pickle_give_the_same_tokenizer(tokenizer, caption):
    expected = tokenizer.encode([caption], 64)
    for copy in (
        Tokenizer.from_bytes(tokenizer.model_bytes),
        pickle.loads(pickle.dumps(tokenizer)),
    ):
        np.testing.assert_array_equal(copy.encode([caption], 64), expected)


def test_cli_trains_and_prints(data, tokenizer, capsys):
    assert cli.main(["data", "tokenizer", str(data), "--vocab-size", "64"]) == 0
    out = capsys.readouterr().out
    assert TOKENIZER_FILE in out and f"vocab size {tokenizer.vocab_size}" in out
    assert load_tokenizer(data).model_bytes == tokenizer.model_bytes
    report = caption_report(data)
    assert f"longest caption: {report['longest_caption_tokens']} tokens" in out


def test_report_measures_the_longest_caption_of_every_split(data, tokenizer):
    from data_pipelines.catalog import split_names
    from data_pipelines.tokenizer import _captions

    report = caption_report(data)
    assert set(report["splits"]) == set(split_names(data))
    every = [c for split in split_names(data) for c in _captions(data, split)]
    lengths = tokenizer.lengths(every)
    assert report["longest_caption_tokens"] == max(lengths)
    assert report["longest_caption"] == every[int(np.argmax(lengths))]
    ids = tokenizer.encode([report["longest_caption"]], report["longest_caption_tokens"])
    assert ids[0, -1] == EOS_ID  # the longest caption fills the window exactly, whole


def test_missing_tokenizer_names_the_fix(tmp_path, data, capsys):
    copy = tmp_path / "copy"
    shutil.copytree(data, copy)
    (catalog.find_dataset_dir(copy) / TOKENIZER_FILE).unlink(missing_ok=True)
    with pytest.raises(WorldsimError, match=re.escape(f"worldsim data tokenizer {copy}")) as error:
        load_tokenizer(copy)
    assert "\n" not in str(error.value)  # one line, as the CLI prints it
    assert cli.main(["data", "tokenizer", str(copy / "nowhere")]) == 2
    assert "no such directory" in capsys.readouterr().err
