"""The package list in pyproject.toml covers every package in the tree (it is written by hand); what importing costs;
the one version."""

import importlib.metadata
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _packages_on_disk() -> set[str]:
    found: set[str] = set()
    for top, installed_as in (("neuraltypes", "neuraltypes"), ("neuraltypes_mypy_plugin", "neuraltypes_mypy_plugin"),
                              ("modules", "neuraltypes_modules")):  # fmt: skip
        for init in (ROOT / top).rglob("__init__.py"):
            relative = init.parent.relative_to(ROOT / top)
            found.add(".".join((installed_as, *relative.parts)))
    rules = ROOT / "stubs" / "neuraltypes_rules"
    for folder in [rules, *(p for p in rules.rglob("*") if p.is_dir())]:
        found.add(".".join(("neuraltypes_mypy_plugin", "rules", *folder.relative_to(rules).parts)))
    return found


def test_every_package_is_listed_in_pyproject() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert set(config["tool"]["setuptools"]["packages"]) == _packages_on_disk()


def test_typed_markers_ship() -> None:
    assert (ROOT / "neuraltypes" / "py.typed").is_file()
    assert (ROOT / "neuraltypes_mypy_plugin" / "py.typed").is_file()


def test_every_lazy_export_resolves_to_the_layers_object() -> None:
    import importlib

    import neuraltypes

    for name, module in neuraltypes._LAZY.items():
        assert getattr(neuraltypes, name) is getattr(importlib.import_module(module, "neuraltypes"), name)
    assert set(neuraltypes._LAZY) <= set(neuraltypes.__all__)


def test_unknown_attribute_is_an_attribute_error() -> None:
    import neuraltypes

    with pytest.raises(AttributeError, match="module 'neuraltypes' has no attribute 'nope'"):
        neuraltypes.nope  # noqa: B018


def test_importing_the_package_imports_neither_torch_nor_lightning() -> None:
    code = "import sys, neuraltypes; print('torch' in sys.modules, 'lightning' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]


def test_the_run_time_layer_imports_torch_but_not_lightning() -> None:
    code = (
        "import sys, neuraltypes; neuraltypes.typecheck; "
        "print('torch' in sys.modules, 'lightning' in sys.modules); "
        "import neuraltypes.core; print(neuraltypes.NeuralTypeError is neuraltypes.runtime.NeuralTypeError)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["True", "False", "True"]


def test_the_version_is_the_installed_distributions_everywhere() -> None:
    import neuraltypes
    import neuraltypes_mypy_plugin

    installed = importlib.metadata.version("neuraltypes")
    assert neuraltypes.__version__ == neuraltypes.core.__version__ == neuraltypes_mypy_plugin.__version__ == installed
    assert installed == tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def test_a_source_tree_without_metadata_says_its_version_is_unknown() -> None:
    from neuraltypes.core._version import installed_version

    assert installed_version("neuraltypes-not-installed") == "0+unknown"
