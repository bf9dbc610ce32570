"""The exported program checked against the declared ports: count, rank, dtype, and which axes are dynamic.

torch.export writes each axis of the traced graph as an int (static) or a sympy expression of its own size
symbols. Rather than compare expressions symbolically (torch spells ``T//2`` as ``FloorDiv(s0, 2)``), the check
evaluates them: at a few assignments of torch's symbols (within the exported ranges) every input axis gives
the sizes of the types' variables, and every axis must come out as the types say. A shared variable that the
program does not tie, an axis the program fixed that the types let vary, or an output ``T`` that is not the
input's ``T`` all show as a difference at some assignment, named by port and axis.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from neuraltypes.core import AxisType, NeuralType, dtype_names, size_of_expr
from neuraltypes.nn import PortType

from ._errors import ExportedSignatureError
from ._plan import AxisPlan, ShapePlan, expand_variadic, linear_form, symbol_key

__all__ = ["check_program", "symbol_names", "user_values", "whole_bound"]

_SAMPLES = 3


@dataclass(frozen=True)
class _Value:
    """A user input or output of the graph: its dtype and, per axis, an int or a sympy expression."""

    dtype: torch.dtype
    dims: tuple[Any, ...]


def _value(fake: Any) -> _Value:
    dims = tuple(d.node.expr if isinstance(d, torch.SymInt) else int(d) for d in fake.shape)
    return _Value(fake.dtype, dims)


def user_values(program: torch.export.ExportedProgram) -> tuple[list[_Value], list[_Value | None]]:
    """The graph's user inputs and outputs (an output that is not a tensor is None), in order."""
    from torch.export.graph_signature import InputKind, OutputKind, TensorArgument

    nodes = {node.name: node for node in program.graph.nodes}
    signature = program.graph_signature
    inputs = [
        _value(nodes[spec.arg.name].meta["val"])
        for spec in signature.input_specs
        if spec.kind is InputKind.USER_INPUT and isinstance(spec.arg, TensorArgument)
    ]
    outputs: list[_Value | None] = [
        _value(nodes[spec.arg.name].meta["val"]) if isinstance(spec.arg, TensorArgument) else None
        for spec in signature.output_specs
        if spec.kind is OutputKind.USER_OUTPUT
    ]
    return inputs, outputs


def _samples(program: torch.export.ExportedProgram, values: Sequence[_Value | None]) -> list[dict[Any, int]]:
    """A few assignments of the graph's size symbols, each within its exported range, the symbols distinct."""
    symbols = sorted(
        {s for v in values if v is not None for d in v.dims if not isinstance(d, int) for s in d.free_symbols}, key=str
    )
    ranges = program.range_constraints
    points = []
    for k in range(_SAMPLES):
        point: dict[Any, int] = {}
        for j, symbol in enumerate(symbols):
            bounds = ranges.get(symbol)
            lowest = None if bounds is None else whole_bound(bounds.lower)
            low = 2 if lowest is None else max(lowest, 2)
            high = None if bounds is None else whole_bound(bounds.upper)
            value = low + 3 + 5 * k + 11 * j
            point[symbol] = value if high is None else max(low, min(value, high - k))
        points.append(point)
    return points


def whole_bound(bound: Any) -> int | None:
    """A range bound as an int; None for torch's infinities (``int_oo``, which sympy cannot convert)."""
    try:
        return int(bound) if bound.is_integer else None
    except (TypeError, AttributeError, OverflowError):
        return None


def _at(dim: Any, point: Mapping[Any, int]) -> int:
    return dim if isinstance(dim, int) else int(dim.xreplace({s: point[s] for s in dim.free_symbols}))


