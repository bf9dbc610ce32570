"""Dtype specs as torch-free names: families (``float``, ``int``) and exact names (``float32``)."""

from __future__ import annotations

import difflib
import functools
from typing import Any

from ._elements import element_type_names

__all__ = ["DTYPE_FAMILIES", "dtype_names", "meant_name", "normalize_dtype"]

_FLOATS = frozenset({"float16", "bfloat16", "float32", "float64"})
_SIGNED = frozenset({"int8", "int16", "int32", "int64"})
_UNSIGNED = frozenset({"uint8", "uint16", "uint32", "uint64"})
_COMPLEX = frozenset({"complex32", "complex64", "complex128"})

DTYPE_FAMILIES: dict[str, frozenset[str]] = {
    "float": _FLOATS,
    "int": _SIGNED | _UNSIGNED,
    "sint": _SIGNED,
    "uint": _UNSIGNED,
    "bool": frozenset({"bool"}),
    "complex": _COMPLEX,
    "number": _FLOATS | _SIGNED | _UNSIGNED | _COMPLEX,
}
_EXACT = frozenset().union(*DTYPE_FAMILIES.values())


def normalize_dtype(spec: str | Any | None) -> str | None:
    """Canonical spelling of a dtype spec: ``"float32|int64"``; accepts ``torch.float32`` objects too.

    Raises:
        ValueError: a name that is neither a family nor a dtype.
    """
    if spec is None:
        return None
    text = spec if isinstance(spec, str) else str(spec)
    parts = [part.strip().removeprefix("torch.") for part in text.split("|")]
    for part in parts:
        if part not in DTYPE_FAMILIES and part not in _EXACT:
            raise ValueError(_unknown_dtype(part))
    return "|".join(parts)


def meant_name(text: str) -> str | None:
    """The dtype or element type name that ``text`` most likely means (case and small typos forgiven), or None.

    ``meant_name("LogitType") == "LogitsType"``, ``meant_name("flaot32") == "float32"``.
    """
    names = [*sorted(DTYPE_FAMILIES), *sorted(_EXACT), *element_type_names()]
    by_lowered = {name.lower(): name for name in names}
    close = difflib.get_close_matches(text.lower(), list(by_lowered), n=1, cutoff=0.7)
    return by_lowered[close[0]] if close else None


def _unknown_dtype(part: str) -> str:
    """Why ``part`` is not a dtype: an element type's name (nearly) given as a string, or a misspelt dtype."""
    meant = meant_name(part)
    if meant is not None and meant not in DTYPE_FAMILIES and meant not in _EXACT:
        if meant == part:
            return f"{part!r} is an element type, not a dtype: write the class {part}, not its name in a string"
        return f"unknown dtype {part!r}: did you mean the element type {meant}? Write the class {meant}, not a string"
    known = ", ".join(sorted(DTYPE_FAMILIES))
    message = f"unknown dtype {part!r}: expected a family ({known}) or a name such as 'float32'"
    return message if meant is None else f"{message}; did you mean {meant!r}?"


@functools.lru_cache(maxsize=256)
def dtype_names(spec: str) -> frozenset[str]:
    """The exact dtype names a normalized spec admits: ``dtype_names("float") >= {"float32"}``."""
    names: set[str] = set()
    for part in spec.split("|"):
        names |= DTYPE_FAMILIES.get(part, frozenset({part}))
    return frozenset(names)
