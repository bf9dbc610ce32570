"""The run-time benchmarks still run and print every variant (a few rounds: these are smoke tests, not timings)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def _run(script: str, *arguments: str) -> str:
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *arguments], capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_overhead_benchmark_prints_each_case_and_variant() -> None:
    out = _run("runtime_overhead.py", "--rounds", "3", "--calls", "8")
    for row in (
        "(a) f(x, y)",
        "(b) Linear(32,32)+ReLU",
        "(c)(a) checks disabled",
        "(c)(b) checks disabled",
        "neuraltypes, wrapper",
        "neuraltypes, instrumented",
        "neuraltypes, wrapper, semantic off",
        "neuraltypes, wrapper, output tagged",
        "neuraltypes, NeMo-style class",
        "jaxtyping + beartype",
        "hand-written checks",
        "pass-through wrapper",
        "instrumented vs wrapper",
        "(b) output tagged",
    ):
        assert row in out, row


def test_the_breakdown_benchmark_prints_each_step() -> None:
    out = _run("runtime_breakdown.py", "--rounds", "3")
    for row in ("switch read", "+ argument shape, rank, size", "+ tag reads, both (full check)", "neuraltypes"):
        assert row in out, row
