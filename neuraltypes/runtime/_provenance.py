"""Element-type provenance: the neural type a tensor carries, as an attribute on the tensor.

A tensor returned by a typed function is tagged with the declared return type (``tensor.neural_type``, NeMo's
attribute name, so NeMo-era code that reads it keeps working). Why an attribute: it is the one mechanism that
survives ``torch.compile(fullgraph=True)`` without a graph break (Dynamo turns the read into a guard and keeps
the write on compiled outputs); id-keyed dictionaries and weak maps break the graph, and a tensor subclass
slows down every later op.

The rules, chosen so that the tag never lies about a tensor it does not own:

* only outputs are tagged, only when untagged, and only when the declared element type says something (not
  ``VoidType``): a tensor that already carries a tag keeps it (it was checked against the declared type);
* only tensors the call made are tagged, so the caller's tensors are not mutated: not a tensor passed in as an
  argument (annotated or not, through ``*args``/``**kwargs``, or inside a list, tuple or dict argument
  annotated as holding tensors) and returned as it is, and not an ``nn.Parameter`` (a module's weight, which
  weight tying may share between modules);
* views, ``.detach()``, ``.to()``, ``.clone()`` and every other op return untagged tensors: they are of
  unknown provenance and checked for shape and dtype only. In-place ops keep the (possibly stale) tag.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from neuraltypes.core import AxisKind, AxisType, NeuralType

__all__ = ["CONTAINERS", "TAG_ATTRIBUTE", "make_acceptor", "accepts", "held_by", "tag_of", "set_tag"]

TAG_ATTRIBUTE = "neural_type"
_CACHE_LIMIT = 1024
CONTAINERS = (list, tuple, dict)
"""The containers an argument may pass the caller's tensors in (``held_by`` looks inside them)."""
_DEPTH_LIMIT = 16


def held_by(value: object, container: list[Any] | tuple[Any, ...] | dict[Any, Any], depth: int = _DEPTH_LIMIT) -> bool:
    """Whether ``value`` is one of the items of ``container`` (dict values) or, down to ``depth`` more levels,
    of a list, tuple or dict inside it."""
    items = container.values() if isinstance(container, dict) else container
    for item in items:
        if item is value:
            return True
        if depth > 0 and isinstance(item, CONTAINERS) and held_by(value, item, depth - 1):
            return True
    return False


def tag_of(tensor: Any) -> NeuralType | None:
    """The neural type a tensor carries, or None when it has none (unknown provenance)."""
    tag = getattr(tensor, TAG_ATTRIBUTE, None)
    return tag if isinstance(tag, NeuralType) else None


def set_tag(tensor: Any, neural_type: NeuralType | None) -> Any:
    """Attach (or with None, remove) a tensor's neural type, for code that knows better; returns the tensor."""
    if neural_type is None:
        if hasattr(tensor, TAG_ATTRIBUTE):
            delattr(tensor, TAG_ATTRIBUTE)
    else:
        setattr(tensor, TAG_ATTRIBUTE, neural_type)
    return tensor


def accepts(declared: NeuralType, carried: object) -> bool:
    """Whether a tensor tagged ``carried`` may be passed where ``declared`` is expected.

    SAME or GREATER (a subtype) in ``compare`` terms, over axis kinds and element types. Sizes are left out:
    the tensor's actual sizes were just checked, and a producer that declared ``"B T D"`` says nothing wrong
    about a tensor a consumer wants as ``"B T 32"``. When either side declares no axes, only the element
    types are compared (a NeMo-style ``NeuralType(elements_type=LossType())`` says nothing about axes).
    Anything that is not one of our ``NeuralType`` objects (NeMo's, a user's attribute) is not a tag.
    """
    if not isinstance(carried, NeuralType):
        return True
    if declared.axes is None or carried.axes is None:
        return declared.elements_type.compare(carried.elements_type).accepted
    return _without_sizes(declared).compare(_without_sizes(carried, declared.axes)).accepted


def _without_sizes(neural_type: NeuralType, kinds_from: tuple[AxisType, ...] | None = None) -> NeuralType:
    """``neural_type`` with no sizes; with ``kinds_from`` (the declared axes), an axis that says nothing of its
    kind (``80`` or ``_`` in the producer's annotation) takes the declared axis's kind: it does not contradict it."""
    assert neural_type.axes is not None
    axes = tuple(dataclasses.replace(axis, size=None, expr=None) for axis in neural_type.axes)
    if kinds_from is not None and len(kinds_from) == len(axes):
        axes = tuple(
            dataclasses.replace(axis, kind=like.kind) if axis.kind is AxisKind.Any else axis
            for axis, like in zip(axes, kinds_from, strict=True)
        )
    return NeuralType(axes, neural_type.elements_type, neural_type.optional, dtype=neural_type.dtype)


def make_acceptor(declared: NeuralType) -> Callable[[object], bool]:
    """``accepts(declared, tag)`` memoized per tag object: the hot path pays a dict lookup, not a compare.

    Keyed by ``id(tag)``; the entry holds the tag itself, so the id cannot be reused while it is cached.
    """
    cache: dict[int, tuple[object, bool]] = {}

    def acceptor(carried: object) -> bool:
        hit = cache.get(id(carried))
        if hit is not None and hit[0] is carried:
            return hit[1]
        result = accepts(declared, carried)
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        cache[id(carried)] = (carried, result)
        return result

    return acceptor
