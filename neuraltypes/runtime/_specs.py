"""Specs: what one annotation asks of a value, read once (at decoration) from the type hints.

A spec tree mirrors the hint: ``TensorSpec`` leaves (a neural type), containers of them, and ``PlainSpec``
for ordinary hints that beartype checks. Both the generated fast path and the explaining slow path walk it:
``children()`` is each node's direct sub-specs, ``walk`` and ``tensors`` the one traversal of a whole tree.
"""

from __future__ import annotations

import collections.abc
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Annotated, Any, Union

import torch

from neuraltypes.core import (
    AxisKind,
    AxisType,
    NeuralType,
    NeuralTypeAnnotationError,
    VoidType,
    dtype_names,
    neural_type_of,
)

__all__ = [
    "DictSpec",
    "ListSpec",
    "NamedTupleSpec",
    "OptionalSpec",
    "PlainSpec",
    "Spec",
    "TensorSpec",
    "TupleSpec",
    "UnionSpec",
    "build_spec",
    "contains_tensor",
    "leaves",
    "tensor_spec",
    "tensors",
    "walk",
]


@dataclass(eq=False)
class TensorSpec:
    """A tensor of a declared neural type.

    ``bind_names`` is False for NeMo-declared types, whose axis labels are kinds only (NeMo's own modules reuse
    ``T`` for different lengths), so only explicit sizes are checked.
    """

    neural_type: NeuralType
    tensor_class: type = torch.Tensor
    axes: tuple[AxisType, ...] | None = None
    dtypes: frozenset[torch.dtype] | None = None
    bind_names: bool = True
    semantic: bool = field(init=False)
    tags: bool = field(init=False)

    def __post_init__(self) -> None:
        nt = self.neural_type
        typed_elements = not isinstance(nt.elements_type, VoidType)
        typed_axes = nt.axes is not None and any(axis.kind is not AxisKind.Any for axis in nt.axes)
        self.semantic = typed_elements or typed_axes
        self.tags = typed_elements

    def children(self) -> tuple[Spec, ...]:
        return ()


@dataclass(eq=False)
class PlainSpec:
    """An ordinary hint (``int``, ``str | None``, ``list[str]``), checked by beartype."""

    hint: Any

    def children(self) -> tuple[Spec, ...]:
        return ()


@dataclass(eq=False)
class OptionalSpec:
    """``X | None``."""

    inner: Spec

    def children(self) -> tuple[Spec, ...]:
        return (self.inner,)


@dataclass(eq=False)
class UnionSpec:
    """A union of one neural tensor type and ordinary hints: tensors go to ``tensor``, the rest to beartype."""

    tensor: TensorSpec
    rest: Any

    def children(self) -> tuple[Spec, ...]:
        return (self.tensor,)


@dataclass(eq=False)
class ListSpec:
    """A homogeneous sequence: ``list[X]``, ``Sequence[X]``, ``tuple[X, ...]``, ``*args: X``, NeMo's ``[X]``
    (a list or a tuple, as NeMo accepts)."""

    container: type | tuple[type, ...]
    inner: Spec

    def children(self) -> tuple[Spec, ...]:
        return (self.inner,)


@dataclass(eq=False)
class TupleSpec:
    """A fixed-length tuple ``tuple[X, Y]``."""

    items: tuple[Spec | None, ...]

    def children(self) -> tuple[Spec, ...]:
        """The items that ask something (an item hinted ``Any`` has no spec)."""
        return tuple(item for item in self.items if item is not None)

    def indexed(self) -> list[tuple[int, Spec]]:
        """The items that ask something, with their index in the tuple."""
        return [(index, item) for index, item in enumerate(self.items) if item is not None]


@dataclass(eq=False)
class DictSpec:
    """``dict[K, X]`` / ``Mapping[K, X]`` / ``**kwargs: X``: every value checked, keys by beartype."""

    container: type
    key: Any
    value: Spec

    def children(self) -> tuple[Spec, ...]:
        return (self.value,)


@dataclass(eq=False)
class NamedTupleSpec:
    """A NamedTuple class whose fields have hints."""

    cls: type
    fields: tuple[tuple[int, str, Spec], ...]

    def children(self) -> tuple[Spec, ...]:
        return tuple(spec for _, _, spec in self.fields)

    def indexed(self) -> list[tuple[int, Spec]]:
        """The fields that ask something, with their index in the tuple."""
        return [(index, spec) for index, _, spec in self.fields]


Spec = TensorSpec | PlainSpec | OptionalSpec | UnionSpec | ListSpec | TupleSpec | DictSpec | NamedTupleSpec

_IGNORED: tuple[Any, ...] = (Any, object)
NEMO_LIST = (list, tuple)
"""What a NeMo list level accepts (NeMo's own check is ``isinstance(value, (list, tuple))``)."""
_SEQUENCES: dict[Any, type] = {
    list: list,
    collections.abc.Sequence: collections.abc.Sequence,
    collections.abc.MutableSequence: collections.abc.MutableSequence,
}
_MAPPINGS: dict[Any, type] = {
    dict: dict,
    collections.abc.Mapping: collections.abc.Mapping,
    collections.abc.MutableMapping: collections.abc.MutableMapping,
}


