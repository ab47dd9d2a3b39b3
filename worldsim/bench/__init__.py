"""The physics-consistency benchmark: cases from the simulator, scoring of any model's clips.

    worldsim bench export --out CASES --truth-out TRUTH   # CASES for the model, TRUTH apart
    worldsim bench score --cases-dir CASES --truth-dir TRUTH --videos-dir CLIPS --out REPORT
    worldsim bench run --workdir RUN --out REPORT   # export, generate with our model, score

bench/ reads files and imports no model code, so it judges any model's clips. It uses the
physics world (the ground truth) to export cases and to draw baselines and corruptions.
"""

from worldsim.bench.cases import load_case, load_cases, read_manifest, read_truth_manifest
from worldsim.bench.errors import BenchError
from worldsim.bench.export import export_cases
from worldsim.bench.metrics import METRICS, case_metrics
from worldsim.bench.report import write_report
from worldsim.bench.score import SCORED, case_score
from worldsim.bench.scoring import CaseResult, score_arrays, score_file, score_folder
from worldsim.bench.track import Tracks
from worldsim.bench.truth import Case

__all__ = [
    "METRICS",
    "SCORED",
    "BenchError",
    "Case",
    "CaseResult",
    "Tracks",
    "case_metrics",
    "case_score",
    "export_cases",
    "load_case",
    "load_cases",
    "read_manifest",
    "read_truth_manifest",
    "score_arrays",
    "score_file",
    "score_folder",
    "write_report",
]
