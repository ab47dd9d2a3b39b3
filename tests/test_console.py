"""Progress off a terminal: plain whole lines, few of them, the last one with the total."""

from __future__ import annotations

import io

import pytest

from worldsim import console
from worldsim.console import PlainProgress, progress


class FakeClock:
    def __init__(self):
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def assert_plain(text: str) -> None:
    assert "\r" not in text and "\x1b" not in text, repr(text)
    assert text.endswith("\n")


def test_iterating_prints_about_ten_lines_and_the_total():
    out = io.StringIO()
    items = list(progress(range(1000), desc="score", unit="clips", file=out))
    assert items == list(range(1000))
    text = out.getvalue()
    assert_plain(text)
    lines = text.splitlines()
    assert 9 <= len(lines) <= 11, lines
    assert lines[-1].startswith("score: 1000/1000 clips (100%) ")
    assert lines[-1].endswith(" s elapsed")
    assert lines[0].startswith("score: 100/1000 clips (10%)")


def test_manual_updates_in_a_context_manager():
    out = io.StringIO()
    with progress(total=40, desc="generate", unit="windows", file=out) as bar:
        for _ in range(12):
            bar.update(1)
        bar.set_postfix(loss=0.123456, step=3)
        bar.update(28)
    text = out.getvalue()
    assert_plain(text)
    assert text.splitlines()[-1].startswith("generate: 40/40 windows (100%)")
    assert text.splitlines()[-1].endswith(", loss=0.1235, step=3")
    assert text.count("40/40") == 1  # close() does not repeat the final line


def test_slow_work_prints_every_30_s_and_unknown_total_counts():
    out, clock = io.StringIO(), FakeClock()
    bar = PlainProgress(desc="read", unit="videos", file=out, clock=clock)
    for _ in range(3):
        bar.update(1)  # fast: no line yet (no total, under 30 s)
    assert out.getvalue() == ""
    clock.t = console.PLAIN_EVERY_S + 1
    bar.update(1)  # 31 s since the last line
    bar.update(1)  # quiet again
    clock.t += 1
    bar.close()
    bar.close()  # once only
    assert out.getvalue().splitlines() == [
        "read: 4 videos 31.0 s elapsed",
        "read: 5 videos 32.0 s elapsed",
    ]


def test_close_prints_the_final_count_after_a_quiet_stretch():
    out, clock = io.StringIO(), FakeClock()
    bar = PlainProgress(total=1000, desc="x", file=out, clock=clock)
    bar.update(150)  # 15%: a line
    bar.update(10)  # 16%: quiet
    clock.t = 2.5
    bar.close()
    assert out.getvalue().splitlines() == [
        "x: 150/1000 it (15%) 0.0 s elapsed",
        "x: 160/1000 it (16%) 2.5 s elapsed",
    ]


def test_empty_work_still_says_so():
    out = io.StringIO()
    list(progress([], desc="none", unit="clips", file=out))
    assert out.getvalue() == "none: 0 clips 0.0 s elapsed\n"


def test_disable_prints_nothing():
    out = io.StringIO()
    assert list(progress(range(5), file=out, disable=True)) == list(range(5))
    assert out.getvalue() == ""


def test_a_terminal_gets_tqdm():
    tqdm = pytest.importorskip("tqdm").tqdm
    bar = progress(range(3), desc="t", file=Terminal())
    assert isinstance(bar, tqdm)
    bar.close()
    assert isinstance(progress(range(3), file=io.StringIO()), PlainProgress)
