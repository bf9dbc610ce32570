"""Every command a user can run answers ``--help`` and ``-h`` with its usage, exit status 0, and does nothing else."""

from __future__ import annotations

import importlib
import runpy
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: ``python -m`` entry points, with a phrase their usage must show.
MODULES = {
    "neuraltypes_modules.train": "usage: python -m neuraltypes_modules.train",
    "neuraltypes_modules.demo": "usage: python -m neuraltypes_modules.demo",
    "neuraltypes_modules.check_wiring": "usage: python -m neuraltypes_modules.check_wiring",
    "neuraltypes_modules.restore_check": "usage: python -m neuraltypes_modules.restore_check",
    "neuraltypes.archive": "usage: python -m neuraltypes.archive",
}


def _console_scripts() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    scripts: dict[str, str] = project.get("scripts", {})
    return scripts


def _exit_status(run: object) -> int:
    try:
        returned = run() if callable(run) else None
    except SystemExit as leaving:
        return 0 if leaving.code is None else int(leaving.code)  # type: ignore[arg-type]
    return int(returned) if isinstance(returned, int) else 0


@pytest.mark.parametrize("flag", ["--help", "-h"])
@pytest.mark.parametrize("module", sorted(MODULES))
def test_python_dash_m_prints_usage_and_exits_0(
    module: str, flag: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", [module, flag])
    status = _exit_status(lambda: runpy.run_module(module, run_name="__main__", alter_sys=False))
    shown = capsys.readouterr()
    assert status == 0, shown.err
    assert shown.out.startswith(MODULES[module]), shown.out[:500]


@pytest.mark.parametrize("flag", ["--help", "-h"])
@pytest.mark.parametrize("script", sorted(_console_scripts()))
def test_console_scripts_print_usage_and_exit_0(
    script: str, flag: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    module, _, function = _console_scripts()[script].partition(":")
    entry = getattr(importlib.import_module(module), function)
    monkeypatch.setattr(sys, "argv", [script, flag])
    status = _exit_status(entry)
    shown = capsys.readouterr()
    assert status == 0, shown.err
    assert shown.out.startswith("usage: "), shown.out[:500]


def test_there_is_a_console_script_to_check() -> None:
    assert _console_scripts(), "pyproject.toml declares no console scripts: drop the console-script test"
