"""The caption grammar's every sentence: what the benchmark can prompt a model with.

Uses the session's real simulated clips (`data_dir`), not a synthetic build: their captions
must all be sentences the grammar enumerates.
"""

from __future__ import annotations

import json

from data_pipelines.tokenizer import Tokenizer, caption_report, ensure_tokenizer


def test_the_report_bounds_every_prompt_the_benchmark_can_write(data_dir, tmp_path):
    """The benchmark's prompts are the caption grammar's sentences for scenes the training
    set never had: the report measures the grammar's longest, so a window sized from it
    takes any prompt whole (a 20-clip window once failed a 98-token benchmark prompt)."""
    from data_pipelines.catalog import split_names
    from data_pipelines.tokenizer import _captions, benchmark_prompts
    from worldsim.bench.export import export_cases

    tokenizer = Tokenizer.load(ensure_tokenizer(data_dir))  # simulated clips' real captions
    prompts = set(benchmark_prompts())
    every = [c for split in split_names(data_dir) for c in _captions(data_dir, split)]
    assert set(every) <= prompts  # the grammar's enumeration reaches each caption written
    report = caption_report(data_dir)
    assert report["longest_prompt_tokens"] == max(tokenizer.lengths(sorted(prompts)))
    assert report["longest_prompt_tokens"] > report["longest_caption_tokens"]
    # the benchmark's prompts, conflict captions (an asserted outcome) included
    _, truth = export_cases(tmp_path / "cases", num_cases=6, seed=3, progress=False)
    cases = json.loads(truth.read_text())["cases"]
    assert any(c["conflict"] for c in cases)
    assert {c["caption"] for c in cases} <= prompts
