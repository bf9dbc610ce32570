"""The shape plan: what every axis of every typed input is to the exporters, read from the types.

A size variable (``B``, ``T``) is one dynamic size shared by every axis that names it; a fixed size (``D:80``,
``80``) is static; ``T-1``, ``2*T`` and other sizes linear in one variable are derived from it; other
expressions (``T//2``, ``B*T``) become a dynamic size of their own, which the exported program does not relate
to the variables (torch's derived dimensions are linear in one root). An anonymous axis (``_``, ``...``) says
nothing about varying: it keeps the example's size. NeMo's types (``input_types`` properties) label kinds, not
sizes: there, as in NeMo's ``Exportable``, batch, time, width and height axes are dynamic, each a size of its
own unless the module relates them, and other axes keep the example's size.

The arithmetic is core's (``size_of_expr``); nothing here parses an axes string.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

from neuraltypes.core import AxisKind, AxisLayout, AxisType, NeuralType, Size, axis_kind_of_name, size_of_expr
from neuraltypes.nn import PortType

from ._errors import DynamicShapesError

__all__ = ["AxisPlan", "ShapePlan", "SizePlan", "expand_variadic", "linear_form", "plan_shapes", "symbol_key"]

#: The largest size given to a variable that a derived size depends on, unless the caller bounds it: torch 2.13
#: fails (``KeyError: 'max'`` in ``prettify_results``) on a derived dimension whose root has no maximum.
DERIVED_ROOT_MAX = 2**31 - 1

_NEMO_DYNAMIC_KINDS = (AxisKind.Batch, AxisKind.Time, AxisKind.Width, AxisKind.Height)


@dataclass
class SizePlan:
    """One dynamic size: a variable of the types, or an expression torch cannot derive (``T//2``)."""

    name: str  # as the types spell it: "B", "T_audio", "T//2"
    min: int | None = None
    max: int | None = None
    from_caller: bool = False  # min/max given by the caller (``ranges``): the module may not narrow them
    varies: bool = False  # a batch or time size: one the module fixing is an error, not a finding
    notes: list[str] = field(default_factory=list)  # what the export learned of the module: "min 80"

    @property
    def dim_name(self) -> str:
        """An identifier for ``torch.export.Dim`` (expressions spelled out: ``T_div_2``)."""
        spelled = self.name
        for op, word in (("//", "_div_"), ("*", "_times_"), ("+", "_plus_"), ("-", "_minus_")):
            spelled = spelled.replace(op, word)
        return re.sub(r"\W", "", spelled)


@dataclass(frozen=True)
class AxisPlan:
    """One axis of an input: ``scale * size + offset`` of a dynamic size, or static (``static``: its size, when
    known; an anonymous axis planned without an example has none)."""

    spelling: str  # the axis as the types write it: "T", "T-1", "D:80", "_"
    static: int | None = None
    size: str | None = None  # the dynamic size's name (a key of ShapePlan.sizes); None when static
    scale: int = 1
    offset: int = 0

    @property
    def dynamic(self) -> bool:
        return self.size is not None


@dataclass
class ShapePlan:
    """Axis plans of the typed inputs present in the example, and the dynamic sizes they use."""

    inputs: dict[str, tuple[AxisPlan, ...]]  # port -> its axes, for the typed inputs given in the example
    types: dict[str, NeuralType]  # port -> its declared type, for the same inputs
    sizes: dict[str, SizePlan]
    example_sizes: dict[str, int]  # every size variable's size in the example (static ones included)
    bind_names: bool  # False for NeMo's types: labels are kinds, not shared sizes
    static_notes: dict[str, str] = field(default_factory=dict)  # why a size variable is static
    fixed_by_module: dict[str, int] = field(default_factory=dict)  # sizes the module turned out to fix
    notes: list[str] = field(default_factory=list)  # what else the export had to do (a run-time assert)
    tied: dict[str, str] = field(default_factory=dict)  # sizes the module ties to another (NeMo's types): "x_B"

    def torch_dynamic_shapes(self, kwargs: Mapping[str, Any]) -> dict[str, Any]:
        """The ``dynamic_shapes`` argument of ``torch.export.export`` for ``kwargs``: one ``Dim`` per size."""
        dims = {name: _dim(size) for name, size in self.sizes.items()}
        spec: dict[str, Any] = {}
        for name in kwargs:
            axes = self.inputs.get(name)
            if axes is None or not any(axis.dynamic for axis in axes):
                spec[name] = None
                continue
            spec[name] = {index: _derived(dims[axis.size], axis) for index, axis in enumerate(axes) if axis.size}
        return spec

    def fix(self, name: str, value: int) -> None:
        """Make the dynamic size ``name`` static at ``value`` (the module fixes it): its axes, and those derived."""
        del self.sizes[name]
        self.fixed_by_module[name] = value
        self.static_notes[name] = "fixed by the module"
        for port, axes in self.inputs.items():
            self.inputs[port] = tuple(
                dataclasses.replace(axis, static=axis.scale * value + axis.offset, size=None, scale=1, offset=0)
                if axis.size == name
                else axis
                for axis in axes
            )
        self.example_sizes.setdefault(name, value)

    def relate(self, name: str, root: str, scale: int, offset: int) -> None:
        """Make the size ``name`` ``scale * root + offset`` (the module relates NeMo-typed axes)."""
        del self.sizes[name]
        self.example_sizes.pop(name, None)
        text = root if scale == 1 else f"{scale}*{root}"
        self.tied[name] = text if not offset else f"{text}{offset:+d}"
        for port, axes in self.inputs.items():
            self.inputs[port] = tuple(
                dataclasses.replace(axis, size=root, scale=axis.scale * scale, offset=axis.scale * offset + axis.offset)
                if axis.size == name
                else axis
                for axis in axes
            )


def _dim(size: SizePlan) -> Any:
    return torch.export.Dim(size.dim_name, min=size.min, max=size.max)


def _derived(dim: Any, axis: AxisPlan) -> Any:
    """``scale * dim + offset`` as torch spells a derived dimension (the root itself when it is just the root)."""
    if axis.scale != 1:
        dim = dim * axis.scale
    if axis.offset > 0:
        dim = dim + axis.offset
    elif axis.offset < 0:
        dim = dim - (-axis.offset)
    return dim


def symbol_key(axis: AxisType) -> str | None:
    """The size variable of a plain symbolic axis (``T``; NeMo's unnamed ``AxisType(Batch)``: ``batch``)."""
    if axis.variadic or axis.size is not None or axis.expr is not None or axis.is_list:
        return None
    if axis.name is None:
        return None if axis.kind is AxisKind.Any else str(axis.kind)
    return axis.name


def linear_form(size: Size) -> tuple[str, int, int] | None:
    """``(root, scale, offset)`` when ``size`` is ``scale * root + offset`` with whole numbers, ``scale > 0``."""
    root: str | None = None
    scale, offset = 0, 0
    for monomial, coefficient in size.terms:
        if coefficient.denominator != 1:
            return None
        if not monomial:
            offset += int(coefficient)
        elif len(monomial) == 1 and monomial[0][1] == 1 and root in (None, monomial[0][0]):
            root, scale = monomial[0][0], scale + int(coefficient)
        else:
            return None
    if root is None or scale <= 0:
        return None
    return root, scale, offset


def expand_variadic(axes: tuple[AxisType, ...], rank: int) -> tuple[AxisType, ...] | None:
    """``axes`` for a tensor of ``rank`` axes, the variadic one spelled out (``*batch``: ``batch_0``,
    ``batch_1``...; ``...``: anonymous axes); None when the rank is too small."""
    layout = AxisLayout.of(axes)
    at = layout.variadic_at
    if at is None:
        return axes
    if not layout.fits(rank):
        return None
    star = axes[at]
    middle = tuple(
        AxisType(AxisKind.Any) if star.name is None else AxisType(AxisKind.Any, name=f"{star.name}_{i}")
        for i in range(len(layout.span(at, rank)))
    )
    return (*axes[:at], *middle, *axes[at + 1 :])


def _expanded(port: str, port_type: NeuralType, example: object) -> tuple[AxisType, ...]:
    """The axes of ``port``, its variadic axis expanded to the example's rank."""
    axes = port_type.axes or ()
    layout = AxisLayout.of(axes)
    rank = example.dim() if isinstance(example, torch.Tensor) else None
    if rank is None:
        if layout.variadic_at is not None:
            raise DynamicShapesError(
                f"input {port!r} has a variadic axis ({port_type.axes_string}): pass an input_example to tell its rank"
            )
        return axes
    expanded = expand_variadic(axes, rank)
    if expanded is None or not layout.fits(rank):
        raise DynamicShapesError(
            f"input {port!r}: the example has {rank} axes, the type ({port_type.axes_string}) declares "
            f"{layout.rank_wanted()}"
        )
    return expanded


@dataclass
class _Builder:
    static: frozenset[str]
    ranges: Mapping[str, tuple[int | None, int | None]]
    bind_names: bool
    sizes: dict[str, SizePlan] = field(default_factory=dict)
    example_sizes: dict[str, int] = field(default_factory=dict)
    static_notes: dict[str, str] = field(default_factory=dict)
    fallbacks: dict[Size, str] = field(default_factory=dict)

    def dynamic(self, name: str, kind: object) -> SizePlan:
        if name not in self.sizes:
            low, high = self.ranges.get(name, (None, None))
            varies = kind in (AxisKind.Batch, AxisKind.Time)
            self.sizes[name] = SizePlan(name, low, high, from_caller=name in self.ranges, varies=varies)
        return self.sizes[name]

    def axis(self, port: str, index: int, axis: AxisType, actual: int | None) -> AxisPlan:
        spelling = str(axis)
        if axis.size is not None:
            if axis.name is not None:
                self.example_sizes.setdefault(axis.name, axis.size)
                self.static_notes.setdefault(axis.name, "declared")
            return AxisPlan(spelling, static=axis.size)
        if axis.expr is not None:
            return self.expression(port, axis, actual)
        key = symbol_key(axis)
        if key is None:  # `_`, `...`: nothing says it varies
            return AxisPlan(spelling, static=actual)
        if not self.bind_names:
            key = f"{port}_{key}"
        if actual is not None:
            self.example_sizes.setdefault(key, actual)
        if not self.bind_names and axis.kind not in _NEMO_DYNAMIC_KINDS:
            self.static_notes.setdefault(key, "not a batch, time, width or height axis (NeMo's types)")
            return AxisPlan(spelling, static=actual)
        if key in self.static:
            self.static_notes.setdefault(key, "static=")
            return AxisPlan(spelling, static=actual)
        self.dynamic(key, axis.kind)
        return AxisPlan(spelling, size=key)

    def expression(self, port: str, axis: AxisType, actual: int | None) -> AxisPlan:
        assert axis.expr is not None
        spelling = str(axis)
        size = size_of_expr(axis.expr)
        form = linear_form(size) if self.bind_names else None
        if form is not None and form[0] not in self.static:
            root, scale, offset = form
            self.dynamic(root, axis_kind_of_name(root))
            return AxisPlan(spelling, size=root, scale=scale, offset=offset)
        if any(name in self.static for name in axis.expr.variables()) or not self.bind_names:
            return AxisPlan(spelling, static=actual)
        name = self.fallbacks.setdefault(size, str(axis.expr))
        self.dynamic(name, axis.kind)
        return AxisPlan(spelling, size=name)

    def bound_roots(self, inputs: Mapping[str, tuple[AxisPlan, ...]]) -> None:
        """Give each root of a derived size a minimum keeping every derived size >= 0, and a maximum (torch)."""
        for axes in inputs.values():
            for axis in axes:
                if axis.size is None or (axis.scale, axis.offset) == (1, 0):
                    continue
                root = self.sizes[axis.size]
                needed = max(0, math.ceil(-axis.offset / axis.scale))
                if root.min is None or root.min < needed:
                    if root.from_caller and root.min is not None:
                        raise DynamicShapesError(
                            f"size {root.name}: ranges= gives it minimum {root.min}, but axis {axis.spelling!r} would "
                            f"then be negative; give {root.name} a minimum of {needed} at least"
                        )
                    root.min = needed
                if root.max is None:
                    root.max = DERIVED_ROOT_MAX


def plan_shapes(
    inputs: Mapping[str, PortType],
    kwargs: Mapping[str, Any] | None,
    *,
    bind_names: bool = True,
    static: Iterable[str] = (),
    ranges: Mapping[str, tuple[int | None, int | None]] | None = None,
) -> ShapePlan:
    """The plan for the typed ``inputs``; ``kwargs`` (the example, or None) says which are given and their ranks.

    Raises:
        DynamicShapesError: a list port, a variadic axis without an example, a rank that differs from the type's,
            a dynamic size whose example is 0 or 1 (torch.export would fix it), or bounds that cannot hold.
    """
    builder = _Builder(frozenset(static), dict(ranges or {}), bind_names)
    planned: dict[str, tuple[AxisPlan, ...]] = {}
    for port, port_type in inputs.items():
        example = None if kwargs is None else kwargs.get(port)
        if kwargs is not None and example is None:
            continue  # an optional input left out of the example: exported without it
        if not isinstance(port_type, NeuralType):
            raise DynamicShapesError(
                f"input {port!r} is a list of tensors: export takes tensors (pass them as separate inputs)"
            )
        if port_type.axes is None:
            planned[port] = ()
            continue
        if any(axis.is_list for axis in port_type.axes):
            raise DynamicShapesError(f"input {port!r} has NeMo's list axis: export takes tensors, not lists")
        axes = _expanded(port, port_type, example)
        shape = tuple(example.shape) if isinstance(example, torch.Tensor) else (None,) * len(axes)
        planned[port] = tuple(builder.axis(port, i, axis, shape[i]) for i, axis in enumerate(axes))
    _check_unknown(builder, static, ranges or {})
    builder.bound_roots(planned)
    types = {
        port: port_type for port, port_type in inputs.items() if port in planned and isinstance(port_type, NeuralType)
    }
    plan = ShapePlan(planned, types, builder.sizes, builder.example_sizes, bind_names, builder.static_notes)
    if kwargs is not None:
        _check_example(plan, kwargs)
    return plan


def _check_unknown(builder: _Builder, static: Iterable[str], ranges: Mapping[str, Any]) -> None:
    known = set(builder.sizes) | set(builder.example_sizes)
    for option, names in (("static", static), ("ranges", ranges)):
        unknown = sorted(set(names) - known)
        if unknown:
            raise DynamicShapesError(
                f"{option}= names {', '.join(unknown)}, which no input axis uses as a size "
                f"(the inputs' sizes: {', '.join(sorted(known)) or 'none'})"
            )


def _check_example(plan: ShapePlan, kwargs: Mapping[str, Any]) -> None:
    """torch.export fixes a dynamic size whose example is 0 or 1; and the example must fit the derived sizes."""
    roots: dict[str, int] = {}
    for port, axes in plan.inputs.items():
        shape = kwargs[port].shape
        for index, axis in enumerate(axes):
            if axis.size is None:
                continue
            actual = int(shape[index])
            if actual < 2:
                raise DynamicShapesError(
                    f"input {port!r}, axis {index} ({axis.spelling}): the example's size is {actual}, and torch.export "
                    f"cannot keep a size of 0 or 1 dynamic; use an example with sizes of 2 or more "
                    f"(input_example(max_batch=2))"
                )
            if (actual - axis.offset) % axis.scale:
                raise DynamicShapesError(
                    f"input {port!r}, axis {index} ({axis.spelling}): the example's size {actual} is not of that form"
                )
            root = (actual - axis.offset) // axis.scale
            previous = roots.setdefault(axis.size, root)
            if previous != root:
                raise DynamicShapesError(
                    f"input {port!r}, axis {index} ({axis.spelling}): the example's size {actual} gives "
                    f"{axis.size}={root}, another axis gives {axis.size}={previous}"
                )
    for name, root in roots.items():
        plan.example_sizes.setdefault(name, root)
