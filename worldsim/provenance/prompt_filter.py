"""A prompt filter that runs before any model work: refused terms, patterns and protected names.

    prompt_filter = load_filter("filter.txt", registry)   # defaults + file + registered names
    refusal = prompt_filter.check("a nude Ada Lovelace")  # Refusal(rule="protected name ...")
    if refusal is not None:
        log_refusal(prompt, refusal)                       # refusals.jsonl beside the registry

Why a Protocol: the check is a door, not a policy. Anything with `check(prompt) -> Refusal |
None` can stand in (a classifier, a service); TermFilter is the default, a word list.

What the default list is: a small starting point written down so that its limits are plain,
not moderation. It refuses a few unambiguous words (nudity, pornography, gore), sexual words
near words for children, and the names of registered cameo subjects (active or revoked: a
revoked subject must not come back through the prompt) plus any real people's names the
config lists. Words are matched case-insensitively on word boundaries, after Unicode NFKC
folding (full-width and other compatibility letters read as plain ones); a misspelling, a
paraphrase or another language passes, and an innocent use of a listed word ("Al Gore") is
refused. It refuses none of the simulator's own captions (tested on every caption of the test
fixture's clips).

Config file, one rule a line; a line starting with `#` is a comment (there are no trailing
comments, since a pattern may hold a `#`):

    # a word or phrase, on word boundaries
    term: bloodbath
    # a Python regular expression, case-insensitive
    pattern: \\bblood[- ]?soaked\\b
    # a protected person's name (its spaces match any separators: "Ada-Lovelace" too)
    name: Ada Lovelace
    # drop the built-in terms and patterns (names stay)
    defaults: off
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from worldsim.errors import WorldsimError

REFUSALS_FILE = "refusals.jsonl"

# A starting point, not moderation: see the module docstring.
DEFAULT_TERMS: tuple[str, ...] = (
    "nude", "nudes", "nudity", "naked", "topless", "porn", "porno", "pornographic",
    "pornography", "explicit sex", "gore", "gory", "decapitated", "decapitation", "beheaded",
    "beheading", "dismembered", "dismemberment", "disemboweled", "disembowelled", "mutilated",
    "mutilation", "csam", "lolicon", "shotacon",
)  # fmt: skip
_MINOR = r"(?:child|children|kids?|minors?|underage|preteens?|teens?|toddlers?|babies|baby|" \
    r"school ?girls?|school ?boys?|little (?:girls?|boys?)|loli\w*|shota\w*)"  # fmt: skip
_SEXUAL = r"(?:sex|sexual\w*|sexy|erotic\w*|nude|naked|undress\w*|lingerie|fetish\w*|seductive)"
_NEAR = r"[\s\S]{0,60}"  # within 60 characters, across lines
DEFAULT_PATTERNS: tuple[str, ...] = (
    rf"\b{_MINOR}\b{_NEAR}\b{_SEXUAL}\b",
    rf"\b{_SEXUAL}\b{_NEAR}\b{_MINOR}\b",
)
# A refusal names a default pattern by what it is for, not by its 300-character regex.
PATTERN_LABELS = dict.fromkeys(DEFAULT_PATTERNS, "sexual words near words for children")


class FilterConfigError(WorldsimError):
    """A prompt-filter config file that cannot be read as rules."""


@dataclass(frozen=True)
class Refusal:
    """Why a prompt was refused: the rule that matched and the text it matched."""

    rule: str  # "term 'nude'", "pattern /.../", "protected name 'Ada Lovelace'"
    matched: str

    def __str__(self) -> str:
        return f"prompt refused: it matches {self.rule}"


class PromptFilter(Protocol):
    """Anything that can refuse a prompt before the model sees it."""

    def check(self, prompt: str) -> Refusal | None: ...


class NameSource(Protocol):
    """Where protected names come from (the cameo Registry)."""

    def protected_names(self) -> list[str]: ...


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def _phrase(words: str) -> str:
    """A regex for a word or phrase on word boundaries; its spaces match any separators."""
    parts = [re.escape(_fold(p)) for p in re.split(r"[\W_]+", words) if p]
    return r"(?<!\w)" + r"[\W_]+".join(parts) + r"(?!\w)"


@dataclass(frozen=True)
class TermFilter:
    """Refuse prompts holding a term, matching a pattern, or naming a protected person."""

    terms: tuple[str, ...] = DEFAULT_TERMS
    patterns: tuple[str, ...] = DEFAULT_PATTERNS
    names: tuple[str, ...] = ()
    _rules: tuple[tuple[str, re.Pattern], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        rules = []
        for name in self.names:  # names first: the refusal says whose likeness was asked for
            if re.search(r"\w", name):
                rules.append((f"protected name {name.strip()!r}", re.compile(_phrase(name))))
        for term in self.terms:
            if re.search(r"\w", term):
                rules.append((f"term {term.strip()!r}", re.compile(_phrase(term))))
        for pattern in self.patterns:
            try:
                label = PATTERN_LABELS.get(pattern, f"/{pattern}/")
                rules.append((f"pattern {label}", re.compile(pattern, re.IGNORECASE)))
            except re.error as e:
                raise FilterConfigError(f"prompt filter pattern /{pattern}/: {e}") from None
        object.__setattr__(self, "_rules", tuple(rules))

    def check(self, prompt: str) -> Refusal | None:
        text = _fold(prompt)
        for rule, regex in self._rules:
            if m := regex.search(text):
                return Refusal(rule=rule, matched=m.group(0))
        return None


def parse_rules(lines: Iterable[str], where: str = "config") -> dict:
    """{"terms", "patterns", "names": lists, "defaults": bool} from `key: value` lines."""
    rules: dict = {"terms": [], "patterns": [], "names": [], "defaults": True}
    keys = {"term": "terms", "pattern": "patterns", "name": "names"}
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition(":")
        key, value = key.strip().lower(), value.strip()
        if not sep or not value:
            raise FilterConfigError(f"{where} line {number}: expected 'KEY: VALUE', got {raw!r}")
        if key == "defaults":
            if value.lower() not in ("on", "off"):
                raise FilterConfigError(f"{where} line {number}: defaults is 'on' or 'off'")
            rules["defaults"] = value.lower() == "on"
        elif key in keys:
            rules[keys[key]].append(value)
        else:
            raise FilterConfigError(
                f"{where} line {number}: unknown rule {key!r} (term, pattern, name or defaults)"
            )
    return rules


def load_filter(
    path: str | os.PathLike | None = None, registry: NameSource | None = None
) -> TermFilter:
    """The default TermFilter, plus the rules of `path` and the names in `registry`."""
    rules = {"terms": [], "patterns": [], "names": [], "defaults": True}
    if path is not None:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise FilterConfigError(f"prompt filter config {path}: cannot read it ({e})") from None
        rules = parse_rules(text.splitlines(), where=f"prompt filter config {path}")
    names = list(rules["names"]) + (registry.protected_names() if registry is not None else [])
    base_terms = DEFAULT_TERMS if rules["defaults"] else ()
    base_patterns = DEFAULT_PATTERNS if rules["defaults"] else ()
    return TermFilter(
        terms=(*base_terms, *rules["terms"]),
        patterns=(*base_patterns, *rules["patterns"]),
        names=tuple(dict.fromkeys(names)),
    )


def default_refusal_log() -> Path:
    """refusals.jsonl in the folder of the default cameo registry."""
    from worldsim.provenance.registry import default_registry_path

    return default_registry_path().parent / REFUSALS_FILE


def log_refusal(prompt: str, refusal: Refusal, path: str | os.PathLike | None = None) -> Path:
    """Append {"time", "prompt", "rule"} as one JSON line (no clip, no media); the log's path.

    One write() of a whole line to a file opened for appending: lines from concurrent
    processes do not interleave.
    """
    path = Path(path) if path is not None else default_refusal_log()
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "time": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "prompt": prompt,
        "rule": refusal.rule,
    }
    line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)
    return path
