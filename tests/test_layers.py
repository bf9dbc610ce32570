"""Layers import downwards only, and the plugin and the core never import torch."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Each layer and the layers it may import (its own included).
ALLOWED: dict[str, set[str]] = {
    "core": {"core"},
    "runtime": {"core", "runtime"},
    "optim": {"optim"},  # torch alone: NeMo's schedulers and optimizer names
    "config": {"core", "runtime", "config"},
    "archive": {"core", "runtime", "config", "archive"},
    "nn": {"core", "runtime", "config", "archive", "nn"},
    "export": {"core", "runtime", "config", "archive", "nn", "export"},
    "models": {"core", "runtime", "config", "archive", "nn", "optim", "models"},
}


def _imports(path: Path, package: tuple[str, ...]) -> set[str]:
    """Absolute dotted names imported by a module; relative imports are resolved against its package."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = list(package[: len(package) - node.level + 1]) if node.level else []
            module = ".".join([*base, node.module] if node.module else base)
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def _modules(top: str) -> list[tuple[Path, tuple[str, ...]]]:
    found = []
    for path in sorted((ROOT / top).rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        found.append((path, parts[:-1]))
    return found


def test_the_import_scan_resolves_relative_imports(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("from ..core import NT\nfrom . import _x\nimport torch.nn\n")
    assert _imports(module, ("neuraltypes", "nn")) == {
        "neuraltypes.core",
        "neuraltypes.core.NT",
        "neuraltypes.nn",
        "neuraltypes.nn._x",
        "torch.nn",
    }


# Imports up a floor, made inside one function when it is called, on purpose: NeMo's `NeuralModule.export`
# and `neuraltypes-archive export` hand over to the exporter, which reads the ports of any module.
CALL_TIME_IMPORTS = {("neuraltypes/nn/_module.py", "export"), ("neuraltypes/archive/_cli.py", "export")}


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_layer_imports_only_lower_layers(layer: str) -> None:
    wrong = []
    for path, package in _modules(f"neuraltypes/{layer}"):
        where = str(path.relative_to(ROOT))
        for name in _imports(path, package):
            parts = name.split(".")
            upward = len(parts) > 1 and parts[1] in ALLOWED and parts[1] not in ALLOWED[layer]
            if parts[0] == "neuraltypes" and upward and (where, parts[1]) not in CALL_TIME_IMPORTS:
                wrong.append(f"{where} imports {name}")
    assert wrong == []


def test_no_layer_takes_a_name_from_the_facade() -> None:
    """``neuraltypes/__init__`` is the top floor: the layers (and the plugin) take names from their own modules."""
    wrong = []
    for top in ("neuraltypes", "neuraltypes_mypy_plugin"):
        for path, package in _modules(top):
            if path == ROOT / "neuraltypes" / "__init__.py":
                continue
            for name in _imports(path, package):
                parts = name.split(".")
                if parts[0] == "neuraltypes" and len(parts) == 2 and not (ROOT / "neuraltypes" / parts[1]).is_dir():
                    wrong.append(f"{path.relative_to(ROOT)} imports {name}")
    assert wrong == []


@pytest.mark.parametrize(("path", "layer"), sorted(CALL_TIME_IMPORTS))
def test_the_imports_up_a_floor_are_made_at_call_time_only(path: str, layer: str) -> None:
    tree = ast.parse((ROOT / path).read_text())
    module_level = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    assert not any(
        f".{layer}" in ast.unparse(node) or f"neuraltypes.{layer}" in ast.unparse(node) for node in module_level
    )


@pytest.mark.parametrize("top", ["neuraltypes/core", "neuraltypes_mypy_plugin"])
def test_torch_free_parts_never_import_torch(top: str) -> None:
    offenders = []
    for path, package in _modules(top):
        for name in _imports(path, package):
            if name.split(".")[0] in {"torch", "lightning", "safetensors"} or (
                top == "neuraltypes_mypy_plugin" and name.startswith("neuraltypes.") and name.split(".")[1] != "core"
            ):
                offenders.append(f"{path.relative_to(ROOT)} imports {name}")
    assert offenders == []


def test_lightning_is_imported_only_by_the_model_layer() -> None:
    offenders = []
    for path, package in _modules("neuraltypes"):
        if "models" in package:
            continue
        offenders += [f"{path.relative_to(ROOT)}: {n}" for n in _imports(path, package) if n.startswith("lightning")]
    assert offenders == []


@pytest.mark.parametrize("top", ["neuraltypes", "neuraltypes_mypy_plugin"])
def test_one_import_style_another_layer_by_its_full_name_a_sibling_relatively(top: str) -> None:
    """``from neuraltypes.core import X`` for another layer, ``from ._x import Y`` within one: never
    ``from ..core import X``, so that a module's imports say which layer they reach at a glance."""
    reaching = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path, _ in _modules(top)
        for node in ast.walk(ast.parse(path.read_text(), str(path)))
        if isinstance(node, ast.ImportFrom) and node.level > 1
    ]
    assert reaching == []
