"""Hydra-style command-line overrides for scripts: ``python train.py model.hidden=512 +trainer.seed=1``."""

from __future__ import annotations

import copy
import dataclasses
import os
import sys
from collections.abc import Sequence
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override
from hydra.errors import OverrideParseException
from omegaconf import DictConfig, ListConfig, OmegaConf, open_dict
from omegaconf.errors import OmegaConfBaseException

from ._errors import ConfigOverrideError
from ._interpolation import detached_container

__all__ = ["apply_overrides", "config_from_cli"]


def _parse(overrides: Sequence[str]) -> list[Override]:
    try:
        parsed = OverridesParser.create().parse_overrides(list(overrides))
    except OverrideParseException as error:
        raise ConfigOverrideError(f"cannot parse override: {error}") from None
    for override in parsed:
        if override.is_sweep_override():
            raise ConfigOverrideError(f"override {override.input_line!r} is a sweep, which needs Hydra's --multirun")
        if override.package is not None:
            raise ConfigOverrideError(f"override {override.input_line!r} names a config group package (@)")
    return parsed


def _exists(config: DictConfig, key: str) -> bool:
    """Whether ``key`` is in the config, without evaluating any interpolation on the way."""
    node: Any = config
    for part in key.split("."):
        if isinstance(node, DictConfig) and part in node.keys():  # noqa: SIM118 (keys() does not resolve values)
            node = node._get_node(part)
        elif isinstance(node, ListConfig) and part.isdigit() and int(part) < len(node):
            node = node._get_node(int(part))
        else:
            return False
    return True


def _delete(config: DictConfig, override: Override) -> None:
    key = override.key_or_group
    if not _exists(config, key):
        raise ConfigOverrideError(f"cannot apply {override.input_line!r}: there is no {key!r} to delete")
    expected = override.value()
    current = OmegaConf.select(config, key, throw_on_missing=False) if expected is not None else None
    if expected is not None and expected != current:
        raise ConfigOverrideError(f"cannot apply {override.input_line!r}: {key!r} is {current!r}, not {expected!r}")
    parent_key, _, last = key.rpartition(".")
    parent = OmegaConf.select(config, parent_key) if parent_key else config
    with open_dict(config):
        del parent[last]


def _apply(config: DictConfig, override: Override) -> None:
    key, value, line = override.key_or_group, override.value(), override.input_line
    if override.is_delete():
        _delete(config, override)
    elif override.is_force_add():
        with open_dict(config):
            OmegaConf.update(config, key, value, merge=True, force_add=True)
    elif override.is_add():
        if _exists(config, key):
            raise ConfigOverrideError(
                f"cannot apply {line!r}: {key!r} already exists; drop the '+' to change it, or write '+{line}'"
            )
        with open_dict(config):
            OmegaConf.update(config, key, value, merge=True, force_add=True)
    else:
        if not _exists(config, key):
            raise ConfigOverrideError(
                f"cannot apply {line!r}: the config has no key {key!r} (to add one, write '+{line}')"
            )
        with open_dict(config):
            OmegaConf.update(config, key, value, merge=True)


def _copy_of(config: object) -> object:
    """A copy to edit; structured configs stay structured, so their field types still validate."""
    if dataclasses.is_dataclass(config):
        return OmegaConf.structured(config)
    if isinstance(config, DictConfig) and config._get_parent() is None:
        return copy.deepcopy(config)
    return OmegaConf.create(detached_container(config))


def apply_overrides(config: object, overrides: Sequence[str]) -> DictConfig:
    """A copy of ``config`` with Hydra override syntax applied, in order.

    ``key=value`` changes an existing key (a misspelt key is an error), ``+key=value`` adds a new one,
    ``++key=value`` adds or changes, ``~key`` (or ``~key=value``) deletes. Values use Hydra's grammar: ``512``
    is an int, ``1e-3`` a float, ``null`` None, ``[1,2]`` a list, ``{a:1}`` a mapping (merged into a mapping).

    Raises:
        ConfigOverrideError: an override that does not parse or cannot apply, naming it.
    """
    parsed = _parse(overrides)
    result = _copy_of(config)
    if not isinstance(result, DictConfig):
        raise TypeError("overrides apply to a mapping config, not a list")
    for override in parsed:
        try:
            _apply(result, override)
        except OmegaConfBaseException as error:
            raise ConfigOverrideError(f"cannot apply {override.input_line!r}: {error}") from None
    return result


def config_from_cli(config: object, argv: Sequence[str] | None = None) -> DictConfig:
    """The script's config: ``config`` (a YAML path, mapping or dataclass) with overrides from the command line.

    Args:
        config: the defaults: a path to a YAML file, or anything :func:`apply_overrides` accepts.
        argv: the overrides; ``sys.argv[1:]`` when not given.
    """
    if isinstance(config, str | os.PathLike):
        config = OmegaConf.load(os.fspath(config))
    return apply_overrides(config, sys.argv[1:] if argv is None else argv)
