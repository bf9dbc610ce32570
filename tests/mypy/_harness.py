"""Run mypy once over many case files and compare with their inline expectations (mypy's data-driven style).

A case is a Python file; a line that must be reported ends with ``# E: <message>  [<code>]`` (``# N:`` for a
note); several expectations on one line follow each other. One mypy run checks every case, with one cache
shared by the whole session, because mypy on torch takes ~20 s cold and under a second warm.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import mypy.api

HERE = Path(__file__).parent
REPO = HERE.parent.parent
CACHE = REPO / ".mypy_cache" / "neuraltypes-plugin-tests"

_EXPECTATION = re.compile(r"#\s*([EN]):\s*(.*?)(?=\s+#\s*[EN]:|$)")
_REPORT = re.compile(r"^(?P<path>[^:]+):(?P<line>\d+): (?P<severity>error|note): (?P<message>.*)$")


@dataclass(frozen=True)
class Report:
    """mypy's report for one line: ``12: E: message  [code]``."""

    line: int
    severity: str
    message: str

    def __str__(self) -> str:
        return f"{self.line}: {self.severity}: {self.message}"


def expected_reports(path: Path) -> list[Report]:
    reports = []
    for number, text in enumerate(path.read_text().splitlines(), start=1):
        comment_at = text.find("# E:") if "# E:" in text else text.find("# N:")
        if comment_at < 0:
            continue
        for severity, message in _EXPECTATION.findall(text[comment_at:]):
            reports.append(Report(number, severity, message.strip()))
    return reports


def run_mypy(config: str, files: Sequence[Path], cache_name: str) -> dict[Path, list[Report]]:
    """One mypy run in this process; reports grouped by file (paths resolved)."""
    args = [
        "--config-file",
        str(HERE / config),
        "--cache-dir",
        str(CACHE / cache_name),
        "--no-error-summary",
        "--hide-error-context",
        "--no-pretty",
        "--show-error-codes",
        *map(str, files),
    ]
    stdout, stderr, _status = mypy.api.run(args)
    if stderr.strip():
        raise RuntimeError(f"mypy failed:\n{stderr}")
    by_file: dict[Path, list[Report]] = {Path(f).resolve(): [] for f in files}
    for text in stdout.splitlines():
        match = _REPORT.match(text)
        if match is None:
            raise RuntimeError(f"unexpected mypy output: {text!r}")
        severity = "E" if match["severity"] == "error" else "N"
        by_file.setdefault(Path(match["path"]).resolve(), []).append(
            Report(int(match["line"]), severity, match["message"])
        )
    return by_file


def difference(expected: list[Report], actual: list[Report]) -> str:
    """Empty when equal; otherwise the missing and unexpected reports, one a line."""
    missing = [r for r in expected if r not in actual]
    unexpected = [r for r in actual if r not in expected]
    lines = [f"missing:    {r}" for r in missing] + [f"unexpected: {r}" for r in unexpected]
    return "\n".join(lines)
