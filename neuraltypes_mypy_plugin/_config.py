"""The plugin's own settings, read from the mypy config file: extra rule directories.

``mypy.ini`` / ``setup.cfg``::

    [neuraltypes_mypy_plugin]
    rules = typing_rules, vendor/rules

``pyproject.toml``::

    [tool.neuraltypes_mypy_plugin]
    rules = ["typing_rules"]

Paths are relative to the config file. Rules there override the shipped ones for the same operation.
"""

from __future__ import annotations

import configparser
import tomllib
from pathlib import Path

SECTION = "neuraltypes_mypy_plugin"


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
