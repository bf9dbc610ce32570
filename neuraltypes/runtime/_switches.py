"""Switches for the run-time checks: scoped, nesting context managers, per thread, and an environment variable.

The state lives in ``ContextVar``s: a ``with disable_checks():`` block affects the thread (and the asyncio task)
that entered it and nothing else, and each thread starts with the defaults. A checked call reads one of them,
``current_level()``: ``ContextVar.get`` is the cheapest per-thread read CPython has (a cached lookup, no dict
walk; an attribute of a ``threading.local`` costs three to four times as much once the caches are cold).

torch.compile cannot trace ``ContextVar.get``. ``current_level`` is registered with
``torch.compiler.substitute_in_graph`` as constant-foldable, so while Dynamo traces it reads the switch once
and the compiled code keeps the checks of that moment (as it would with a ``threading.local``, which Dynamo
does not guard either): a switch changed later takes effect in compiled code at its next compile.

``NEURALTYPES_DISABLE=1`` in the environment at import time makes ``@typecheck`` return functions unchanged
(zero cost; the context managers then have nothing to switch on). ``NEURALTYPES_DISABLE_SEMANTIC=1`` makes
semantic (element type) checks off by default in every thread. ``NEURALTYPES_NO_INSTRUMENT=1`` makes
``@typecheck`` put a generated wrapper around every function instead of writing the checks into it (the
default of ``@typecheck(instrument=...)``; the test suite runs the checks both ways).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from typing import Literal, NamedTuple

import torch

__all__ = [
    "CHECKS_AVAILABLE",
    "INSTRUMENT_BY_DEFAULT",
    "checks_enabled",
    "current_level",
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

INSTRUMENT_BY_DEFAULT: bool = not _env_flag("NEURALTYPES_NO_INSTRUMENT")
"""False when ``NEURALTYPES_NO_INSTRUMENT`` was set at import: ``@typecheck`` then always uses wrappers."""


Level = bool | Literal[1]


class _State(NamedTuple):
    checks: bool
    semantic: bool

    @property
    def level(self) -> Level:
        """What a checked call needs: False with checks off, 1 with semantic checks off, True with all on.

        (A checked call tests ``if level:`` and ``if level is True:``; CPython decides both without a call for
        ``True`` and ``False``, the default and the disabled state.)
        """
        return (True if self.semantic else 1) if self.checks else False


_DEFAULT = _State(checks=True, semantic=not _env_flag("NEURALTYPES_DISABLE_SEMANTIC"))
_STATE: ContextVar[_State] = ContextVar("neuraltypes_switches", default=_DEFAULT)
_LEVEL: ContextVar[Level] = ContextVar("neuraltypes_check_level", default=_DEFAULT.level)

current_level: Callable[[], Level] = _LEVEL.get
"""This thread's check level (False off, 1 without semantic checks, True all): the one read a checked call makes."""


def _level_while_tracing() -> Level:  # pragma: no cover - Dynamo folds the call to its value instead
    raise AssertionError("current_level() is folded to a constant while torch.compile traces")


# A module-level registration, done once, like registering a custom op. Dynamo calls the original at trace time.
torch.compiler.substitute_in_graph(current_level, can_constant_fold_through=True, skip_signature_check=True)(
    _level_while_tracing
)


@contextmanager
def _switch(**change: bool) -> Iterator[None]:
    state = _STATE.get()._replace(**change)
    state_token = _STATE.set(state)
    level_token = _LEVEL.set(state.level)
    try:
        yield
    finally:
        _LEVEL.reset(level_token)
        _STATE.reset(state_token)


def disable_checks() -> AbstractContextManager[None]:
    """Turn every ``@typecheck`` check off in this thread inside the ``with`` block; nests, restores on exit."""
    return _switch(checks=False)


def enable_checks() -> AbstractContextManager[None]:
    """Turn checks back on in this thread inside the ``with`` block (inside a ``disable_checks()`` block)."""
    return _switch(checks=True)


def disable_semantic_checks() -> AbstractContextManager[None]:
    """Skip element-type (semantic) checks in this thread inside the ``with`` block; shapes and dtypes stay."""
    return _switch(semantic=False)


def enable_semantic_checks() -> AbstractContextManager[None]:
    """Turn semantic checks on in this thread inside the ``with`` block."""
    return _switch(semantic=True)


def checks_enabled() -> bool:
    """Whether ``@typecheck`` checks run in this thread now."""
    return CHECKS_AVAILABLE and _STATE.get().checks


def semantic_checks_enabled() -> bool:
    """Whether element-type checks run in this thread now."""
    return checks_enabled() and _STATE.get().semantic
