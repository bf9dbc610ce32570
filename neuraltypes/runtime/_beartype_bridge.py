"""beartype for the ordinary (non-tensor) hints: a fast tester for the hot path, beartype's message on failure.

The tester is beartype's own memoized, code-generated checker for one hint (~90 ns a call). Its factory is
private API, so it is used only on the beartype versions it was read from and otherwise replaced by the
public ``is_bearable`` (~1.2 us). Failures are explained with the public ``die_if_unbearable``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import beartype
from beartype import BeartypeConf, BeartypeStrategy
from beartype.door import TypeHint, die_if_unbearable, is_bearable
from beartype.roar import BeartypeDoorNonpepException

__all__ = ["DEFAULT_CONF", "explain_violation", "is_type_hint", "make_tester"]

DEFAULT_CONF = BeartypeConf()
_PRIVATE_FACTORY_VERSIONS = ("0.23.",)  # the releases the private factory was read from (.ci/compat.py tests them)


def _private_factory() -> Callable[[Any, BeartypeConf], Callable[[object], bool]] | None:
    if not beartype.__version__.startswith(_PRIVATE_FACTORY_VERSIONS):
        return None
    try:
        from beartype._check.make.checkmakefunc import make_code_tester_check
        from beartype.door._func.doorfunc import _func_tester_factory
    except ImportError:
        return None

    def factory(hint: Any, conf: BeartypeConf) -> Callable[[object], bool]:
        tester: Callable[[object], Any] = _func_tester_factory.cache_func_checker(
            hint, conf, "", make_code_tester_check
        )
        return tester

    return factory


_FACTORY = _private_factory()


def is_type_hint(hint: Any) -> bool:
    """Whether beartype can check ``hint`` (``list()`` or ``3`` written as an annotation cannot be); a string,
    a forward reference beartype resolves when it checks, counts as a hint."""
    if isinstance(hint, str):
        return True
    try:
        TypeHint(hint)
    except BeartypeDoorNonpepException:
        return False
    return True


def make_tester(hint: Any, conf: BeartypeConf = DEFAULT_CONF) -> Callable[[object], bool]:
    """A function ``value -> bool``: whether ``value`` satisfies ``hint`` under ``conf``."""
    if _FACTORY is not None:
        try:
            return _FACTORY(hint, conf)
        except Exception:  # a change inside beartype's private API: use the public path
            pass

    def tester(value: object) -> bool:
        return is_bearable(value, hint, conf=conf)

    return tester


def explain_violation(value: object, hint: Any, conf: BeartypeConf = DEFAULT_CONF) -> str | None:
    """beartype's description of how ``value`` violates ``hint``, or None when it does not.

    beartype's default strategy checks one random item of a container, so the tester and this explanation
    may look at different items; a second, exhaustive pass finds the item the tester saw.
    """
    for attempt in (conf, BeartypeConf(strategy=BeartypeStrategy.On, is_pep484_tower=conf.is_pep484_tower)):
        try:
            die_if_unbearable(value, hint, conf=attempt, exception_prefix="")
        except Exception as violation:
            return str(violation)
    return None
