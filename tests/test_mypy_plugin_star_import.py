"""``from neuraltypes import *``: mypy sees every name that Python imports, the lazily imported ones included."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "mypy"))
from _harness import REPO, run_mypy


def test_the_package_exports_the_core_names_and_the_lazy_ones() -> None:
    import neuraltypes
    import neuraltypes.core

    assert sorted(neuraltypes.__all__) == sorted({*neuraltypes.core.__all__, *neuraltypes._LAZY, "__version__"})


def test_extending_the_package_names_leaves_the_core_names_as_they_are() -> None:
    import neuraltypes
    import neuraltypes.core

    assert neuraltypes.__all__ is not neuraltypes.core.__all__
    assert not set(neuraltypes._LAZY) & set(neuraltypes.core.__all__)


@pytest.mark.slow
def test_mypy_sees_every_public_name_through_a_star_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import neuraltypes

    uses = tmp_path / "star_import_uses.py"
    uses.write_text("from neuraltypes import *\n\n" + "".join(f"{name}\n" for name in neuraltypes.__all__))
    monkeypatch.setenv("MYPYPATH", str(REPO))
    reports = run_mypy("with-plugin.ini", [uses], "with-plugin")
    assert [str(report) for report in reports[uses.resolve()]] == []
