"""The prompt filter: refused terms, patterns and protected names on word boundaries, the config
file, the registry's names, the refusal log; and none of the simulator's captions refused."""

from __future__ import annotations

import json
import threading

import pytest

from worldsim.errors import WorldsimError
from worldsim.provenance.prompt_filter import (
    FilterConfigError,
    PromptFilter,
    Refusal,
    TermFilter,
    load_filter,
    log_refusal,
)


@pytest.fixture(scope="module")
def default():
    return load_filter()


@pytest.mark.parametrize(
    ("prompt", "rule"),
    [
        ("a NUDE figure on the beach", "term 'nude'"),
        ("a naked man", "term 'naked'"),
        ("ｎａｋｅｄ", "term 'naked'"),  # full-width letters fold to plain ones
        ("gory scene with a decapitated robot", "term 'gory'"),
        ("a sexy schoolgirl", "pattern sexual words near words for children"),
        ("children, then something erotic", "pattern sexual words near words for children"),
    ],
)
def test_default_rules_refuse(default, prompt, rule):
    refusal = default.check(prompt)
    assert refusal == Refusal(rule=refusal.rule, matched=refusal.matched) and refusal.rule == rule
    assert str(refusal).startswith("prompt refused: it matches ")


@pytest.mark.parametrize(
    "prompt",
    [
        "a red ball bounces",
        "A firm nudge: a magenta ball flies into a three-block tower",  # nudge is not nude
        "children play with a ball",  # children without sexual words
        "a sex-linked trait in fruit flies",  # sexual word without children
        "the road snaked uphill past a denuded tree",  # "naked", "nude" inside other words
    ],
)
def test_default_rules_pass_innocent_prompts(default, prompt):
    assert default.check(prompt) is None


def test_no_simulator_caption_is_refused(data_dir, default):
    from data_pipelines import catalog

    captions = []
    for split in ("train", "validation", "test", "test_ood"):
        source = catalog.open_split(data_dir, split, skip=catalog.HEAVY_FIELDS)
        captions += [source[i]["caption"].decode("utf-8") for i in range(len(source))]
    assert len(captions) == 22
    refused = [(c, default.check(c)) for c in captions if default.check(c) is not None]
    assert refused == []


def test_protected_names_match_on_word_boundaries_any_case():
    f = TermFilter(names=("Ada Lovelace", "Bob"))
    assert f.check("ada LOVELACE rides a bike").rule == "protected name 'Ada Lovelace'"
    assert f.check("a film with Ada-Lovelace").rule == "protected name 'Ada Lovelace'"
    assert f.check("Bob's ball").rule == "protected name 'Bob'"
    assert f.check("a ball bobs on water") is None  # a word that holds the name is not it
    assert f.check("adalovelace") is None
    assert f.check("Ada alone") is None


def test_config_file_rules(tmp_path):
    config = tmp_path / "filter.txt"
    config.write_text(
        "# house rules\n"
        "term: bloodbath\n"
        "pattern: \\bblood[- ]?soaked\\b\n"
        "name: Grace Hopper\n"
        "\n"
        "defaults: off\n",
        encoding="utf-8",
    )
    f = load_filter(config)
    assert f.check("a bloodbath").rule == "term 'bloodbath'"
    assert f.check("a Blood-Soaked shirt").rule == "pattern /\\bblood[- ]?soaked\\b/"
    assert f.check("grace hopper debugs").rule == "protected name 'Grace Hopper'"
    assert f.check("a nude figure") is None  # defaults: off
    config.write_text("term: bloodbath\n", encoding="utf-8")
    assert load_filter(config).check("a nude figure").rule == "term 'nude'"  # defaults stay


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("bogus: x\n", "line 1: unknown rule 'bogus'"),
        ("term: ok\nterm:\n", "line 2: expected 'KEY: VALUE'"),
        ("just words\n", "line 1: expected"),
        ("pattern: (unclosed\n", "pattern /(unclosed/"),
        ("defaults: maybe\n", "defaults is 'on' or 'off'"),
    ],
)
def test_bad_config_lines_are_one_line_errors(tmp_path, text, message):
    config = tmp_path / "filter.txt"
    config.write_text(text, encoding="utf-8")
    with pytest.raises(FilterConfigError, match=message.replace("(", r"\(")) as info:
        load_filter(config)
    assert isinstance(info.value, WorldsimError) and "\n" not in str(info.value)
    with pytest.raises(FilterConfigError, match="cannot read"):
        load_filter(tmp_path / "missing.txt")


class _Names:
    def protected_names(self) -> list[str]:
        return ["Ada", "Revoked Person"]


def test_registry_names_are_protected():
    f = load_filter(None, _Names())
    assert f.check("Ada waves").rule == "protected name 'Ada'"
    assert f.check("revoked person smiles").rule == "protected name 'Revoked Person'"
    assert f.check("a red ball") is None


def test_registry_object_gives_its_names(tmp_path):
    import numpy as np

    from worldsim.media.video_io import write_mp4
    from worldsim.provenance.registry import Registry

    registry = Registry(tmp_path / "cameo.sqlite")
    frames = np.random.default_rng(0).integers(0, 255, (8, 32, 32, 3), dtype=np.uint8)
    clip = write_mp4(tmp_path / "c.mp4", frames, None, fps=16)
    registry.register("Ada", clip, consent_by="Ada")
    registry.register("Bob", clip, consent_by="Bob")
    registry.revoke("Bob", by="Bob")
    f = load_filter(None, registry)
    assert f.check("bob juggles").rule == "protected name 'Bob'"
    assert f.check("ada juggles").rule == "protected name 'Ada'"


def test_anything_with_check_is_a_prompt_filter():
    class Always:
        def check(self, prompt: str) -> Refusal | None:
            return Refusal(rule="always", matched=prompt)

    filters: list[PromptFilter] = [TermFilter(), Always()]
    assert [f.check("a red ball") for f in filters][1].rule == "always"


def test_refusal_log_appends_whole_json_lines(tmp_path):
    log = tmp_path / "logs" / "refusals.jsonl"
    refusal = TermFilter().check("a naked man")

    def write(i: int) -> None:
        for j in range(50):
            log_refusal(f"a naked man {i}-{j} " + "x" * 500, refusal, log)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    records = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert len(records) == 200
    assert set(records[0]) == {"time", "prompt", "rule"}
    assert {r["rule"] for r in records} == {"term 'naked'"}
    assert len({r["prompt"] for r in records}) == 200


def test_refusal_log_defaults_beside_the_registry(tmp_path, monkeypatch):
    monkeypatch.setenv("WORLDSIM_REGISTRY", str(tmp_path / "reg" / "cameo.sqlite"))
    path = log_refusal("a nude", Refusal(rule="term 'nude'", matched="nude"))
    assert path == tmp_path / "reg" / "refusals.jsonl"
    assert json.loads(path.read_text())["prompt"] == "a nude"