class _Checker:
    def __init__(self, owner: str, plan: ShapePlan, points: list[dict[Any, int]]) -> None:
        self.owner = owner
        self.plan = plan
        self.points = points
        self.sizes: list[dict[str, int]] = [{} for _ in points]  # the types' dynamic sizes at each point
        self.free: list[dict[str, int]] = [{} for _ in points]  # output-only sizes, by name
        self.names: dict[Any, Any] = {}  # torch's symbol of an input axis -> a symbol named as the types name it

    def fail(self, where: str, message: str) -> ExportedSignatureError:
        return ExportedSignatureError(f"{self.owner}: {where}: {message}")

    def common(self, where: str, port_type: NeuralType, value: _Value, rank: int) -> None:
        if len(value.dims) != rank:
            raise self.fail(
                where, f"the exported program has {len(value.dims)} axes, the type ({port_type.axes_string}) {rank}"
            )
        if port_type.dtype is not None:
            name = str(value.dtype).removeprefix("torch.")
            if name not in dtype_names(port_type.dtype):
                raise self.fail(where, f"the exported program's dtype is {name}, the type declares {port_type.dtype}")

    def input(self, port: str, port_type: NeuralType, axes: tuple[AxisPlan, ...], value: _Value) -> None:
        where = f"input {port!r}"
        self.common(where, port_type, value, len(axes) if port_type.axes is not None else len(value.dims))
        for index, (axis, dim) in enumerate(zip(axes, value.dims, strict=True)):
            at = f"{where}, axis {index} ({axis.spelling})"
            if not axis.dynamic:
                if not isinstance(dim, int):
                    raise self.fail(at, "dynamic in the exported program, static in the types and options")
                if axis.static is not None and dim != axis.static:
                    raise self.fail(at, f"the exported program's size is {dim}, expected {axis.static}")
                continue
            if isinstance(dim, int):
                raise self.fail(at, f"the exported program fixes it to {dim}, the types let it vary")
            assert axis.size is not None
            if (axis.scale, axis.offset) == (1, 0) and dim.is_Symbol:
                import sympy  # type: ignore[import-untyped, import-not-found, unused-ignore]  # torch's, untyped

                self.names.setdefault(dim, sympy.Symbol(axis.size, integer=True))
            for point, sizes in zip(self.points, self.sizes, strict=True):
                size, rest = divmod(_at(dim, point) - axis.offset, axis.scale)
                previous = sizes.setdefault(axis.size, size)
                if rest or previous != size:
                    raise self.fail(
                        at,
                        f"the exported program does not tie it to {axis.size} as the types do (it admits "
                        f"{_at(dim, point)} where another axis gives {axis.size}={previous})",
                    )

    def output(self, port: str, port_type: NeuralType, value: _Value) -> None:
        where = f"output {port!r}"
        axes = None if port_type.axes is None else expand_variadic(port_type.axes, len(value.dims))
        if port_type.axes is not None and axes is None:
            raise self.fail(
                where, f"the exported program has {len(value.dims)} axes, too few for ({port_type.axes_string})"
            )
        self.common(where, port_type, value, len(axes) if axes is not None else len(value.dims))
        for index, (axis, dim) in enumerate(zip(axes or (), value.dims, strict=True)):
            self.output_axis(f"{where}, axis {index} ({axis})", axis, dim)

    def output_axis(self, at: str, axis: AxisType, dim: Any) -> None:
        if axis.size is not None:
            if dim != axis.size:
                raise self.fail(at, f"the exported program's size is {_show(dim)}, the type fixes {axis.size}")
            return
        if not self.plan.bind_names:
            return
        key = symbol_key(axis)
        for point, sizes, free in zip(self.points, self.sizes, self.free, strict=True):
            actual = _at(dim, point)
            expected = self._expected_size(at, axis, dim, key, sizes, free, actual)
            if expected is not None and actual != expected:
                shown = dim if isinstance(dim, int) else dim.xreplace(self.names)
                raise self.fail(at, _differs(shown, expected, sizes))

    def _expected_size(
        self,
        at: str,
        axis: AxisType,
        dim: Any,
        key: str | None,
        sizes: dict[str, int],
        free: dict[str, int],
        actual: int,
    ) -> int | None:
        """The size the types give an output axis at one sample point; None when there is no size to compare.

        An output-only size (``free``) takes the first value the program gives it, and must keep it.
        """
        known = {**self.plan.example_sizes, **sizes}
        if axis.expr is not None:
            if linear_form(size_of_expr(axis.expr)) is None or not all(n in known for n in axis.expr.variables()):
                # A size of the outputs' own, or one torch cannot derive (``T//2``: its input axis is a size
                # of its own in the program, see _plan): that it varies is all there is to check.
                if isinstance(dim, int) and any(n in sizes for n in axis.expr.variables()):
                    raise self.fail(at, f"the exported program fixes it to {dim}, the types let it vary")
                return None
            return axis.expr.evaluate(known)
        if key is None:
            return None
        if key in known:
            return known[key]
        return free.setdefault(key, actual)


def _show(dim: Any) -> str:
    return str(dim) if isinstance(dim, int) else f"the expression {dim}"


def _differs(dim: Any, expected: int, sizes: Mapping[str, int]) -> str:
    at = ", ".join(f"{name}={size}" for name, size in sizes.items())
    if isinstance(dim, int):
        return f"the exported program fixes it to {dim}, the types make it {expected} when {at}"
    return f"the exported program computes {dim}, which is not the types' size ({expected} when {at})"


def check_program(
    program: torch.export.ExportedProgram,
    plan: ShapePlan,
    kwargs: Mapping[str, Any],
    outputs: Mapping[str, PortType],
    owner: str,
) -> None:
    """Raise if the program's user inputs and outputs differ from the plan and the declared output types.

    Raises:
        ExportedSignatureError: naming the port and axis: a count, rank, dtype or size that differs.
    """
    inputs, results = user_values(program)
    tensors = [name for name, value in kwargs.items() if isinstance(value, torch.Tensor)]
    checker = _Checker(owner, plan, _samples(program, [*inputs, *results]))
    if len(inputs) != len(tensors):
        raise checker.fail(
            "inputs", f"the exported program takes {len(inputs)} tensors, the example gives {len(tensors)}"
        )
    by_name = dict(zip(tensors, inputs, strict=True))
    for port, axes in plan.inputs.items():
        checker.input(port, plan.types[port], axes, by_name[port])
    if len(results) != len(outputs):
        declared = ", ".join(outputs) or "none"
        raise checker.fail(
            "outputs",
            f"the exported program returns {len(results)} values, the types declare {len(outputs)} ({declared})",
        )
    for (port, port_type), value in zip(outputs.items(), results, strict=True):
        if value is None:
            raise checker.fail(f"output {port!r}", "the exported program returns something other than a tensor")
        if isinstance(port_type, NeuralType):
            checker.output(port, port_type, value)


def symbol_names(program: torch.export.ExportedProgram, plan: ShapePlan, passed: Mapping[str, Any]) -> dict[Any, Any]:
    """torch's symbol of each input axis that is just a size of the types -> a sympy symbol of that size's name."""
    import sympy  # type: ignore[import-untyped, import-not-found, unused-ignore]  # torch's, untyped

    inputs, _ = user_values(program)
    tensors = [name for name, value in passed.items() if isinstance(value, torch.Tensor)]
    names: dict[Any, Any] = {}
    for name, value in zip(tensors, inputs, strict=False):
        for axis, dim in zip(plan.inputs.get(name, ()), value.dims, strict=False):
            if axis.size is not None and (axis.scale, axis.offset) == (1, 0) and getattr(dim, "is_Symbol", False):
                names.setdefault(dim, sympy.Symbol(axis.size, integer=True))
    return names
