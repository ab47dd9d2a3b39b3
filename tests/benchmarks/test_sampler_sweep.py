"""benchmarks/sampler_sweep.py: its settings parse; a setting it cannot run is refused."""

from __future__ import annotations

import pytest

from benchmarks import sampler_sweep


def test_a_setting_names_solver_steps_and_cfg():
    assert sampler_sweep.parse_setting("solver=euler,steps=8,cfg=1.5") == {
        "solver": "euler",
        "steps": 8,
        "cfg": 1.5,
        "shift": 1.0,
    }
    assert sampler_sweep.parse_setting("cfg=1.0,shift=3") == {
        "solver": "heun",
        "steps": 20,
        "cfg": 1.0,
        "shift": 3.0,
    }


@pytest.mark.parametrize("bad", ["guidance=3", "steps", "steps=many"])
def test_a_setting_it_cannot_run_is_refused(bad):
    with pytest.raises((SystemExit, ValueError)):
        sampler_sweep.parse_setting(bad)


def test_missing_cases_are_refused_before_any_work(tmp_path):
    with pytest.raises(SystemExit, match="manifest.json is missing"):
        sampler_sweep.main(["--workdir", str(tmp_path), "--cases", str(tmp_path / "cases")])


def test_settings_that_differ_anywhere_get_their_own_folders():
    base = sampler_sweep.parse_setting("cfg=3.0")
    others = [sampler_sweep.parse_setting(t) for t in ("cfg=1.0", "cfg=3.0,shift=3", "steps=8")]
    names = {sampler_sweep.setting_name(s, True) for s in [base, *others]}
    names.add(sampler_sweep.setting_name(base, False))
    assert len(names) == 5
