"""The mypy plugin's behaviour, case by case: each file under tests/mypy/cases states what mypy must report.

All cases are checked in one mypy run with the plugin (and the plain-mypy cases in one run without it),
sharing a cache across test sessions; see tests/mypy/_harness.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "mypy"))
from _harness import HERE, Report, difference, expected_reports, run_mypy

pytestmark = pytest.mark.slow

PLUGIN_CASES = sorted((HERE / "cases").glob("case_*.py"))
PLAIN_CASES = sorted((HERE / "without_plugin").glob("case_*.py"))
REALISTIC = sorted((HERE / "realistic").glob("*.py"))


@pytest.fixture(scope="module")
def with_plugin() -> dict[Path, list[Report]]:
    return run_mypy("with-plugin.ini", PLUGIN_CASES + REALISTIC, "with-plugin")


@pytest.fixture(scope="module")
def without_plugin() -> dict[Path, list[Report]]:
    return run_mypy("without-plugin.ini", PLAIN_CASES + REALISTIC, "without-plugin")


@pytest.mark.parametrize("case", PLUGIN_CASES, ids=lambda p: p.stem)
def test_case_reports_exactly_what_it_states(case: Path, with_plugin: dict[Path, list[Report]]) -> None:
    assert difference(expected_reports(case), with_plugin[case.resolve()]) == ""


@pytest.mark.parametrize("case", PLAIN_CASES, ids=lambda p: p.stem)
def test_plain_mypy_sees_plain_tensors(case: Path, without_plugin: dict[Path, list[Report]]) -> None:
    assert difference(expected_reports(case), without_plugin[case.resolve()]) == ""


@pytest.mark.parametrize("code", REALISTIC, ids=lambda p: p.stem)
def test_plugin_adds_no_errors_to_code_without_neural_types(
    code: Path, with_plugin: dict[Path, list[Report]], without_plugin: dict[Path, list[Report]]
) -> None:
    plain = without_plugin[code.resolve()]
    assert plain, "the comparison needs mypy to report something on this file under --strict"
    added = [report for report in map(_spelled_plainly, with_plugin[code.resolve()]) if report not in plain]
    assert added == []


def _spelled_plainly(report: Report) -> Report:
    """The plugin prints an unknown tensor as ``Tensor[Any, Any]``; plain mypy prints ``Tensor``."""
    return Report(report.line, report.severity, report.message.replace("Tensor[Any, Any]", "Tensor"))
