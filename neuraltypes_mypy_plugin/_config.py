"""Where the plugin's rules are: shipped with it, and the extra rule directories of the mypy config file.

``mypy.ini`` / ``setup.cfg``::

    [neuraltypes_mypy_plugin]
    rules = typing_rules, vendor/rules

``pyproject.toml``::

    [tool.neuraltypes_mypy_plugin]
    rules = ["typing_rules"]

Paths are relative to the config file. Rules there override the shipped ones for the same operation.

``rebinding = false`` keeps mypy's rule that a variable keeps the type of its first assignment; by default the
plugin lets a variable be rebound to another neural type in the same block (``x = x.transpose(1, 2)``), as
mypy's ``allow_redefinition_old`` does, since model code rebinds ``x`` at every layer.
"""

from __future__ import annotations

import configparser
import tomllib
from collections.abc import Iterable
from pathlib import Path

SECTION = "neuraltypes_mypy_plugin"


def default_rule_dirs() -> tuple[Path, ...]:
    """The rules shipped with the plugin: ``rules/`` inside the package (a wheel) or, in a source checkout,
    ``stubs/neuraltypes_rules/`` (a folder of its own, so that ``stubs/`` on mypy's path never makes
    ``torch.pyi`` here look like torch's stub)."""
    here = Path(__file__).resolve().parent
    candidates = (here / "rules", here.parent / "stubs" / "neuraltypes_rules")
    return tuple(path for path in candidates if path.is_dir())


def rule_files(directories: Iterable[Path]) -> tuple[Path, ...]:
    return tuple(sorted(path for directory in directories for path in directory.rglob("*.pyi")))


class PluginConfigError(ValueError):
    """A setting of the plugin that cannot be used: names the file and the setting."""


def user_rule_dirs(config_file: str | None) -> tuple[Path, ...]:
    """The rule directories the config file lists, resolved; () without a config file or setting.

    Raises:
        PluginConfigError: a listed directory that does not exist.
    """
    if config_file is None:
        return ()
    path = Path(config_file)
    entries = _toml_entries(path) if path.suffix == ".toml" else _ini_entries(path)
    directories = tuple((path.parent / entry).resolve() for entry in entries)
    for directory in directories:
        if not directory.is_dir():
            raise PluginConfigError(f"{path}: [{SECTION}] rules: {directory} is not a directory")
    return directories


def _toml_entries(path: Path) -> list[str]:
    with path.open("rb") as file:
        section = tomllib.load(file).get("tool", {}).get(SECTION, {})
    rules = section.get("rules", [])
    if isinstance(rules, str):
        rules = [rules]
    if not isinstance(rules, list) or not all(isinstance(entry, str) for entry in rules):
        raise PluginConfigError(f"{path}: [tool.{SECTION}] rules must be a list of directory names")
    return rules


def _ini_entries(path: Path) -> list[str]:
    parser = configparser.ConfigParser()
    parser.read(path)
    if not parser.has_option(SECTION, "rules"):
        return []
    return [entry.strip() for entry in parser.get(SECTION, "rules").split(",") if entry.strip()]


def rebinding_allowed(config_file: str | None) -> bool:
    """Whether variables may be rebound to another neural type (the ``rebinding`` setting; true by default).

    Raises:
        PluginConfigError: a value that is not a boolean.
    """
    if config_file is None:
        return True
    path = Path(config_file)
    if path.suffix == ".toml":
        with path.open("rb") as file:
            value = tomllib.load(file).get("tool", {}).get(SECTION, {}).get("rebinding", True)
        if not isinstance(value, bool):
            raise PluginConfigError(f"{path}: [tool.{SECTION}] rebinding must be true or false, not {value!r}")
        return value
    parser = configparser.ConfigParser()
    parser.read(path)
    if not parser.has_option(SECTION, "rebinding"):
        return True
    try:
        return parser.getboolean(SECTION, "rebinding")
    except ValueError:
        raise PluginConfigError(
            f"{path}: [{SECTION}] rebinding must be true or false, not {parser.get(SECTION, 'rebinding')!r}"
        ) from None
