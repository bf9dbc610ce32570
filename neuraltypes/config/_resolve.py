"""Resolving a ``_target_`` import path to an object, and checking that object against the allowlist."""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Iterable

from ._allowlist import refusal_reason
from ._errors import UnsafeTargetError

__all__ = ["check_target", "locate", "resolve_target"]


def locate(path: str) -> object:
    """Find the object an import path names, as Hydra does, without importing a package not yet imported.

    Hydra's rule is followed (import the first component, then walk attributes, importing a submodule where
    an attribute is missing), except that the first component must already be in ``sys.modules``: importing
    is running code, and a config must not make the program import a package it never imported itself (a
    stray ``setup.py`` next to a script, ``antigravity``).

    Raises:
        ValueError: the path is not a dotted sequence of identifiers.
        UnsafeTargetError: resolving it would import a package the program has not imported.
        ImportError: nothing exists at that path.
    """
    parts = path.split(".")
    if not path or not all(part.isidentifier() for part in parts):
        raise ValueError(f"target {path!r} is not a dotted import path such as 'package.module.Class'")
    top = parts[0]
    obj: object = sys.modules.get(top)
    if obj is None:
        raise UnsafeTargetError(
            f"refusing target {path!r}: resolving it would import package {top!r}, which this program has "
            f"not imported; a config may not make Python import new packages (import {top!r} in your code "
            "first)"
        )
    for index, part in enumerate(parts[1:], start=1):
        try:
            obj = getattr(obj, part)
            continue
        except AttributeError:
            if not isinstance(obj, types.ModuleType):
                raise ImportError(
                    f"cannot resolve target {path!r}: {'.'.join(parts[:index])!r} has no attribute {part!r}"
                ) from None
        submodule = ".".join(parts[: index + 1])
        if part == "__main__":
            raise UnsafeTargetError(f"refusing target {path!r}: importing {submodule!r} would run a command-line entry")
        try:
            obj = importlib.import_module(submodule)
        except ModuleNotFoundError:
            raise ImportError(
                f"cannot resolve target {path!r}: module {'.'.join(parts[:index])!r} has no attribute or "
                f"submodule {part!r}"
            ) from None
    return obj


def check_target(target: object, allow: Iterable[object] = (), *, where: str = "") -> object:
    """Resolve ``target`` (an import path or an object) and return it if the allowlist admits it.

    Args:
        target: the ``_target_`` value: a dotted path, or a class or function given directly.
        allow: extra objects allowed for this call, compared by identity.
        where: the config key holding the target, named in the error.

    Raises:
        UnsafeTargetError: the resolved object is not allowed, naming the target and why.
    """
    obj = locate(target) if isinstance(target, str) else target
    reason = refusal_reason(obj, allow)
    if reason is not None:
        shown = target if isinstance(target, str) else getattr(target, "__qualname__", repr(target))
        at = f" at {where!r}" if where else ""
        raise UnsafeTargetError(f"refusing to instantiate target {shown!r}{at}: {reason}")
    return obj


def resolve_target(path: str, *, allow: Iterable[object] = ()) -> object:
    """Resolve an import path (as stored in a config's ``_target_``) to its object, checked.

    ``resolve_target(cfg["_target_"]).from_config_dict(cfg)`` rebuilds an object from its stored config.

    Raises:
        UnsafeTargetError: the object is not allowed to be instantiated from a config.
        ValueError, ImportError: the path is malformed or names nothing.
    """
    return check_target(path, allow)
