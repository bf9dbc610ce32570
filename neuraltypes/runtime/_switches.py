"""Switches for the run-time checks: scoped, nesting, per-thread context managers, and an environment variable.

The state is a ``threading.local``: a ``with disable_checks():`` block affects the thread that entered it and
nothing else, and each thread starts with the defaults. (``threading.local`` rather than a ``ContextVar``
because torch.compile can read the former without a graph break and cannot call ``ContextVar.get``.)

``NEURALTYPES_DISABLE=1`` in the environment at import time makes ``@typecheck`` return functions unchanged
(zero cost; the context managers then have nothing to switch on). ``NEURALTYPES_DISABLE_SEMANTIC=1`` makes
semantic (element type) checks off by default in every thread.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

__all__ = [
    "CHECKS_AVAILABLE",
    "SWITCHES",
    "checks_enabled",
    "disable_checks",
    "disable_semantic_checks",
    "enable_checks",
    "enable_semantic_checks",
    "semantic_checks_enabled",
]


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


CHECKS_AVAILABLE: bool = not _env_flag("NEURALTYPES_DISABLE")
"""False when ``NEURALTYPES_DISABLE`` was set at import: ``@typecheck`` then returns functions unchanged."""

_SEMANTIC_DEFAULT: bool = not _env_flag("NEURALTYPES_DISABLE_SEMANTIC")


def _level(checks: bool, semantic: bool) -> int:
    return (2 if semantic else 1) if checks else 0


class _Switches(threading.local):
    """Per-thread switch state; the class attributes are each new thread's defaults.

    ``level`` sums up the other two for the generated wrappers, which read it once per call (an attribute of a
    thread-local costs about 45 ns): 0 with checks off, 1 with checks on and semantic checks off, 2 with both on.
    """

    checks: bool = True
    semantic: bool = _SEMANTIC_DEFAULT
    level: int = _level(True, _SEMANTIC_DEFAULT)


SWITCHES = _Switches()
"""The switch state; the generated wrappers read ``SWITCHES.level``, the explainer ``SWITCHES.semantic``."""


@contextmanager
def _switch(attribute: str, value: bool) -> Iterator[None]:
    previous = getattr(SWITCHES, attribute)
    setattr(SWITCHES, attribute, value)
    SWITCHES.level = _level(SWITCHES.checks, SWITCHES.semantic)
    try:
        yield
    finally:
        setattr(SWITCHES, attribute, previous)
        SWITCHES.level = _level(SWITCHES.checks, SWITCHES.semantic)


def disable_checks() -> AbstractContextManager[None]:
    """Turn every ``@typecheck`` check off in this thread inside the ``with`` block; nests, restores on exit."""
    return _switch("checks", False)


def enable_checks() -> AbstractContextManager[None]:
    """Turn checks back on in this thread inside the ``with`` block (inside a ``disable_checks()`` block)."""
    return _switch("checks", True)


def disable_semantic_checks() -> AbstractContextManager[None]:
    """Skip element-type (semantic) checks in this thread inside the ``with`` block; shapes and dtypes stay."""
    return _switch("semantic", False)


def enable_semantic_checks() -> AbstractContextManager[None]:
    """Turn semantic checks on in this thread inside the ``with`` block."""
    return _switch("semantic", True)


def checks_enabled() -> bool:
    """Whether ``@typecheck`` checks run in this thread now."""
    return CHECKS_AVAILABLE and SWITCHES.checks


def semantic_checks_enabled() -> bool:
    """Whether element-type checks run in this thread now."""
    return checks_enabled() and SWITCHES.semantic
