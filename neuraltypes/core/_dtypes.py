"""Dtype specs as torch-free names: families (``float``, ``int``) and exact names (``float32``)."""

from __future__ import annotations

import functools
from typing import Any

__all__ = ["DTYPE_FAMILIES", "dtype_names", "normalize_dtype"]

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
            known = ", ".join(sorted(DTYPE_FAMILIES))
            raise ValueError(f"unknown dtype {part!r}: expected a family ({known}) or a name such as 'float32'")
    return "|".join(parts)


@functools.lru_cache(maxsize=256)
def dtype_names(spec: str) -> frozenset[str]:
    """The exact dtype names a normalized spec admits: ``dtype_names("float") >= {"float32"}``."""
    names: set[str] = set()
    for part in spec.split("|"):
        names |= DTYPE_FAMILIES.get(part, frozenset({part}))
    return frozenset(names)
