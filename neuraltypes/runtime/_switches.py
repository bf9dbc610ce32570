"""Switches for the run-time checks (scoped, nesting context managers, per thread) and ``TypecheckConf``.

The state lives in ``ContextVar``s: a ``with disable_checks():`` block affects the thread (and the asyncio task)
that entered it and nothing else, and each thread starts with the defaults. A checked call reads one of them,
``current_level()``: ``ContextVar.get`` is the cheapest per-thread read CPython has (a cached lookup, no dict
walk; an attribute of a ``threading.local`` costs three to four times as much once the caches are cold).

Each context keeps a stack of its active blocks, and its state is the defaults with their changes applied in
the order they were entered: blocks may exit in any order, and once all have exited the state is what it was
before the first (see ``_Switch``). A block exited in another context than the one that entered it raises
``SwitchScopeError``. A generator that yields inside a block leaves the block active in its caller while it is
suspended, as it does with ``decimal.localcontext()``: generators share their caller's context (PEP 567; PEP
568, which would give them their own, was deferred). Switch inside the generator between its yields instead.

torch.compile cannot trace ``ContextVar.get``. ``current_level`` is registered with
``torch.compiler.substitute_in_graph`` as constant-foldable, so while Dynamo traces it reads the switch once
and the compiled code keeps the checks of that moment (as it would with a ``threading.local``, which Dynamo
does not guard either): a switch changed later takes effect in compiled code at its next compile.

The environment is read once, when this module is imported, into the defaults of ``TypecheckConf`` (see
there): ``NEURALTYPES_DISABLE=1`` makes ``@typecheck`` return functions unchanged (zero cost; the context managers
then have nothing to switch on), ``NEURALTYPES_DISABLE_SEMANTIC=1`` makes semantic (element type) checks off by
default in every thread, and ``NEURALTYPES_INSTRUMENT=1`` makes ``@typecheck`` write the checks into the functions
themselves instead of putting a generated wrapper around them. A value that is not a switch value is refused.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, ContextDecorator
from contextvars import ContextVar, Token
from dataclasses import dataclass, fields
from typing import Literal, NamedTuple

import torch
from beartype import BeartypeConf

from ._beartype_bridge import DEFAULT_CONF

__all__ = [
    "CHECKS_AVAILABLE",
    "SwitchScopeError",
    "TypecheckConf",
    "checks_enabled",
    "current_level",
    "disable_checks",
    "disable_semantic_checks",
    "enable_checks",
    "enable_semantic_checks",
    "semantic_checks_enabled",
    "set_checks_enabled",
    "set_semantic_checks_enabled",
]


_INSTRUMENT_BY_DEFAULT = False  # the wrapper: see TypecheckConf.instrument
_ON = ("1", "true", "yes", "on")
_OFF = ("0", "false", "no", "off")


def _switch_value(environ: Mapping[str, str], name: str) -> bool | None:
    """The variable ``name`` read as a switch: None when it is unset or empty.

    Raises:
        ValueError: its value is neither on nor off (a typo must not silently leave a switch off).
    """
    value = environ.get(name, "").strip().lower()
    if not value:
        return None
    if value in _ON or value in _OFF:
        return value in _ON
    raise ValueError(
        f"environment variable {name}={environ[name]!r} is not a switch value: accepted are "
        f"{'/'.join(_ON)} (on), {'/'.join(_OFF)} (off), or empty (the default)"
    )


class _FromEnvironment(NamedTuple):
    enabled: bool
    semantic_checks: bool
    instrument: bool


def _read_environment(environ: Mapping[str, str]) -> _FromEnvironment:
    """The fields of ``TypecheckConf`` that the environment sets (see there); the library's defaults where unset."""
    instrument = _switch_value(environ, "NEURALTYPES_INSTRUMENT")
    no_instrument = _switch_value(environ, "NEURALTYPES_NO_INSTRUMENT")  # the earlier spelling, still accepted
    if instrument is not None and no_instrument is not None and instrument == no_instrument:
        raise ValueError(
            f"environment variables NEURALTYPES_INSTRUMENT={environ['NEURALTYPES_INSTRUMENT']!r} and "
            f"NEURALTYPES_NO_INSTRUMENT={environ['NEURALTYPES_NO_INSTRUMENT']!r} contradict each other: set one"
        )
    if instrument is None and no_instrument is not None:
        instrument = not no_instrument
    return _FromEnvironment(
        enabled=not _switch_value(environ, "NEURALTYPES_DISABLE"),
        semantic_checks=not _switch_value(environ, "NEURALTYPES_DISABLE_SEMANTIC"),
        instrument=_INSTRUMENT_BY_DEFAULT if instrument is None else instrument,
    )


_ENVIRONMENT = _read_environment(os.environ)  # once, at import: raises here on a value that is not a switch value

CHECKS_AVAILABLE: bool = _ENVIRONMENT.enabled
"""False when ``NEURALTYPES_DISABLE`` was set at import: ``@typecheck`` then returns functions unchanged."""


