"""pyright and basedpyright (so Pylance too) report nothing on valid ``NT[...]`` code.

They read ``NT`` as ``typing.Annotated``: ``NT[Tensor, "B T", Elem]`` is a plain ``Tensor`` and the strings are
metadata, not forward references. Checked over the example modules (``modules/``) and
``tests/pyright_cases/valid_annotations.py``, which spells every form of the annotation. mypy with the plugin keeps
seeing the class its hooks read (tests/test_mypy_plugin.py).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "tests" / "pyright_cases" / "valid_annotations.py"

#: Reports that are not about neural types, by file and rule: pyright types a module's ``__doc__`` as
#: ``str | None`` where mypy takes ``str``.
UNRELATED = {("modules/demo.py", "reportOptionalMemberAccess")}


def _diagnostics(checker: str, tmp_path: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    if importlib.util.find_spec(checker) is None:
        pytest.skip(f"{checker} is not installed (basedpyright comes with the dev extra)")
    # The files on the command line: pyright ignores absolute paths in the config's "include".
    config = {
        "extraPaths": [str(ROOT)],  # whatever the install: the source tree is what is checked
        "pythonVersion": "3.11",
        "typeCheckingMode": "standard",
    }
    (tmp_path / "pyrightconfig.json").write_text(json.dumps(config))
    done = subprocess.run(
        [sys.executable, "-m", checker, "--outputjson", "--pythonpath", sys.executable, ROOT / "modules", SAMPLE],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.stdout.strip(), done.stderr
    report = json.loads(done.stdout)
    return report["generalDiagnostics"], report["summary"]


def _where(diagnostic: dict[str, Any]) -> str:
    path = Path(diagnostic["file"]).relative_to(ROOT).as_posix()
    return f"{path}:{diagnostic['range']['start']['line'] + 1}: {diagnostic['message']} ({diagnostic.get('rule')})"


@pytest.mark.parametrize("checker", ["basedpyright", "pyright"])
def test_valid_nt_code_gets_no_report(checker: str, tmp_path: Path) -> None:
    diagnostics, summary = _diagnostics(checker, tmp_path)
    assert summary["filesAnalyzed"] >= len(list((ROOT / "modules").rglob("*.py")))
    reported = [
        _where(diagnostic)
        for diagnostic in diagnostics
        if (Path(diagnostic["file"]).relative_to(ROOT).as_posix(), diagnostic.get("rule")) not in UNRELATED
    ]
    assert reported == []
