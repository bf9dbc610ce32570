"""What reads each mapping of a config: the keys it takes and the values it expects, to check overrides against.

A mapping's reader is the class or function its ``_target_`` names (resolved through the allowlist, importing
nothing), or, for a mapping without one, the reader a script names for its path (``{"trainer": Trainer}``).
A reader takes its constructor's (or its own) parameters by name, any key if it has ``**kwargs``; a class
that takes its whole config as one mapping (a ``ModelPT``: ``Model(cfg)``) lists the keys it reads in a
``config_keys`` class attribute instead. A collection of names given as a reader is exactly those keys.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import inspect
import types
import typing
from collections.abc import Callable, Collection, Mapping
from typing import Any, Literal, Union

from omegaconf import DictConfig

from ._errors import UnsafeConfigError
from ._resolve import check_target

__all__ = [
    "CONFIG_KEYS",
    "ConfigReader",
    "ReaderKeys",
    "accepts",
    "annotation_text",
    "describe_expected",
    "reader_at",
    "reader_keys",
    "value_annotation",
]

#: The class attribute naming the keys a class reads from the one config mapping it is given.
CONFIG_KEYS = "config_keys"

#: Keys of Hydra's instantiation, read by the instantiation itself.
_INSTANTIATION_KEYS = frozenset({"_target_", "_recursive_", "_convert_", "_partial_", "_args_"})

ConfigReader = Callable[..., object] | Collection[str]


@dataclasses.dataclass(frozen=True)
class ReaderKeys:
    """What one reader takes.

    Attributes:
        owner: the reader's name for messages (``ConvEncoder``), or None for a plain collection of names.
        names: the keys it reads (Hydra's ``_target_`` and kin included), or None when it takes any key.
        annotations: the declared type of each parameter that has one.
    """

    owner: str | None
    names: frozenset[str] | None
    annotations: Mapping[str, object]

    def reads(self, key: str) -> bool:
        return self.names is None or key in self.names


def reader_at(node: DictConfig, path: str, readers: Mapping[str, ConfigReader]) -> ConfigReader | None:
    """The reader of the mapping ``node`` at ``path`` (``""`` for the root): its ``_target_``, else ``readers[path]``.

    A ``_target_`` that is not a string, or that the allowlist refuses, gives no reader: building the config
    reports it, and the overrides are not the place to.
    """
    target = node._get_node("_target_") if "_target_" in node.keys() else None  # noqa: SIM118 (unresolved)
    if target is not None:
        value = target._value()
        if not isinstance(value, str):
            return None
        try:
            found = check_target(value)
        except (UnsafeConfigError, ImportError, ValueError):
            return None
        return found if callable(found) else None
    return readers.get(path)


def reader_keys(reader: ConfigReader) -> ReaderKeys:
    """The keys ``reader`` takes and their annotations (see the module's docstring for the rules)."""
    if not callable(reader):
        return ReaderKeys(None, frozenset(reader) | _INSTANTIATION_KEYS, {})
    owner = getattr(reader, "__qualname__", None) or type(reader).__name__
    listed = getattr(reader, CONFIG_KEYS, None)
    if isinstance(listed, Collection) and not isinstance(listed, str):
        return ReaderKeys(owner, frozenset(listed) | _INSTANTIATION_KEYS, {})
    try:
        parameters = inspect.signature(reader).parameters.values()
    except (TypeError, ValueError):  # a builtin without a signature: cannot tell
        return ReaderKeys(owner, None, {})
    if any(parameter.kind is inspect.Parameter.VAR_KEYWORD for parameter in parameters):
        names = None
    else:
        by_name = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        names = frozenset(p.name for p in parameters if p.kind in by_name) | _INSTANTIATION_KEYS
    return ReaderKeys(owner, names, _annotations(reader))


def _annotations(reader: Callable[..., object]) -> dict[str, object]:
    function = reader.__init__ if isinstance(reader, type) else reader  # type: ignore[misc]
    try:
        return {k: v for k, v in typing.get_type_hints(function).items() if k != "return"}
    except Exception:  # a hint naming what is not importable here: read no types, check none
        return {}


def accepts(annotation: object, value: object) -> bool:
    """Whether a value written on the command line can be what ``annotation`` declares; True when unsure.

    Only the types an override can write are told apart (numbers, booleans, strings, null, lists, mappings
    and literals); a class such as ``Path`` or ``Accelerator`` is not checked. An interpolation is accepted.
    """
    if isinstance(value, str) and "${" in value:
        return True
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        return any(accepts(member, value) for member in typing.get_args(annotation))
    if origin is Literal:
        return any(value == choice and type(value) is type(choice) for choice in typing.get_args(annotation))
    checks = _CHECKS.get(origin or annotation)
    return True if checks is None else checks(value)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


_CHECKS: dict[object, Callable[[object], bool]] = {
    int: _is_int,
    float: lambda value: _is_int(value) or isinstance(value, float),
    bool: lambda value: isinstance(value, bool),
    str: lambda value: isinstance(value, str | int | float | bool),  # `name=123`: Hydra reads a number
    type(None): lambda value: value is None,
    None: lambda value: value is None,
    list: lambda value: isinstance(value, list),
    tuple: lambda value: isinstance(value, list),
    collections.abc.Sequence: lambda value: isinstance(value, list),
    dict: lambda value: isinstance(value, dict),
    collections.abc.Mapping: lambda value: isinstance(value, dict),
}

_NAMES: dict[object, str] = {
    int: "an int",
    float: "a number",
    bool: "true or false",
    str: "a string",
    type(None): "null",
    None: "null",
    list: "a list",
    tuple: "a list",
    collections.abc.Sequence: "a list",
    dict: "a mapping",
    collections.abc.Mapping: "a mapping",
}


def describe_expected(annotation: object) -> str:
    """``an int``, ``an int or null``, ``one of 16, 32, '16-mixed'``: what ``annotation`` takes, in words."""
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        members = list(dict.fromkeys(describe_expected(member) for member in typing.get_args(annotation)))
        return members[0] if len(members) == 1 else ", ".join(members[:-1]) + " or " + members[-1]
    if origin is Literal:
        return "one of " + ", ".join(repr(choice) for choice in typing.get_args(annotation))
    name = _NAMES.get(origin or annotation)
    if name is not None:
        return name
    shown = getattr(annotation, "__name__", None) or str(annotation)
    return f"{'an' if shown[:1].lower() in 'aeiou' else 'a'} {shown}"


def annotation_text(annotation: object) -> str:
    """An annotation as written: ``int``, ``Union[list[int], str, int]``."""
    return inspect.formatannotation(annotation)


def value_annotation(value: Any) -> object | None:
    """The type a config's own value stands for (``64``: int), or None when it tells nothing (null,
    an interpolation, anything but a number, boolean, string, list or mapping)."""
    if value is None or (isinstance(value, str) and "${" in value):
        return None
    for kind in (bool, int, float, str, list, dict):
        if isinstance(value, kind):
            return kind
    return None
