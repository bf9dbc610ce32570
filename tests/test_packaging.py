"""The package list in pyproject.toml covers every package in the tree (it is written by hand)."""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _packages_on_disk() -> set[str]:
    found: set[str] = set()
    for top, installed_as in (("neuraltypes", "neuraltypes"), ("neuraltypes_mypy_plugin", "neuraltypes_mypy_plugin"),
                              ("modules", "neuraltypes_modules")):  # fmt: skip
        for init in (ROOT / top).rglob("__init__.py"):
            relative = init.parent.relative_to(ROOT / top)
            found.add(".".join((installed_as, *relative.parts)))
    return found


def test_every_package_is_listed_in_pyproject() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert set(config["tool"]["setuptools"]["packages"]) == _packages_on_disk()


def test_typed_markers_ship() -> None:
    assert (ROOT / "neuraltypes" / "py.typed").is_file()
    assert (ROOT / "neuraltypes_mypy_plugin" / "py.typed").is_file()
