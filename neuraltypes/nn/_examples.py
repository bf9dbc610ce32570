"""Example inputs built from declared neural types, for tracing, export and smoke tests."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping

import torch

from ..core import (
    AxisKind,
    AxisType,
    BoolType,
    Index,
    IntType,
    LabelsType,
    LengthsType,
    MaskType,
    NeuralType,
    RegressionValuesType,
    dtype_names,
)
from ._typing import PortType

__all__ = ["example_inputs"]

_BATCH = 2
_PREFERRED_DTYPES = ("float32", "int64", "bool", "float64", "int32", "float16", "bfloat16", "uint8", "complex64")


class _Sizes:
    """Sizes of the symbolic axes: fixed when given, otherwise small, distinct and shared by name."""

    def __init__(self, given: Mapping[str, int]) -> None:
        self.bound: dict[str, int] = dict(given)
        self.time: int | None = None  # the first time-axis size: what full-length lengths hold
        self._fresh: Iterator[int] = (n for n in itertools.count(3) if n not in given.values() and n != _BATCH)

    def of(self, key: str, kind: object) -> int:
        if key not in self.bound:
            self.bound[key] = _BATCH if kind is AxisKind.Batch else next(self._fresh)
        return self.seen(kind, self.bound[key])

    def seen(self, kind: object, size: int) -> int:
        if kind is AxisKind.Time and self.time is None:
            self.time = size
        return size

    def anonymous(self) -> int:
        return next(self._fresh)


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
            sizes.of(variable, None)
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


def example_inputs(
    inputs: Mapping[str, PortType], sizes: Mapping[str, int] | None = None, seed: int = 0
) -> dict[str, torch.Tensor]:
    """One tensor per typed input: fixed sizes as declared, each size variable one small value for all inputs.

    Batch axes get 2, other symbolic sizes 3, 4, 5, ... in order of appearance (distinct, so a transposed
    axis shows); ``sizes`` fixes any of them by name (``{"T": 16}``). Integer lengths (``LengthsType``) are
    the full time size; floats are seeded normal values.

    Raises:
        ValueError: an input whose shape cannot be built (a list container, no axes, a negative size).
    """
    state = _Sizes(sizes or {})
    shapes: dict[str, tuple[int, ...]] = {}
    for name, port_type in inputs.items():
        if not isinstance(port_type, NeuralType):
            raise ValueError(f"cannot build an example for input {name!r}: it is a list of tensors")
        if port_type.axes is None:
            raise ValueError(f"cannot build an example for input {name!r}: its type declares no axes")
        shapes[name] = tuple(itertools.chain.from_iterable(_axis_sizes(name, a, state) for a in port_type.axes))
    time = 1 if state.time is None else state.time
    generator = torch.Generator().manual_seed(seed)
    return {
        name: _values(port_type, shapes[name], time, generator)
        for name, port_type in inputs.items()
        if isinstance(port_type, NeuralType)
    }
