"""The version ranges pyproject.toml declares for the bridged libraries are the ones .ci/compat.py tests.

A floor is the lowest version tested; a ceiling lies just above the highest (tested 2.4.x: ``<2.5``). Read
without a network or a run: the compat check itself runs in CI (``.ci/run``).
"""

from __future__ import annotations

import importlib.util
import sys
import tomllib
from pathlib import Path
from types import ModuleType

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent


def _compat() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ci_compat", ROOT / ".ci" / "compat.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file runs
    spec.loader.exec_module(module)
    return module


COMPAT = _compat()


def _declared(library: str) -> Requirement:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"].values()
    found = [Requirement(r) for r in [*project["dependencies"], *(r for extra in extras for r in extra)]]
    [requirement] = [r for r in found if r.name == library]
    return requirement


def _bound(requirement: Requirement, operator: str) -> Version:
    [bound] = [Version(s.version) for s in requirement.specifier if s.operator == operator]
    return bound


@pytest.mark.parametrize("library", sorted(COMPAT.TESTED))
def test_the_declared_floor_is_the_lowest_version_tested(library: str) -> None:
    lowest, _ = COMPAT.TESTED[library]
    assert _bound(_declared(library), ">=") == Version(lowest)


@pytest.mark.parametrize("library", sorted(COMPAT.TESTED))
def test_the_declared_ceiling_is_just_above_the_highest_version_tested(library: str) -> None:
    _, highest = COMPAT.TESTED[library]
    major, minor, *_ = Version(highest).release
    assert _bound(_declared(library), "<") == Version(f"{major}.{minor + 1}")


@pytest.mark.parametrize("library", sorted(COMPAT.TESTED))
def test_the_script_reads_the_range_pyproject_declares(library: str) -> None:
    assert set(COMPAT.declared_range(library).split(",")) == {str(s) for s in _declared(library).specifier}


def test_every_bridged_library_has_tests_that_exist() -> None:
    assert set(COMPAT.TESTS) == set(COMPAT.TESTED)
    paths = [arg for args in COMPAT.TESTS.values() for arg in args if arg.endswith(".py")]
    assert paths
    missing = [path for path in paths if not (ROOT / path).is_file()]
    assert missing == []


def test_a_run_whose_bridge_falls_back_where_it_means_not_to_fails() -> None:
    fell_back = COMPAT.Outcome("beartype", "0.23.1", "public, meant private", False, 100, 0, 12.0)
    passed = COMPAT.Outcome("beartype", "0.19.0", "public", True, 100, 0, 12.0)
    assert not fell_back.ok and passed.ok
    assert COMPAT.table([passed, fell_back]).splitlines() == [
        "library   version  bridge                 passed  failed  seconds",
        "beartype  0.19.0   public                 100     0       12",
        "beartype  0.23.1   public, meant private  100     0       12       FAIL",
    ]
