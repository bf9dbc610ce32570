"""Hydra-style command-line overrides for scripts: ``python train.py model.hidden=512 +trainer.seed=1``.

Beyond Hydra's grammar, two mistakes are refused rather than stored: a key that nothing reads (a typo such as
``+model.hiden=256`` would be saved with the model and change nothing) and a value of the wrong type
(``model.hidden=abc``). What reads a mapping is its ``_target_`` or the reader the script names for it (see
:mod:`._readers`); a mapping with neither is read by code that checks its own keys (datasets, optimizers), so
its new keys are let through.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override
from hydra.errors import OverrideParseException
from omegaconf import DictConfig, ListConfig, Node, OmegaConf, open_dict
from omegaconf.errors import OmegaConfBaseException

from ._errors import ConfigOverrideError
from ._interpolation import detached_container
from ._readers import (
    ConfigReader,
    ReaderKeys,
    accepts,
    annotation_text,
    describe_expected,
    reader_at,
    reader_keys,
    value_annotation,
)

__all__ = ["apply_overrides", "config_from_cli"]

_NO_READERS: Mapping[str, ConfigReader] = {}


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


def _node_at(config: DictConfig, key: str) -> Node | None:
    """The node at ``key`` (``""``: the root), without evaluating any interpolation on the way; None if absent."""
    node: Node = config
    for part in key.split(".") if key else ():
        found: object = None
        if isinstance(node, DictConfig) and not node._is_none() and part in node.keys():  # noqa: SIM118
            found = node._get_node(part)  # keys() and _get_node() do not resolve values
        elif isinstance(node, ListConfig) and not node._is_none() and part.isdigit() and int(part) < len(node):
            found = node._get_node(int(part))
        if not isinstance(found, Node):
            return None
        node = found
    return node


def _exists(config: DictConfig, key: str) -> bool:
    return _node_at(config, key) is not None


def _mapping_at(config: DictConfig, key: str) -> DictConfig | None:
    node = _node_at(config, key)
    return node if isinstance(node, DictConfig) and not node._is_none() else None


def _reader_of(config: DictConfig, key: str, readers: Mapping[str, ConfigReader]) -> ReaderKeys | None:
    """What reads the mapping at ``key``, or None when it is not a mapping or its reader is not known."""
    mapping = _mapping_at(config, key)
    reader = None if mapping is None else reader_at(mapping, key, readers)
    return None if reader is None else reader_keys(reader)


def _plain(node: Node) -> Any:
    if isinstance(node, DictConfig | ListConfig):
        return None if node._is_none() else OmegaConf.to_container(node, resolve=False)
    return node._value()


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


def _apply(config: DictConfig, override: Override, readers: Mapping[str, ConfigReader]) -> None:
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
            raise ConfigOverrideError(_missing_key(config, override, readers))
        with open_dict(config):
            OmegaConf.update(config, key, value, merge=True)


def _missing_key(config: DictConfig, override: Override, readers: Mapping[str, ConfigReader]) -> str:
    """Why ``key=value`` names no key: with the key meant, when one is close, or how to add it."""
    key, line = override.key_or_group, override.input_line
    message = f"cannot apply {line!r}: the config has no key {key!r}"
    parent_key, _, last = key.rpartition(".")
    read = _reader_of(config, parent_key, readers)
    meant = _meant(config, parent_key, last, read, override)
    if meant is not None:
        return f"{message}; did you mean {meant!r}?"
    if read is not None and not read.reads(last):
        return f"{message}, and {_not_read(read, last)} {_listing(config, parent_key, read)}"
    return f"{message} (to add one, write '+{line}')"


def _known_keys(config: DictConfig, parent_key: str, read: ReaderKeys | None) -> set[str]:
    """The keys the mapping at ``parent_key`` has or its reader reads (Hydra's ``_target_`` and kin left out)."""
    parent = _mapping_at(config, parent_key)
    existing = {str(name) for name in parent.keys()} if parent is not None else set()  # noqa: SIM118
    readable = set(read.names or ()) if read is not None else set()
    return {name for name in existing | readable if not name.startswith("_")}


def _meant(
    config: DictConfig, parent_key: str, last: str, read: ReaderKeys | None, override: Override | None
) -> str | None:
    """The override (or, for a key that came in a mapping, the key) most likely meant instead of ``last``."""
    candidates = sorted(_known_keys(config, parent_key, read) - {last})
    close = difflib.get_close_matches(last, candidates, n=1, cutoff=0.75)
    if not close:
        return None
    path = f"{parent_key}.{close[0]}" if parent_key else close[0]
    if override is None or override.key_or_group != (f"{parent_key}.{last}" if parent_key else last):
        return path
    written = (override.input_line or "").partition("=")[2]
    return f"{'' if _exists(config, path) else '+'}{path}={written}"


def _not_read(read: ReaderKeys, key: str) -> str:
    return f"nothing reads {key!r}" if read.owner is None else f"{read.owner} does not read {key!r}"


def _listing(config: DictConfig, parent_key: str, read: ReaderKeys) -> str:
    """``(it reads decoder, encoder, hidden ...)``: the keys that would be read there."""
    names = sorted(_known_keys(config, parent_key, read))
    shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
    return f"(the keys there are {shown})" if read.owner is None else f"(it reads {shown})"


def _new_paths(before: Node, after: Node, prefix: str) -> Iterator[str]:
    """The keys of ``after`` that ``before`` does not have, outermost first (a new mapping's keys are not listed)."""
    if isinstance(before, DictConfig) and isinstance(after, DictConfig):
        if before._is_none() or after._is_none():
            return
        for name in after.keys():  # noqa: SIM118 (keys() does not resolve values)
            path = f"{prefix}.{name!s}" if prefix else str(name)
            if name not in before.keys():  # noqa: SIM118
                yield path
            else:
                yield from _new_paths(before._get_node(name), after._get_node(name), path)  # type: ignore[arg-type]
    elif isinstance(before, ListConfig) and isinstance(after, ListConfig):
        if before._is_none() or after._is_none():
            return
        for index in range(min(len(before), len(after))):
            yield from _new_paths(before._get_node(index), after._get_node(index), f"{prefix}.{index}")  # type: ignore[arg-type]


def _check_new_keys(
    before: DictConfig, after: DictConfig, overrides: list[Override], readers: Mapping[str, ConfigReader]
) -> None:
    """Refuse a key that the overrides added and that the mapping's reader does not read."""
    for path in _new_paths(before, after, ""):
        parent_key, _, last = path.rpartition(".")
        read = _reader_of(after, parent_key, readers)
        if read is None or read.reads(last):
            continue
        override = next(
            (o for o in reversed(overrides) if not o.is_delete() and f"{path}.".startswith(f"{o.key_or_group}.")),
            None,
        )
        line = path if override is None else override.input_line
        meant = _meant(before, parent_key, last, read, override)
        advice = f"; did you mean {meant!r}?" if meant is not None else f" {_listing(before, parent_key, read)}"
        raise ConfigOverrideError(f"cannot apply {line!r}: {_not_read(read, path)}{advice}")


def _check_values(
    before: DictConfig, after: DictConfig, overrides: list[Override], readers: Mapping[str, ConfigReader]
) -> None:
    for override in overrides:
        if not override.is_delete():
            _check_value(before, after, override.key_or_group, override.value(), override, readers)


def _check_value(
    before: DictConfig, after: DictConfig, key: str, value: Any, override: Override, readers: Mapping[str, ConfigReader]
) -> None:
    """Refuse a value its reader's annotation (else the config's own value there) says cannot be right.

    A value of the type the config already has there is accepted even against the annotation: a reader may take
    more than it declares (``total_steps: auto`` for a scheduler, which the optimizer setup replaces).
    """
    if isinstance(value, dict) and _mapping_at(before, key) is not None:  # merged into the mapping
        for name, item in value.items():
            _check_value(before, after, f"{key}.{name}", item, override, readers)
        return
    node = _node_at(before, key)
    current = None if node is None else _plain(node)
    shipped = value_annotation(current)
    parent_key, _, last = key.rpartition(".")
    read = _reader_of(after, parent_key, readers)
    if read is not None and last in read.annotations:
        expected = read.annotations[last]
        because = f"{read.owner} takes {last}: {annotation_text(expected)}"
        if shipped is not None and accepts(shipped, value):
            return
    else:
        expected = shipped
        if expected is None or value is None:  # nothing to go by, or a setting switched off with null
            return
        because = f"the config has {_yaml_text(current)}"
    if not accepts(expected, value):
        subject = "" if key == override.key_or_group else f"{key} "
        raise ConfigOverrideError(f"{override.input_line}: {subject}expected {describe_expected(expected)} ({because})")


def _yaml_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, str) else str(value)


