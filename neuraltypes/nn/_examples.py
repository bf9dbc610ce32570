"""Example inputs built from declared neural types, for tracing, export and smoke tests."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import NamedTuple

import torch

from neuraltypes.core import (
    AxisKind,
    AxisType,
    BoolType,
    DimExpr,
    Index,
    IntType,
    LabelsType,
    LengthsType,
    MaskType,
    NeuralType,
    RegressionValuesType,
    Size,
    axis_kind_of_name,
    dtype_names,
    size_of_expr,
)

from ._typing import PortType

__all__ = ["example_inputs"]

_BATCH = 2
_SEARCH = 10_000  # the largest fresh size tried before giving up on keeping sizes distinct
_PREFERRED_DTYPES = ("float32", "int64", "bool", "float64", "int32", "float16", "bfloat16", "uint8", "complex64")


class _Sizes:
    """Sizes of the symbolic axes: fixed when given, otherwise distinct from every other size and shared by name.

    A fresh size is never 0 or 1 (``torch.export`` cannot keep those dynamic), never a size already used, and
    never one that makes a size expression (``T-1``) collide with another size or fall below 2: where two axes
    have the same size the types say so, and a shared size variable is not confused with a coincidence.
    """

    def __init__(
        self, given: Mapping[str, int], expressions: Sequence[DimExpr], fixed: Iterable[int], max_dim: int | None
    ) -> None:
        self.bound: dict[str, int] = dict(given)
        self.time: int | None = None  # the first time-axis size: what full-length lengths hold
        self._expressions = expressions
        self._used: set[int] = {*given.values(), *fixed}
        self._max_dim = max_dim
        for expr in expressions:
            if all(name in self.bound for name in expr.variables()):
                self._used.add(expr.evaluate(self.bound))

    def of(self, key: str, kind: object) -> int:
        if key not in self.bound:
            self._assign(key, kind)
        return self.seen(kind, self.bound[key])

    def seen(self, kind: object, size: int) -> int:
        if kind is AxisKind.Time and self.time is None:
            self.time = size
        return size

    def anonymous(self) -> int:
        value = next(n for n in itertools.count(3) if n not in self._used)
        self._used.add(value)
        return value

    def _candidates(self, kind: object) -> Iterator[int]:
        """Batch axes try 2 first; time axes count down from ``max_dim`` when it is given; then 3, 4, 5, ..."""
        if kind is AxisKind.Batch:
            yield _BATCH
        if kind is AxisKind.Time and self._max_dim is not None:
            yield from range(self._max_dim - 1, 1, -1)
        yield from range(3, _SEARCH)

    def _assign(self, key: str, kind: object) -> None:
        for value in self._candidates(kind):
            sizes = self._completed_sizes(key, value)
            if sizes is not None:
                break
        else:  # nothing keeps every size distinct: the first unused size, and a bad expression will say so
            value, sizes = next(n for n in itertools.count(3) if n not in self._used), set()
        self.bound[key] = value
        self._used |= {value, *sizes}

    def _completed_sizes(self, key: str, value: int) -> set[int] | None:
        """The sizes of the expressions that ``key = value`` completes; None if one collides or is below 2."""
        if value in self._used:
            return None
        trial = {**self.bound, key: value}
        taken = {*self._used, value}
        for expr in self._expressions:
            names = expr.variables()
            if key in names and all(name in trial for name in names):
                size = expr.evaluate(trial)
                if size < 2 or size in taken:
                    return None
                taken.add(size)
        return taken - self._used - {value}


def _axis_sizes(port: str, axis: AxisType, sizes: _Sizes) -> tuple[int, ...]:
    if axis.is_list:
        raise ValueError(f"cannot build an example for input {port!r}: it is a list of tensors (NeMo's list axis)")
    if axis.variadic:
        return () if axis.name is None else (sizes.of(f"*{axis.name}", axis.kind),)
    if axis.size is not None:
        if axis.name is not None:
            sizes.bound.setdefault(axis.name, axis.size)
        return (sizes.seen(axis.kind, axis.size),)
    if axis.expr is not None:
        for variable in axis.expr.variables():
            sizes.of(variable, axis_kind_of_name(variable))
        value = axis.expr.evaluate(sizes.bound)
        if value < 1:
            raise ValueError(
                f"cannot build an example for input {port!r}: axis '{axis.expr}' comes to {value} with "
                f"{dict(sizes.bound)}; pass larger sizes"
            )
        return (sizes.seen(axis.kind, value),)
    if axis.name is None and axis.kind is AxisKind.Any:
        return (sizes.anonymous(),)
    return (sizes.of(axis.name if axis.name is not None else str(axis.kind), axis.kind),)


def _dtype(port_type: NeuralType) -> torch.dtype:
    if port_type.dtype is not None:
        names = dtype_names(port_type.dtype)
        name = next((n for n in _PREFERRED_DTYPES if n in names), min(names))
        return getattr(torch, name)  # type: ignore[no-any-return]
    element = port_type.elements_type
    if isinstance(element, BoolType | MaskType):
        return torch.bool
    if isinstance(element, LabelsType | LengthsType | Index | IntType) and not isinstance(
        element, RegressionValuesType
    ):
        return torch.int64
    return torch.float32


def _values(port_type: NeuralType, shape: tuple[int, ...], time: int, generator: torch.Generator) -> torch.Tensor:
    dtype = _dtype(port_type)
    if dtype == torch.bool:
        return torch.ones(shape, dtype=dtype)
    if isinstance(port_type.elements_type, LengthsType):
        return torch.full(shape, time, dtype=dtype)  # lengths of full sequences, valid for any time axis
    if dtype.is_floating_point or dtype.is_complex:
        return torch.randn(shape, generator=generator).to(dtype)
    return torch.randint(0, 2, shape, generator=generator, dtype=dtype)


def _symbol_key(axis: AxisType) -> str | None:
    """The size variable a plain symbolic axis binds (``T``; NeMo's unnamed ``AxisType(Batch)``: ``batch``)."""
    if axis.variadic or axis.size is not None or axis.expr is not None or axis.is_list:
        return None
    if axis.name is None:
        return None if axis.kind is AxisKind.Any else str(axis.kind)
    return axis.name


class _Survey(NamedTuple):
    """What the sizes of an example depend on, read from all its types before any size is chosen."""

    expressions: tuple[DimExpr, ...]  # each distinct size expression once (``T-1`` and ``(T-1)`` are one)
    fixed: frozenset[int]
    first_batch: str | None
    first_time: str | None


def _survey(types: Iterable[NeuralType]) -> _Survey:
    expressions: dict[Size, DimExpr] = {}
    fixed: set[int] = set()
    first: dict[object, str] = {}
    for port_type in types:
        for axis in port_type.axes or ():
            if axis.size is not None:
                fixed.add(axis.size)
            if axis.expr is not None:
                expressions.setdefault(size_of_expr(axis.expr), axis.expr)
            key = _symbol_key(axis)
            if key is not None:
                first.setdefault(axis.kind, key)
    return _Survey(tuple(expressions.values()), frozenset(fixed), first.get(AxisKind.Batch), first.get(AxisKind.Time))


def example_inputs(
    inputs: Mapping[str, PortType],
    sizes: Mapping[str, int] | None = None,
    seed: int = 0,
    *,
    max_batch: int | None = None,
    max_dim: int | None = None,
) -> dict[str, torch.Tensor]:
    """One tensor per typed input: fixed sizes as declared, each size variable one distinct size for all inputs.

    Batch axes get 2, other size variables 3, 4, 5, ... in order of appearance, each distinct from every other
    size of the example, sizes computed by expressions (``T-1``) included, so that a shared size variable is not
    confused with a coincidence and a transposed axis shows. ``sizes`` fixes any of them by name
    (``{"T": 16}``); NeMo's ``max_batch`` is the size of the first batch axis and ``max_dim`` of the first time
    axis (further time axes count down from it). Integer lengths (``LengthsType``) are the full time size;
    floats are seeded normal values.

    Raises:
        ValueError: an input whose shape cannot be built (a list container, no axes, a negative size).
    """
    for name, port_type in inputs.items():
        if not isinstance(port_type, NeuralType):
            raise ValueError(f"cannot build an example for input {name!r}: it is a list of tensors")
        if port_type.axes is None:
            raise ValueError(f"cannot build an example for input {name!r}: its type declares no axes")
    types = {name: port_type for name, port_type in inputs.items() if isinstance(port_type, NeuralType)}
    survey = _survey(types.values())
    given = dict(sizes or {})
    for key, size in ((survey.first_batch, max_batch), (survey.first_time, max_dim)):
        if key is not None and size is not None:
            given.setdefault(key, size)
    state = _Sizes(given, survey.expressions, survey.fixed, max_dim)
    shapes = {
        name: tuple(itertools.chain.from_iterable(_axis_sizes(name, axis, state) for axis in port_type.axes or ()))
        for name, port_type in types.items()
    }
    time = 1 if state.time is None else state.time
    generator = torch.Generator().manual_seed(seed)
    return {name: _values(port_type, shapes[name], time, generator) for name, port_type in types.items()}
