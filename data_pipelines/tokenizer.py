"""A sentencepiece tokenizer trained on a dataset's training captions, stored with the dataset.

The model lives at `TOKENIZER_FILE` inside the built dataset directory (beside
`dataset_info.json` and `index.json`, see `catalog.find_dataset_dir`), so whichever
directory the user passes (the `--out` of a build, `config.data.dir`, or the version
directory itself) finds the same file, and a rebuilt dataset never picks up the
tokenizer of an older one.

Ids: PAD 0, UNK 1, BOS 2, EOS 3. `Tokenizer.encode` appends EOS and pads with PAD, so a
row of all PAD is the empty "null caption" that classifier-free guidance drops to
(Ho & Salimans 2022); a real caption, even the empty one, holds at least an EOS.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import sentencepiece as spm

from data_pipelines import catalog
from worldsim.errors import WorldsimError

TOKENIZER_FILE = "tokenizer/spm.model"
REPORT_FILE = "tokenizer/report.json"  # the longest caption in tokens, over every split
PAD_ID, UNK_ID, BOS_ID, EOS_ID = 0, 1, 2, 3


def tokenizer_path(data_dir: str | os.PathLike) -> Path:
    """Where the tokenizer of the dataset under `data_dir` lives (it may not exist yet)."""
    return catalog.find_dataset_dir(data_dir) / TOKENIZER_FILE


def report_path(data_dir: str | os.PathLike) -> Path:
    """Where the tokenizer's report on the dataset's captions lives."""
    return catalog.find_dataset_dir(data_dir) / REPORT_FILE


def _captions(data_dir: str | os.PathLike, split: str) -> Iterator[str]:
    """Every caption of `split`, in record order (no video or audio is decoded)."""
    source = catalog.open_split(data_dir, split, skip=catalog.HEAVY_FIELDS)
    for i in range(len(source)):
        caption = source[i]["caption"]
        yield caption.decode("utf-8") if isinstance(caption, bytes) else str(caption)


def train_tokenizer(
    data_dir: str | os.PathLike, *, vocab_size: int = 256, split: str = "train"
) -> Path:
    """Train a unigram sentencepiece model on the captions of `split`; returns its path.

    Deterministic: one thread, no sampling or shuffling of sentences, so the same dataset
    gives the same model bytes. `hard_vocab_limit=False` lets the vocabulary come out
    smaller than `vocab_size` when the captions hold fewer pieces (templated captions do).
    Written atomically (tmp + rename): a reader never sees half a model.
    """
    path = tokenizer_path(data_dir)
    captions = [c for c in _captions(data_dir, split) if c.strip()]
    if not captions:
        raise WorldsimError(f"{path.parent.parent}: split {split!r} has no captions to train on")
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(captions),
        model_writer=model,
        model_type="unigram",
        vocab_size=vocab_size,
        hard_vocab_limit=False,
        character_coverage=1.0,
        pad_id=PAD_ID,
        unk_id=UNK_ID,
        bos_id=BOS_ID,
        eos_id=EOS_ID,
        num_threads=1,
        input_sentence_size=0,  # 0: every sentence, no sampling
        shuffle_input_sentence=False,
        minloglevel=2,  # quiet: the trainer logs every EM step to stderr
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(model.getvalue())
    os.replace(tmp, path)
    _write_report(data_dir, Tokenizer.from_bytes(model.getvalue()))
    return path


def _write_report(data_dir: str | os.PathLike, tokenizer: Tokenizer) -> dict:
    """Measures every split's captions in tokens (EOS included) and writes `REPORT_FILE`."""
    splits, longest, longest_caption = {}, 0, ""
    for split in catalog.split_names(data_dir):
        captions = list(_captions(data_dir, split))
        lengths = tokenizer.lengths(captions)
        splits[split] = {"captions": len(captions), "longest_tokens": max(lengths, default=0)}
        if lengths and max(lengths) > longest:
            longest = max(lengths)
            longest_caption = captions[int(np.argmax(lengths))]
    prompts = benchmark_prompts()
    lengths = tokenizer.lengths(prompts)
    report = {
        "longest_caption_tokens": longest,  # EOS included: the window a caption needs whole
        "longest_caption": longest_caption,
        # The physics benchmark's prompts come from the same grammar with other scenes: its
        # every sentence, so a window sized from both takes any prompt whole.
        "longest_prompt_tokens": max(lengths),
        "longest_prompt": prompts[int(np.argmax(lengths))],
        "prompts_measured": len(prompts),
        "splits": splits,
        "vocab_size": tokenizer.vocab_size,
    }
    path = report_path(data_dir)
    try:
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(json.dumps(report, indent=1))
        os.replace(tmp, path)
    except OSError:  # a read-only dataset: the report is measured again next time
        pass
    return report


