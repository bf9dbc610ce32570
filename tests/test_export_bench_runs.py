"""The export benchmark still runs and prints every variant (one round: a smoke test, not a timing)."""

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("onnxscript", reason="ONNX export needs the export extra")
pytest.importorskip("onnxruntime", reason="ONNX export needs the export extra")

BENCHMARK = Path(__file__).resolve().parent.parent / "benchmarks" / "export_bench.py"


@pytest.mark.slow
def test_the_export_benchmark_prints_each_case_and_variant() -> None:
    arguments = ["--export-rounds", "1", "--rounds", "2", "--calls", "1"]
    done = subprocess.run([sys.executable, str(BENCHMARK), *arguments], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    for row in (
        "(a) export time",
        "torch.export, Dims by hand",
        "export_program: derived, refined, checked",
        "export_onnx: derived, named, typed, checked",
        "(b) inference, batch 1, 8000 samples",
        "(b) inference, batch 8, 16000 samples",
        "exported program (torch)",
        "onnxruntime",
    ):
        assert row in done.stdout, row