def _copy_of(config: object) -> object:
    """A copy to edit; structured configs stay structured, so their field types still validate."""
    if dataclasses.is_dataclass(config):
        return OmegaConf.structured(config)
    if isinstance(config, DictConfig) and config._get_parent() is None:
        return copy.deepcopy(config)
    return OmegaConf.create(detached_container(config))


def apply_overrides(
    config: object, overrides: Sequence[str], *, readers: Mapping[str, ConfigReader] | None = None
) -> DictConfig:
    """A copy of ``config`` with Hydra override syntax applied, in order.

    ``key=value`` changes an existing key (a misspelt key is an error that names the key meant), ``+key=value``
    adds a new one, ``++key=value`` adds or changes, ``~key`` (or ``~key=value``) deletes. Values use Hydra's
    grammar: ``512`` is an int, ``1e-3`` a float, ``null`` None, ``[1,2]`` a list, ``{a:1}`` a mapping (merged
    into a mapping).

    A new key must be read by what reads its mapping, and a value must fit the type that reader declares for
    it, else the type of the value it replaces (``null`` is always accepted there): see :mod:`._readers`.

    Args:
        config: the defaults: a mapping, a DictConfig or a dataclass (whose field types OmegaConf checks).
        overrides: the override strings.
        readers: the reader of each mapping without a ``_target_``, by its dotted path (``""``: the root),
            as a class or function (its parameters are the keys it reads) or a collection of key names.

    Raises:
        ConfigOverrideError: an override that does not parse or cannot apply, naming it.
    """
    known = _NO_READERS if readers is None else readers
    parsed = _parse(overrides)
    result = _copy_of(config)
    if not isinstance(result, DictConfig):
        raise TypeError("overrides apply to a mapping config, not a list")
    before = copy.deepcopy(result)
    for override in parsed:
        try:
            _apply(result, override, known)
        except OmegaConfBaseException as error:
            raise ConfigOverrideError(f"cannot apply {override.input_line!r}: {error}") from None
    _check_new_keys(before, result, parsed, known)
    _check_values(before, result, parsed, known)
    return result


def config_from_cli(
    config: object, argv: Sequence[str] | None = None, *, readers: Mapping[str, ConfigReader] | None = None
) -> DictConfig:
    """The script's config: ``config`` (a YAML path, mapping or dataclass) with overrides from the command line.

    Args:
        config: the defaults: a path to a YAML file, or anything :func:`apply_overrides` accepts.
        argv: the overrides; ``sys.argv[1:]`` when not given.
        readers: as for :func:`apply_overrides`.
    """
    if isinstance(config, str | os.PathLike):
        config = OmegaConf.load(os.fspath(config))
    return apply_overrides(config, sys.argv[1:] if argv is None else argv, readers=readers)