def benchmark_prompts() -> list[str]:
    """Every caption the simulator's caption grammar can write (worldsim.physics.captions),
    conflict captions included: what the physics benchmark can prompt a model with."""
    from worldsim.physics.captions import every_caption
    from worldsim.physics.families import FAMILIES

    return [c for family in FAMILIES for c in every_caption(family)]


def caption_report(data_dir: str | os.PathLike) -> dict:
    """The dataset's caption report (longest caption in tokens, per split); written by
    `train_tokenizer`, measured now for a tokenizer built before reports existed."""
    path = report_path(data_dir)
    if path.is_file():
        report = json.loads(path.read_text())
        if "longest_prompt_tokens" in report:
            return report
    return _write_report(data_dir, load_tokenizer(data_dir))


def ensure_tokenizer(data_dir: str | os.PathLike, vocab_size: int = 256) -> Path:
    """The dataset's tokenizer path, training it first if it does not exist."""
    path = tokenizer_path(data_dir)
    return path if path.is_file() else train_tokenizer(data_dir, vocab_size=vocab_size)


def load_tokenizer(data_dir: str | os.PathLike) -> Tokenizer:
    """The dataset's tokenizer; a one-line `WorldsimError` with the fix when it is missing."""
    path = tokenizer_path(data_dir)
    if not path.is_file():
        raise WorldsimError(
            f"{path}: no tokenizer for this dataset; run `worldsim data tokenizer {data_dir}`"
        )
    return Tokenizer.load(path)


class CaptionTooLong(WorldsimError, ValueError):
    """A caption that does not fit the text window whole."""


class Tokenizer:
    """Captions <-> fixed-length int32 id rows (EOS-terminated, PAD-filled)."""

    PAD_ID = PAD_ID
    EOS_ID = EOS_ID

    def __init__(self, processor: spm.SentencePieceProcessor, model_bytes: bytes):
        self._sp = processor
        self._model_bytes = model_bytes

    @classmethod
    def from_bytes(cls, model_bytes: bytes) -> Tokenizer:
        """From a serialized model proto (e.g. the copy a checkpoint carries)."""
        processor = spm.SentencePieceProcessor(model_proto=bytes(model_bytes))
        return cls(processor, bytes(model_bytes))

    @classmethod
    def load(cls, path: str | os.PathLike) -> Tokenizer:
        return cls.from_bytes(Path(path).read_bytes())

    @property
    def model_bytes(self) -> bytes:
        """The serialized model proto: `Tokenizer.from_bytes(t.model_bytes)` is `t` again."""
        return self._model_bytes

    @property
    def vocab_size(self) -> int:
        """Number of ids (specials included); the text encoder's table needs at least this."""
        return self._sp.get_piece_size()

    def encode(
        self, captions: Sequence[str | bytes], max_len: int, *, truncate: bool = False
    ) -> np.ndarray:
        """int32 [B, max_len]: ids + EOS, padded with PAD.

        A caption longer than `max_len` tokens is an error (`CaptionTooLong`) unless
        `truncate`, when it is cut to `max_len` (the EOS is then lost).
        """
        texts = [c.decode("utf-8") if isinstance(c, bytes) else str(c) for c in captions]
        ids = np.full((len(texts), max_len), PAD_ID, np.int32)  # [B, C]
        for row, pieces in enumerate(self._sp.encode(texts)):
            tokens = [*pieces, EOS_ID]
            if len(tokens) > max_len and not truncate:
                raise CaptionTooLong(
                    f"caption {texts[row][:60]!r}... has {len(tokens)} tokens (EOS included); "
                    f"the text window is {max_len} (model.text_len): widen it, or leave "
                    "model.text_len at 0 to size it from the dataset's longest caption"
                )
            tokens = tokens[:max_len]
            ids[row, : len(tokens)] = tokens
        return ids

    def lengths(self, captions: Sequence[str | bytes]) -> list[int]:
        """Tokens each caption takes in `encode` (EOS included), before any truncation."""
        texts = [c.decode("utf-8") if isinstance(c, bytes) else c for c in captions]
        return [len(self._sp.encode(text)) + 1 for text in texts]

    def decode(self, ids: np.ndarray | Sequence[Sequence[int]]) -> list[str]:
        """Rows of ids -> captions; each row is read up to its first EOS, PAD ids dropped."""
        texts = []
        for row in np.asarray(ids).reshape(-1, np.shape(ids)[-1]).tolist():
            row = row[: row.index(EOS_ID)] if EOS_ID in row else row
            texts.append(self._sp.decode([i for i in row if i != PAD_ID]))
        return texts

    def __getstate__(self) -> bytes:  # picklable (e.g. into grain worker processes)
        return self._model_bytes

    def __setstate__(self, model_bytes: bytes) -> None:
        self.__init__(spm.SentencePieceProcessor(model_proto=model_bytes), model_bytes)
