"""The plugin with mypy's incremental cache and with the mypy daemon: edits are seen, cached runs agree."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "mypy"))
from _harness import CACHE, HERE, Report, run_mypy

pytestmark = pytest.mark.slow

DEFINITIONS = """\
from torch import Tensor
from neuraltypes.core import NT, EncodedRepresentation

Features = NT[Tensor, "{axes}", EncodedRepresentation]


def encode(x: Features) -> None: ...
"""
USES = """\
from torch import Tensor
from neuraltypes.core import NT, EncodedRepresentation
from incremental_definitions import encode


def run(x: NT[Tensor, "B T C", EncodedRepresentation]) -> None:
    encode(x)
"""
TRANSPOSED = Report(
    7,
    "E",
    'Argument "x" to "encode" has incompatible neural type NT[Tensor, "B T C", EncodedRepresentation]; '
    'expected NT[Tensor, "B C T", EncodedRepresentation] (axes transposed)  [neural-type-argument]',
)


def write_project(folder: Path, axes: str) -> list[Path]:
    definitions, uses = folder / "incremental_definitions.py", folder / "incremental_uses.py"
    for path, text in ((definitions, DEFINITIONS.format(axes=axes)), (uses, USES)):
        before = path.stat().st_mtime if path.exists() else 0.0
        path.write_text(text)
        # mypy takes a file of the same size and the same whole-second mtime as unchanged; an edit of the axes
        # keeps the size, and a fast run rewrites the file within the second: move its mtime on, as an editor would.
        later = max(path.stat().st_mtime, before + 1.0)
        os.utime(path, (later, later))
    return [definitions, uses]


def test_an_alias_edited_in_one_module_is_seen_by_its_users_through_the_cache(tmp_path: Path) -> None:
    files = write_project(tmp_path, "B T C")
    assert run_mypy("with-plugin.ini", files, "with-plugin")[files[1]] == []
    write_project(tmp_path, "B C T")
    assert run_mypy("with-plugin.ini", files, "with-plugin")[files[1]] == [TRANSPOSED]
    assert run_mypy("with-plugin.ini", files, "with-plugin")[files[1]] == [TRANSPOSED]
    write_project(tmp_path, "B T C")
    assert run_mypy("with-plugin.ini", files, "with-plugin")[files[1]] == []


def test_the_daemon_rechecks_an_edit_with_the_plugin(tmp_path: Path) -> None:
    files = write_project(tmp_path, "B T C")
    status_file = tmp_path / "dmypy.json"
    dmypy = [sys.executable, "-m", "mypy.dmypy", "--status-file", str(status_file)]
    cache = ["--cache-dir", str(CACHE / "with-plugin")]
    # The daemon starts from the shared (coarse) cache: with --use-fine-grained-cache, mypy 2.4's daemon reports
    # the strict-mode errors of typed site-packages (beartype ...) that the package's imports bring in.
    options = ["--config-file", str(HERE / "with-plugin.ini"), *cache]
    env = {**os.environ, "MYPYPATH": str(HERE.parent.parent)}

    def check() -> str:
        done = subprocess.run(
            [*dmypy, "run", "--", *options, *map(str, files)], capture_output=True, text=True, env=env, timeout=600
        )
        return done.stdout

    run_mypy("with-plugin.ini", files, "with-plugin")  # the daemon loads this run's cache
    try:
        assert "Success" in check()
        write_project(tmp_path, "B C T")
        report = check()
        assert f"incremental_uses.py:7: error: {TRANSPOSED.message}" in report
        write_project(tmp_path, "B T C")  # the plugin keeps what it read of a signature: an edit must replace it
        assert "Success" in check()
    finally:
        subprocess.run([*dmypy, "stop"], capture_output=True, env=env, timeout=60)