@dataclass(frozen=True, slots=True)
class TypecheckConf:
    """How ``@typecheck`` checks: one frozen, hashable configuration, like beartype's ``BeartypeConf``.

    ``@typecheck(instrument=True)`` and the decorator's other options are shorthands for
    ``@typecheck(conf=TypecheckConf(instrument=True))``. A field left out takes the value the environment gave
    when ``neuraltypes.runtime`` was imported (``TypecheckConf.from_environment(os.environ)`` then), else the
    default below: ``TypecheckConf()`` is this process's default configuration.

    Args:
        beartype_conf: beartype's configuration for the ordinary (non-tensor) hints, and its ``violation_type``
            for the exception class of failed checks.
        skip_when_compiling: skip the checks while torch.compile traces (no graph break either way; off by
            default, because checking at trace time is what turns bad shapes into guards).
        ignore_collections: NeMo's option, for NeMo-style ports: True checks every tensor inside nested lists and
            tuples against the port's type, whatever the nesting (NeMo's depth checks skipped).
        instrument: write the checks into the function's own code where that is safe (no frame of ours per
            call; tracebacks show the function's lines) instead of a generated wrapper around it. Off by default
            (``NEURALTYPES_INSTRUMENT=1`` turns it on, ``NEURALTYPES_NO_INSTRUMENT=1`` off): it measured no faster
            than the wrapper (``benchmarks/runtime_overhead.py``) and costs three to four times as much to build.
        enabled: False makes ``@typecheck`` return functions unchanged. ``NEURALTYPES_DISABLE=1`` makes it False
            for every decoration, whatever a conf says: the one switch that costs nothing.
        semantic_checks: whether element-type checks are on in a thread that has not switched them
            (``NEURALTYPES_DISABLE_SEMANTIC=1``: off). The switch belongs to the thread, not to a function, so it
            is read from the default configuration alone; ``@typecheck`` refuses a conf that sets it otherwise (use
            ``disable_semantic_checks()`` to switch).
    """

    beartype_conf: BeartypeConf = DEFAULT_CONF
    skip_when_compiling: bool = False
    ignore_collections: bool = False
    instrument: bool = _ENVIRONMENT.instrument
    enabled: bool = _ENVIRONMENT.enabled
    semantic_checks: bool = _ENVIRONMENT.semantic_checks

    def __post_init__(self) -> None:
        if not isinstance(self.beartype_conf, BeartypeConf):
            raise TypeError(f"TypecheckConf(beartype_conf=...) takes a BeartypeConf, not {self.beartype_conf!r}")
        for field in fields(self)[1:]:
            value = getattr(self, field.name)
            if not isinstance(value, bool):
                raise TypeError(f"TypecheckConf({field.name}=...) takes True or False, not {value!r}")

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> TypecheckConf:
        """The configuration that ``environ`` sets: ``NEURALTYPES_DISABLE``, ``NEURALTYPES_DISABLE_SEMANTIC``,
        ``NEURALTYPES_INSTRUMENT`` (or ``NEURALTYPES_NO_INSTRUMENT``); the library's defaults for the rest.

        Each variable is a switch: 1/true/yes/on, 0/false/no/off (any case), or empty or unset for the default.

        Raises:
            ValueError: a variable has another value, naming it, its value and the accepted values; or the two
                instrumentation variables contradict each other.
        """
        return cls(**_read_environment(environ)._asdict())


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


_DEFAULT = _State(checks=True, semantic=_ENVIRONMENT.semantic_checks)
_BASE: ContextVar[_State] = ContextVar("neuraltypes_switch_base", default=_DEFAULT)
"""This context's state outside every ``with`` block: the defaults, unless ``set_checks_enabled`` changed them."""
_BLOCKS: ContextVar[tuple[_Switch, ...]] = ContextVar("neuraltypes_switch_blocks", default=())
"""This context's active switch blocks, in the order they were entered; ``_LEVEL`` is derived from them."""
_LEVEL: ContextVar[Level] = ContextVar("neuraltypes_check_level", default=_DEFAULT.level)

current_level: Callable[[], Level] = _LEVEL.get
"""This thread's check level (False off, 1 without semantic checks, True all): the one read a checked call makes."""


def _level_while_tracing() -> Level:  # pragma: no cover - Dynamo folds the call to its value instead
    raise AssertionError("current_level() is folded to a constant while torch.compile traces")


# A module-level registration, done once, like registering a custom op. Dynamo calls the original at trace time.
torch.compiler.substitute_in_graph(current_level, can_constant_fold_through=True, skip_signature_check=True)(
    _level_while_tracing
)


class SwitchScopeError(RuntimeError):
    """A switch's ``with`` block exited in another context than the one that entered it (see ``_Switch``)."""