def tensor_spec(neural_type: NeuralType, tensor_class: type = torch.Tensor, *, bind_names: bool = True) -> Spec:
    """The spec of a tensor of ``neural_type``; NeMo's leading list axes (``is_list``) become list levels."""
    axes = neural_type.axes
    depth = 0
    while axes is not None and depth < len(axes) and axes[depth].is_list:
        depth += 1
    dtypes = None
    if neural_type.dtype is not None:
        dtypes = frozenset(getattr(torch, n) for n in dtype_names(neural_type.dtype) if hasattr(torch, n))
    spec: Spec = TensorSpec(neural_type, tensor_class, None if axes is None else axes[depth:], dtypes, bind_names)
    for _ in range(depth):
        spec = ListSpec(NEMO_LIST, spec)
    return spec


def walk(spec: Spec | None) -> Iterator[Spec]:
    """``spec`` and every spec under it, depth first, in declaration order (nothing for None)."""
    if spec is None:
        return
    yield spec
    for child in spec.children():
        yield from walk(child)


def leaves(spec: Spec | None) -> Iterator[Spec]:
    """The specs in ``spec`` that hold no other (tensors and ordinary hints), depth first, in declaration order."""
    return (node for node in walk(spec) if not node.children())


def tensors(spec: Spec | None) -> Iterator[TensorSpec]:
    """The tensor specs in ``spec``, depth first, in declaration order."""
    return (node for node in leaves(spec) if isinstance(node, TensorSpec))


def contains_tensor(spec: Spec | None) -> bool:
    """Whether a spec checks a neural type anywhere (otherwise beartype alone can check the hint)."""
    return next(tensors(spec), None) is not None


def build_spec(hint: Any) -> Spec | None:
    """The spec of a type hint, or None when it asks nothing (missing, ``Any``, ``object``).

    Raises:
        NeuralTypeAnnotationError: a hint that mixes neural types in a way the checker cannot decide (a union of two).
    """
    if any(hint is ignored for ignored in _IGNORED):
        return None
    origin = typing.get_origin(hint)
    if origin is Annotated:
        neural = neural_type_of(hint)
        if neural is not None:
            return tensor_spec(neural, _tensor_class(typing.get_args(hint)[0]))
        inner = build_spec(typing.get_args(hint)[0])
        return inner if contains_tensor(inner) else PlainSpec(hint)
    if origin in (Union, types.UnionType):
        return _union_spec(hint)
    neural = neural_type_of(hint)
    if neural is not None:  # jaxtyping's Float[Tensor, "b c"]
        return tensor_spec(neural, _tensor_class(getattr(hint, "array_type", torch.Tensor)))
    spec = _container_spec(hint, origin)
    return spec if contains_tensor(spec) else PlainSpec(hint)


def _tensor_class(candidate: Any) -> type:
    if isinstance(candidate, type) and issubclass(candidate, torch.Tensor):
        return candidate
    raise NeuralTypeAnnotationError(f"a neural type annotates tensors, not {candidate!r}")


def _union_spec(hint: Any) -> Spec:
    members = typing.get_args(hint)
    others = [m for m in members if m is not type(None)]
    if len(others) < len(members) and len(others) == 1:
        inner = build_spec(others[0])
        return OptionalSpec(inner) if inner is not None and contains_tensor(inner) else PlainSpec(hint)
    specs = [build_spec(m) for m in others]
    neural = [s for s in specs if contains_tensor(s)]
    if not neural:
        return PlainSpec(hint)
    if len(neural) == 1 and isinstance(neural[0], TensorSpec):
        rest = [m for m, s in zip(others, specs, strict=True) if s is not neural[0]]
        if len(others) < len(members):
            rest.append(type(None))
        return UnionSpec(neural[0], Union[tuple(rest)])  # noqa: UP007  (built from a runtime tuple)
    raise NeuralTypeAnnotationError(
        f"cannot check {hint!r}: a union may hold one neural tensor type among ordinary types, "
        "not several neural types or containers of them"
    )


def _container_spec(hint: Any, origin: Any) -> Spec | None:
    args = typing.get_args(hint)
    if origin in _SEQUENCES and len(args) == 1:
        inner = build_spec(args[0])
        return None if inner is None else ListSpec(_SEQUENCES[origin], inner)
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        inner = build_spec(args[0])
        return None if inner is None else ListSpec(tuple, inner)
    if origin is tuple and args and args != ((),):
        return TupleSpec(tuple(build_spec(arg) for arg in args))
    if origin in _MAPPINGS and len(args) == 2:
        value = build_spec(args[1])
        key = None if any(args[0] is ignored for ignored in _IGNORED) else args[0]
        return None if value is None else DictSpec(_MAPPINGS[origin], key, value)
    if isinstance(hint, type) and issubclass(hint, tuple) and hasattr(hint, "_fields"):
        hints = typing.get_type_hints(hint, include_extras=True)
        fields = tuple(
            (index, name, spec)
            for index, name in enumerate(hint._fields)
            if (spec := build_spec(hints.get(name, Any))) is not None
        )
        return NamedTupleSpec(hint, fields)
    return None
