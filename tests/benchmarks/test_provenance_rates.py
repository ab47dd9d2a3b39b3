"""benchmarks/provenance_rates.py: it measures one set of clips, named once, before any work.

The measurement itself runs in tests/provenance/ (test_watermark, test_fingerprint) on a few
clips; these checks only parse arguments.
"""

from __future__ import annotations

import pytest

from benchmarks import provenance_rates


def _refusal(capsys, argv: list[str]) -> str:
    with pytest.raises(SystemExit) as exit_info:
        provenance_rates.parse_args(argv)
    assert exit_info.value.code == 2
    return capsys.readouterr().err.strip().splitlines()[-1]


def test_a_dataset_and_simulated_clips_together_are_refused_in_one_line(capsys, tmp_path):
    error = _refusal(capsys, ["--data-dir", str(tmp_path), "--num-clips", "4"])
    assert "--num-clips: not allowed with argument --data-dir" in error


@pytest.mark.parametrize(
    "argv, message",
    [
        ([], "one of the arguments --data-dir --num-clips is required"),
        (["--num-clips", "0"], "--num-clips must be >= 1"),
        (["--data-dir", "no/such/folder"], "--data-dir no/such/folder: no such folder"),
    ],
)
def test_clips_it_cannot_measure_are_refused(capsys, argv, message):
    assert message in _refusal(capsys, argv)


def test_simulated_clips_take_a_seed_and_append_by_default():
    args = provenance_rates.parse_args(["--num-clips", "4", "--seed", "3"])
    assert (args.num_clips, args.seed, args.data_dir, args.no_append) == (4, 3, None, False)