class _Switch(ContextDecorator):
    """One ``with`` block of a switch: pushed onto this context's stack of active blocks on entry, removed on exit.

    The state of a context is the defaults with the changes of its active blocks applied in the order they were
    entered, so it never depends on the order blocks exit in. Blocks exited out of order (two ``ExitStack``s
    closed in the wrong order, interleaved generators) raise nothing, as the right state is well defined and this
    context can restore it: while blocks A and B are active the latest entered wins, once A exits B's change alone
    applies, and once both have exited the context is as it was before either. (Restoring "the state this block
    found", as ``ContextVar.reset`` does, would bring back a state that a block exited in between had set: checks
    left off for good.)

    A block exited in another context than the one that entered it (a generator or coroutine suspended inside
    the block and resumed in another thread, asyncio task or ``contextvars.Context``) is removed from the context
    it exits in, if that context inherited it, and raises ``SwitchScopeError``: the context that entered the
    block still has it, and no code can change another context's variables.
    """

    def __init__(self, name: str, field: Literal["checks", "semantic"], on: bool) -> None:
        self._name = name
        self._field = field
        self._on = on
        self._token: Token[tuple[_Switch, ...]] | None = None

    def _recreate_cm(self) -> _Switch:
        # Used as a decorator (``@disable_checks()``), each call enters a fresh block.
        return _Switch(self._name, self._field, self._on)

    def applied_to(self, state: _State) -> _State:
        """The state with this block's change."""
        return state._replace(**{self._field: self._on})

    def __enter__(self) -> None:
        if self._token is not None:
            raise RuntimeError(f"this {self._name} was already entered: call {self._name} for each `with` block")
        blocks = (*_BLOCKS.get(), self)
        self._token = _BLOCKS.set(blocks)
        _LEVEL.set(_state_of(blocks).level)

    def __exit__(self, *exc_info: object) -> None:
        blocks = _BLOCKS.get()
        assert self._token is not None, f"{self._name} exited before it was entered"
        try:
            # Only the token knows which context entered the block; resetting it checks that this is that one.
            _BLOCKS.reset(self._token)
        except ValueError:
            entered_here = False
        else:
            entered_here = True
        remaining = tuple(block for block in blocks if block is not self)
        _BLOCKS.set(remaining)
        _LEVEL.set(_state_of(remaining).level)
        if not entered_here:
            raise SwitchScopeError(
                f"{self._name} exited in another context than the one that entered it (a generator or coroutine "
                f"suspended inside the `with` block and resumed in another thread, asyncio task or "
                f"contextvars.Context): the context that entered it keeps {self._change()}, since no code can "
                f"change another context's variables; exit the block in the thread or task that entered it, and do "
                f"not yield inside it"
            )

    def _change(self) -> str:
        return f"{'semantic checks' if self._field == 'semantic' else 'checks'} {'on' if self._on else 'off'}"


def _state_of(blocks: tuple[_Switch, ...]) -> _State:
    state = _BASE.get()
    for block in blocks:
        state = block.applied_to(state)
    return state


def disable_checks() -> AbstractContextManager[None]:
    """Turn every ``@typecheck`` check off in this thread inside the ``with`` block; nests, restores on exit."""
    return _Switch("disable_checks()", "checks", on=False)


def enable_checks() -> AbstractContextManager[None]:
    """Turn checks back on in this thread inside the ``with`` block (inside a ``disable_checks()`` block)."""
    return _Switch("enable_checks()", "checks", on=True)


def disable_semantic_checks() -> AbstractContextManager[None]:
    """Skip element-type (semantic) checks in this thread inside the ``with`` block; shapes and dtypes stay."""
    return _Switch("disable_semantic_checks()", "semantic", on=False)


def enable_semantic_checks() -> AbstractContextManager[None]:
    """Turn semantic checks on in this thread inside the ``with`` block."""
    return _Switch("enable_semantic_checks()", "semantic", on=True)


def set_checks_enabled(enabled: bool = True) -> None:
    """Turn checks on or off in this thread from now on, outside any ``with`` block (NeMo's
    ``typecheck.set_typecheck_enabled``). Unlike NeMo's, the change is this thread's (and that of asyncio tasks
    it starts later), not the process's: other threads keep their own state. Active ``with`` blocks still apply
    on top of it."""
    _set_base("checks", enabled)


def set_semantic_checks_enabled(enabled: bool = True) -> None:
    """Turn element-type checks on or off in this thread from now on (NeMo's
    ``typecheck.set_semantic_check_enabled``); this thread's, like :func:`set_checks_enabled`."""
    _set_base("semantic", enabled)


def _set_base(field: Literal["checks", "semantic"], enabled: bool) -> None:
    if not isinstance(enabled, bool):
        raise TypeError(f"expected True or False, got {enabled!r}")
    _BASE.set(_BASE.get()._replace(**{field: enabled}))
    _LEVEL.set(_state_of(_BLOCKS.get()).level)


def checks_enabled() -> bool:
    """Whether ``@typecheck`` checks run in this thread now."""
    return CHECKS_AVAILABLE and _LEVEL.get() is not False


def semantic_checks_enabled() -> bool:
    """Whether element-type checks run in this thread now."""
    return checks_enabled() and _LEVEL.get() is True
