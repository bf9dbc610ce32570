"""Which resolved objects a config may instantiate, and how a class is marked as allowed.

The check is made on the object a ``_target_`` resolves to, never on its string, so that an alias such as
``torch.optim.optimizer.torch.load`` is judged as what it is (``torch.load``), not by its prefix.
"""

from __future__ import annotations

import inspect
import types
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import torch

__all__ = ["INSTANTIABLE_MARK", "describe", "instantiable", "refusal_reason"]

#: Class (or function) attribute that marks an object as instantiable from configs; inherited by subclasses.
INSTANTIABLE_MARK = "__neuraltypes_instantiable__"

_T = TypeVar("_T", bound=Callable[..., Any])


def instantiable(obj: _T) -> _T:
    """Mark a class (and its subclasses) or a function as allowed as a config ``_target_``.

    The mark is an attribute on the object itself, so it travels with the code and needs no registry.

    Raises:
        TypeError: if ``obj`` is neither a class nor a plain function.
    """
    if not isinstance(obj, type | types.FunctionType):
        raise TypeError(f"@instantiable marks classes and functions, not {type(obj).__name__} objects")
    setattr(obj, INSTANTIABLE_MARK, True)
    return obj


def _is_marked(obj: object) -> bool:
    # Read the mark from the class dictionaries (or the function's own dict), never through getattr:
    # objects with a permissive __getattr__ (mocks, proxies) must not pass by answering "yes" to anything.
    if isinstance(obj, type):
        return any(vars(klass).get(INSTANTIABLE_MARK) is True for klass in inspect.getmro(obj))
    if isinstance(obj, types.FunctionType):
        return obj.__dict__.get(INSTANTIABLE_MARK) is True
    return False


def _is_public_member_class(namespace: types.ModuleType, obj: type, base: type) -> bool:
    return getattr(namespace, obj.__name__, None) is obj and issubclass(obj, base)


def _is_named_torch_class(obj: object) -> bool:
    if not isinstance(obj, type):
        return False
    return (
        _is_public_member_class(torch.nn, obj, torch.nn.Module)
        or _is_public_member_class(torch.optim, obj, torch.optim.Optimizer)
        or _is_public_member_class(torch.optim.lr_scheduler, obj, torch.optim.lr_scheduler.LRScheduler)
    )


def describe(obj: object) -> str:
    """A short description of what an object is, for error messages (``function torch.serialization.load``)."""
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None)
    if isinstance(obj, types.ModuleType):
        return f"module {obj.__name__}"
    kind = "class" if isinstance(obj, type) else type(obj).__name__
    if isinstance(module, str) and isinstance(qualname, str):
        return f"{kind} {module}.{qualname}"
    return f"{'an' if kind[:1] in 'aeiou' else 'a'} {kind} object"


def refusal_reason(obj: object, allow: Iterable[object] = ()) -> str | None:
    """Why ``obj`` may not be instantiated from a config, or None when it may.

    Allowed: anything in ``allow`` (by identity), classes and functions marked with :func:`instantiable`
    (``NeuralModule`` and every ``Serialization`` subclass carry the mark), and the public module classes of
    ``torch.nn`` and optimizer and scheduler classes of ``torch.optim``.
    """
    if any(obj is allowed for allowed in allow):
        return None
    if _is_marked(obj) or _is_named_torch_class(obj):
        return None
    if not callable(obj):
        return f"it resolves to {describe(obj)}, which cannot be called"
    return (
        f"it resolves to {describe(obj)}, which is not on the allowlist (NeuralModule and Serialization "
        "subclasses, classes marked @instantiable, torch.nn modules, torch.optim optimizers and schedulers)"
    )
