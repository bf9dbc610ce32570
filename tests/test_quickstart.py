"""``./quickstart.sh`` says what it installs and about how long it takes, before the silent minutes of pip.

Run against a stand-in ``.venv/bin/python`` that records its calls, so nothing is installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

FAKE_PYTHON = """#!/usr/bin/env bash
echo "$*" >> "$(dirname "$0")/calls"
case "$*" in
    "-c import torch") [ -e "$(dirname "$0")/torch" ] ;;
    "-m pip install -q "*torch==*) touch "$(dirname "$0")/torch" ;;
esac
"""


def _project(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "quickstart.sh", tmp_path / "quickstart.sh")
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "python").write_text(FAKE_PYTHON)
    (bin_dir / "python").chmod(0o755)
    return bin_dir


def _demo(tmp_path: Path) -> str:
    done = subprocess.run(
        ["bash", str(tmp_path / "quickstart.sh"), "demo"],
        env={**os.environ, "PYTHON": sys.executable, "TORCH_SPEC": "torch==2.13.0"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_first_run_says_what_it_installs_and_how_long_it_takes(tmp_path: Path) -> None:
    bin_dir = _project(tmp_path)
    out = _demo(tmp_path)
    assert out.startswith(
        "Setting up .venv, once: installing torch==2.13.0 and neuraltypes[dev] (mypy, Lightning, pytest, ruff, "
        "basedpyright).\n"
        "About 1-2 minutes on 2 cores (more if pip must download torch); pip prints nothing meanwhile.\n"
        "  - pip (upgrade)\n"
        "  - torch==2.13.0\n"
        '  - neuraltypes[dev], editable: pip install -e ".[dev]"\n'
        ".venv ready ("
    ), out
    calls = (bin_dir / "calls").read_text().splitlines()
    assert calls == [
        "-c import torch",
        "-m pip install -q --upgrade pip",
        "-m pip install -q torch==2.13.0",
        "-m pip install -q -e .[dev]",
        "-m neuraltypes_modules.demo",
        "-m neuraltypes_modules.check_wiring",
    ]


def test_later_runs_install_nothing_and_say_nothing_until_pyproject_changes(tmp_path: Path) -> None:
    bin_dir = _project(tmp_path)
    _demo(tmp_path)
    (bin_dir / "calls").unlink()
    assert "Setting up" not in _demo(tmp_path)
    assert (bin_dir / "calls").read_text().splitlines() == [
        "-m neuraltypes_modules.demo",
        "-m neuraltypes_modules.check_wiring",
    ]
    with (tmp_path / "pyproject.toml").open("a") as pyproject:
        pyproject.write('version = "2"\n')
    out = _demo(tmp_path)
    assert out.startswith(
        "Updating .venv (pyproject.toml changed): installing neuraltypes[dev], usually under a minute.\n"
    ), out
    assert "torch==" not in out  # torch is there already
