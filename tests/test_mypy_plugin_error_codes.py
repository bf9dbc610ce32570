"""Each kind of diagnostic has its own error code, a sub-code of ``neural-type``.

``# type: ignore[neural-type]`` and disabling ``neural-type`` still cover every kind; ``# type: ignore[...]`` and
``disable-error-code`` with a sub-code cover that kind only. One program makes one error of each kind; the
variants below differ in their ignore comments and inline mypy options, and are all checked in one mypy run.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "mypy"))
from _harness import CACHE, Report, run_mypy

pytestmark = pytest.mark.slow

KINDS = ("annotation", "argument", "size", "override", "operation")

PROGRAM = """\
{options}
from torch import Tensor, nn

from neuraltypes.core import NT


def pair(x: NT[Tensor, "B T"], y: NT[Tensor, "B T"]) -> None: ...


class Encoder(nn.Module):
    def forward(self, x: NT[Tensor, "B T D"]) -> NT[Tensor, "B T D"]: ...


class Fixed(Encoder):
    def forward(self, x: NT[Tensor, "B T D:80"]) -> NT[Tensor, "B T D"]: ...{override}


def unreadable(x: NT[Tensor, "B, T"]) -> None: ...{annotation}


def run(a: NT[Tensor, "B:4 T"], b: NT[Tensor, "B:8 T"], c: NT[Tensor, "B T D"]) -> None:
    pair(a, b){size}
    pair(c, c){argument}
    c @ c{operation}
"""

#: The line of each kind's error in PROGRAM.
LINES = {kind: next(n for n, text in enumerate(PROGRAM.splitlines(), 1) if f"{{{kind}}}" in text) for kind in KINDS}

#: The variants: inline mypy options, and the ignore comment put on every error's line.
VARIANTS: dict[str, tuple[str, str]] = {
    "plain": ("", ""),
    "parent_ignored": ("# mypy: warn-unused-ignores=False", "  # type: ignore[neural-type]"),
    "parent_ignored_strictly": ("", "  # type: ignore[neural-type]"),
    "size_ignored": ("# mypy: warn-unused-ignores=False", "  # type: ignore[neural-type-size]"),
    "parent_disabled": ('# mypy: disable-error-code="neural-type"', ""),
    **{f"{kind}_disabled": (f'# mypy: disable-error-code="neural-type-{kind}"', "") for kind in KINDS},
}


@pytest.fixture(scope="module")
def reports() -> dict[str, list[Report]]:
    # A folder of its own next to the cache, the same in every session: mypy replays a cached module's errors
    # under the path it was checked at, so the programs must not move.
    folder = CACHE / "error-code-programs"
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for name, (options, ignore) in VARIANTS.items():
        files[name] = folder / f"error_codes_{name}.py"
        text = PROGRAM.format(options=options, **dict.fromkeys(KINDS, ignore))
        if not files[name].is_file() or files[name].read_text() != text:
            files[name].write_text(text)
    found = run_mypy("with-plugin.ini", list(files.values()), "with-plugin")
    return {name: found[path.resolve()] for name, path in files.items()}


def _codes(reports: list[Report]) -> dict[int, str]:
    """The error code of each line reported (one error a line in these programs; notes left out)."""
    codes = {}
    for report in (report for report in reports if report.severity == "E"):
        match = re.search(r"  \[([a-z-]+)\]$", report.message)
        assert match is not None and report.line not in codes, report
        codes[report.line] = match.group(1)
    return codes


def test_each_kind_of_diagnostic_has_its_own_code(reports: dict[str, list[Report]]) -> None:
    assert _codes(reports["plain"]) == {LINES[kind]: f"neural-type-{kind}" for kind in KINDS}


def test_ignoring_neural_type_silences_every_kind(reports: dict[str, list[Report]]) -> None:
    assert reports["parent_ignored"] == []


def test_under_warn_unused_ignores_mypy_asks_for_the_narrower_code(reports: dict[str, list[Report]]) -> None:
    """mypy's rule for every sub-code (``[assignment]`` covering ``[method-assign]`` too): the error is silenced,
    and ``--warn-unused-ignores`` (part of ``--strict``) names the code to write instead."""
    assert sorted(reports["parent_ignored_strictly"], key=lambda r: r.line) == [
        Report(
            LINES[kind],
            "E",
            f'Unused "type: ignore" comment, use narrower [neural-type-{kind}] instead of [neural-type] code  '
            "[unused-ignore]",
        )
        for kind in sorted(KINDS, key=LINES.__getitem__)
    ]


def test_a_narrow_ignore_silences_its_own_kind_only(reports: dict[str, list[Report]]) -> None:
    assert _codes(reports["size_ignored"]) == {LINES[kind]: f"neural-type-{kind}" for kind in KINDS if kind != "size"}
    assert 'Error code "neural-type-argument" not covered by "type: ignore[neural-type-size]" comment' in {
        report.message for report in reports["size_ignored"] if report.line == LINES["argument"]
    }


@pytest.mark.parametrize("disabled", KINDS)
def test_disabling_a_sub_code_silences_its_kind_only(disabled: str, reports: dict[str, list[Report]]) -> None:
    expected = {LINES[kind]: f"neural-type-{kind}" for kind in KINDS if kind != disabled}
    assert _codes(reports[f"{disabled}_disabled"]) == expected


def test_disabling_neural_type_silences_every_kind(reports: dict[str, list[Report]]) -> None:
    assert reports["parent_disabled"] == []


def test_mypy_knows_the_codes_its_configuration_names(tmp_path: Path) -> None:
    """mypy validates ``--disable-error-code`` right after loading plugins, before any hook loads the checker."""
    (tmp_path / "mypy.ini").write_text("[mypy]\nplugins = neuraltypes_mypy_plugin\n")
    (tmp_path / "plain.py").write_text("x: int = 1\n")
    disabled = [f"--disable-error-code={code}" for code in ("neural-type", *(f"neural-type-{k}" for k in KINDS))]
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", "mypy.ini", *disabled, "plain.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
