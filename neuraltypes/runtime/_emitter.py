"""The emitter: writes the checking lines of a wrapper from specs, tracking which sizes are bound on every path.

A size variable is "bound" once every path to the current line has assigned it, "maybe" when only some have
(after an ``Optional`` or a loop over a container): those start as None and are compared or assigned. Size
expressions whose variables are not bound yet wait for the end of the arguments (or of the return value).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import torch

from neuraltypes.core import AxisType, BinOp, Const, DimExpr

from ._beartype_bridge import make_tester
from ._plan import CallerValue, Plan
from ._provenance import CONTAINERS, TAG_ATTRIBUTE, held_by, make_acceptor
from ._specs import (
    DictSpec,
    ListSpec,
    NamedTupleSpec,
    OptionalSpec,
    PlainSpec,
    Spec,
    TensorSpec,
    TupleSpec,
    UnionSpec,
)

__all__ = ["BUILTINS", "Emitter", "has_tags", "validate_names"]

BUILTINS = {f"_ntq_{b.__name__}": b for b in (isinstance, getattr, len, tuple, type)}
"""The builtins the checking lines call, under names of ours: a wrapper's parameters may be called ``len`` or
``type``. (Instrumented code calls them by their own names, where nothing in the function or its module
rebinds those: see ``_instrument``.)"""


class Emitter:
    """Writes the body of a wrapper, tracking which size variables are bound on every path."""

    def __init__(self, plan: Plan, names: dict[str, object]) -> None:
        self.plan = plan
        self.names = names
        self.lines: list[str] = []
        self.indent = 1
        self.conditional = 0
        self.state: dict[str, str] = {}  # size variable -> "bound" (on every path) or "maybe"
        self.needs_init: set[str] = set()
        self.plain_bindings: dict[str, str] = {}  # size variable -> its line, where bound unconditionally
        self.deferred: list[tuple[str, DimExpr, str]] = []
        self.shapes: dict[tuple[AxisType, ...], str] = {}
        self.fail = ""
        self.where = ""
        self._counter = itertools.count()
        names.update(BUILTINS)

    def emit(self, line: str) -> None:
        self.lines.append("    " * self.indent + line)

    def const(self, value: object, stem: str) -> str:
        name = f"_ntq_{stem}{next(self._counter)}"
        self.names[name] = value
        return name

    def temp(self, stem: str) -> str:
        return f"_ntq_{stem}{next(self._counter)}"

    @contextmanager
    def block(self, header: str, *, conditional: bool = True) -> Iterator[None]:
        self.emit(header)
        self.indent += 1
        before = dict(self.state)
        self.conditional += conditional
        try:
            yield
        finally:
            self.conditional -= conditional
            self.indent -= 1
            if conditional:
                for name, state in list(self.state.items()):
                    if before.get(name) != "bound" and state == "bound":
                        self.state[name] = "maybe"

    # -- values -----------------------------------------------------------------------------------------
    def value(self, spec: Spec | None, v: str) -> None:
        if spec is None:
            return
        if isinstance(spec, TensorSpec):
            self.tensor(spec, v)
        elif isinstance(spec, PlainSpec):
            tester = self.const(make_tester(spec.hint, self.plan.conf), "bt")
            self.emit(f"if not {tester}({v}): {self.fail}")
        elif isinstance(spec, OptionalSpec):
            with self.block(f"if {v} is not None:"):
                self.value(spec.inner, v)
        elif isinstance(spec, UnionSpec):
            cls = self.const(spec.tensor.tensor_class, "cls")
            with self.block(f"if _ntq_isinstance({v}, {cls}):"):
                self.tensor(spec.tensor, v)
            tester = self.const(make_tester(spec.rest, self.plan.conf), "bt")
            self.emit(f"elif not {tester}({v}): {self.fail}")
        elif isinstance(spec, ListSpec):
            cls = self.const(spec.container, "cls")
            self.emit(f"if not _ntq_isinstance({v}, {cls}): {self.fail}")
            item = self.temp("e")
            with self.block(f"for {item} in {v}:"):
                self.value(spec.inner, item)
        elif isinstance(spec, TupleSpec):
            self.emit(f"if not _ntq_isinstance({v}, _ntq_tuple) or _ntq_len({v}) != {len(spec.items)}: {self.fail}")
            for index, item_spec in enumerate(spec.items):
                if item_spec is not None:
                    item = self.temp("e")
                    self.emit(f"{item} = {v}[{index}]")
                    self.value(item_spec, item)
        elif isinstance(spec, DictSpec):
            self.dict(spec, v)
        else:
            cls = self.const(spec.cls, "cls")
            self.emit(f"if not _ntq_isinstance({v}, {cls}): {self.fail}")
            for index, _, field_spec in spec.fields:
                item = self.temp("e")
                self.emit(f"{item} = {v}[{index}]")
                self.value(field_spec, item)

    def dict(self, spec: DictSpec, v: str) -> None:
        cls = self.const(spec.container, "cls")
        self.emit(f"if not _ntq_isinstance({v}, {cls}): {self.fail}")
        item = self.temp("e")
        if spec.key is None:
            with self.block(f"for {item} in {v}.values():"):
                self.value(spec.value, item)
            return
        key = self.temp("k")
        key_tester = self.const(make_tester(spec.key, self.plan.conf), "bt")
        with self.block(f"for {key}, {item} in {v}.items():"):
            self.emit(f"if not {key_tester}({key}): {self.fail}")
            self.value(spec.value, item)

    def tensor(self, spec: TensorSpec, v: str) -> None:
        cls = self.const(spec.tensor_class, "cls")
        self.emit(f"if not _ntq_isinstance({v}, {cls}): {self.fail}")
        if spec.axes is not None:
            self.shape(spec, spec.axes, v)
        if spec.dtypes is not None:
            dtypes = self.const(_likely_first(spec.dtypes), "dt")
            self.emit(f"if {v}.dtype not in {dtypes}: {self.fail}")
        if spec.semantic:
            declared = self.const(spec.neural_type, "nt")
            acceptor = self.const(make_acceptor(spec.neural_type), "acc")
            tag = self.temp("g")
            with self.block("if _ntq_on is True:", conditional=False):  # semantic checks on
                self.emit(f"{tag} = _ntq_getattr({v}, {TAG_ATTRIBUTE!r}, None)")
                self.emit(f"if {tag} is not None and {tag} is not {declared} and not {acceptor}({tag}): {self.fail}")

    # -- shapes -----------------------------------------------------------------------------------------
    def shape(self, spec: TensorSpec, axes: tuple[AxisType, ...], v: str) -> None:
        simple = spec.bind_names and all(_is_simple(axis) for axis in axes)
        if simple and axes in self.shapes:
            # Every size of an identical layout is already bound: one tuple comparison checks them all.
            self.emit(f"if {v}.shape != {self.shapes[axes]}: {self.fail}")
            return
        s = self.temp("s")
        self.emit(f"{s} = {v}.shape")
        count = len(axes)
        variadic = next((i for i, axis in enumerate(axes) if axis.variadic), None)
        if variadic is None:
            self.emit(f"if _ntq_len({s}) != {count}: {self.fail}")
        else:
            self.emit(f"if _ntq_len({s}) < {count - 1}: {self.fail}")
        expressions: list[tuple[str, DimExpr]] = []
        for index, axis in enumerate(axes):
            at = f"{s}[{index}]" if variadic is None or index < variadic else f"{s}[{index - count}]"
            if axis.variadic:
                if axis.name is not None and spec.bind_names:
                    after = count - index - 1
                    sizes = f"{s}[{index}:]" if after == 0 else f"{s}[{index}:_ntq_len({s})-{after}]"
                    self.bind(axis.name, sizes)
            elif axis.expr is not None:
                expressions.append((at, axis.expr))
            else:
                if axis.size is not None:
                    self.emit(f"if {at} != {axis.size}: {self.fail}")
                if axis.name is not None and spec.bind_names:
                    if axis.broadcast:
                        self.broadcast(axis.name, at)
                    else:
                        self.bind(axis.name, at)
        if spec.bind_names:
            for at, expr in expressions:
                self.expression(at, expr)
        if simple and not self.conditional:
            self.shapes.setdefault(axes, s)

    def bind(self, name: str, at: str) -> None:
        var = f"_ntv_{name}"
        state = self.state.get(name)
        if state == "bound":
            self.emit(f"if {at} != {var}: {self.fail}")
        elif state is None and not self.conditional:
            self.emit(f"{var} = {at}")
            self.plain_bindings[var] = self.lines[-1]
            self.state[name] = "bound"
        else:
            self.needs_init.add(name)
            self.emit(f"if {var} is None:")
            self.emit(f"    {var} = {at}")
            self.emit(f"elif {at} != {var}: {self.fail}")
            self.state[name] = "bound"

    def broadcast(self, name: str, at: str) -> None:
        var = f"_ntv_{name}"
        if self.state.get(name) == "bound":
            self.emit(f"if {at} != {var} and {at} != 1: {self.fail}")
            return
        self.needs_init.add(name)
        self.emit(f"if {at} != 1:")
        self.emit(f"    if {var} is None:")
        self.emit(f"        {var} = {at}")
        self.emit(f"    elif {at} != {var}: {self.fail}")
        self.state[name] = "maybe"

    def expression(self, at: str, expr: DimExpr) -> None:
        if all(self.state.get(name) == "bound" for name in expr.variables()):
            self.emit(f"if {at} != {_expr_code(expr)}: {self.fail}")
        elif not self.conditional:
            holder = self.temp("x")
            self.emit(f"{holder} = {at}")
            self.deferred.append((holder, expr, self.where))
        else:
            raise TypeError(
                f"{self.plan.qualname}: the size expression '{expr}' in {self.where} is inside an Optional or a "
                "container, so its sizes must be bound by an earlier argument"
            )

    def finish_section(self) -> None:
        for holder, expr, where in self.deferred:
            guards = []
            for name in expr.variables():
                state = self.state.get(name)
                if state is None:
                    raise TypeError(
                        f"{self.plan.qualname}: the size expression '{expr}' in {where} uses {name}, which no "
                        f"{'parameter' if where.startswith('parameter') else 'axis'} binds"
                    )
                if state == "maybe":
                    guards.append(f"_ntv_{name} is not None")
            condition = " and ".join([*guards, f"{holder} != {_expr_code(expr)}"])
            self.emit(f"if {condition}: {self.fail}")
        self.deferred.clear()

    # -- tags -------------------------------------------------------------------------------------------
    def tag(self, spec: Spec | None, v: str, callers: Mapping[str, CallerValue], *, replace: bool = False) -> None:
        """Tag the tensors in ``v`` that the call made: not one the caller passed (``callers``: where those are,
        by local name), nor an ``nn.Parameter`` (a plain one, or one made from a tensor subclass). With
        ``replace`` (NeMo's rule), every tensor but a parameter gets the declared type, replacing its tag."""
        if spec is None or not has_tags(spec):
            return
        if isinstance(spec, TensorSpec) and replace:
            parameter = self.const(torch.nn.Parameter, "cls")
            declared = self.const(spec.neural_type, "nt")
            self.emit(f"if _ntq_type({v}) is not {parameter} and not _ntq_getattr({v}, '_is_param', False):")
            self.emit(f"    {v}.{TAG_ATTRIBUTE} = {declared}")
        elif isinstance(spec, TensorSpec):
            declared = self.const(spec.neural_type, "nt")
            guards = [f"{v} is not {name}" for name, where in callers.items() if where != "items"]
            parameter = self.const(torch.nn.Parameter, "cls")
            guards.append(f"_ntq_type({v}) is not {parameter} and not _ntq_getattr({v}, '_is_param', False)")
            searched = {name: where for name, where in callers.items() if where != "is"}
            if searched:
                containers, held_by_ = self.const(CONTAINERS, "ctr"), self.const(held_by, "held")
                for name, where in searched.items():
                    depth = ", 0" if where == "items" else ""
                    guards.append(f"not (_ntq_isinstance({name}, {containers}) and {held_by_}({v}, {name}{depth}))")
            self.emit(f"if _ntq_getattr({v}, {TAG_ATTRIBUTE!r}, None) is None and {' and '.join(guards)}:")
            self.emit(f"    {v}.{TAG_ATTRIBUTE} = {declared}")
        elif isinstance(spec, OptionalSpec):
            with self.block(f"if {v} is not None:"):
                self.tag(spec.inner, v, callers, replace=replace)
        elif isinstance(spec, UnionSpec):
            cls = self.const(spec.tensor.tensor_class, "cls")
            with self.block(f"if _ntq_isinstance({v}, {cls}):"):
                self.tag(spec.tensor, v, callers, replace=replace)
        elif isinstance(spec, ListSpec):
            item = self.temp("e")
            with self.block(f"for {item} in {v}:"):
                self.tag(spec.inner, item, callers, replace=replace)
        elif isinstance(spec, DictSpec):
            item = self.temp("e")
            with self.block(f"for {item} in {v}.values():"):
                self.tag(spec.value, item, callers, replace=replace)
        elif isinstance(spec, TupleSpec):
            for index, item_spec in enumerate(spec.items):
                self.tag(item_spec, f"{v}[{index}]", callers, replace=replace)
        elif isinstance(spec, NamedTupleSpec):
            for index, _, field_spec in spec.fields:
                self.tag(field_spec, f"{v}[{index}]", callers, replace=replace)


_COMMON_DTYPES = ("float32", "float16", "bfloat16", "int64", "float64", "int32", "bool")


def _likely_first(dtypes: frozenset[object]) -> tuple[object, ...]:
    """The family as a tuple, the most common dtypes first: ``in`` on a tuple stops at the first identical item.

    (A hit, the only case that has to be fast, then costs one identity test instead of a set lookup.)
    """
    rank = {name: index for index, name in enumerate(_COMMON_DTYPES)}
    return tuple(sorted(dtypes, key=lambda d: (rank.get(str(d).removeprefix("torch."), len(rank)), str(d))))


def _is_simple(axis: AxisType) -> bool:
    named = axis.name is not None and not axis.broadcast and not axis.variadic and axis.expr is None
    return named or (axis.name is None and axis.size is not None and not axis.variadic)


def _expr_code(expr: DimExpr) -> str:
    if isinstance(expr, Const):
        return str(expr.value)
    if isinstance(expr, BinOp):
        return f"({_expr_code(expr.left)} {expr.op} {_expr_code(expr.right)})"
    return f"_ntv_{expr.name}"


def has_tags(spec: Spec) -> bool:
    if isinstance(spec, TensorSpec):
        return spec.tags
    if isinstance(spec, UnionSpec):
        return spec.tensor.tags
    if isinstance(spec, (OptionalSpec, ListSpec)):
        return has_tags(spec.inner)
    if isinstance(spec, DictSpec):
        return has_tags(spec.value)
    if isinstance(spec, TupleSpec):
        return any(item is not None and has_tags(item) for item in spec.items)
    if isinstance(spec, NamedTupleSpec):
        return any(has_tags(item) for _, _, item in spec.fields)
    return False


def validate_names(plan: Plan) -> None:
    """A size variable is either one axis (``b``) or several (``*b``), never both; expressions use single axes."""
    kinds: dict[str, bool] = {}
    expression_names: set[str] = set()
    for spec in [spec for _, spec in plan.parameters] + [plan.returns]:
        for tensor in _tensors(spec):
            for axis in tensor.axes or ():
                if axis.expr is not None:
                    expression_names.update(axis.expr.variables())
                elif (
                    axis.name is not None
                    and tensor.bind_names
                    and kinds.setdefault(axis.name, axis.variadic) != axis.variadic
                ):
                    raise TypeError(f"{plan.qualname}: '{axis.name}' is used both as '*{axis.name}' and as one axis")
    for name in expression_names:
        if kinds.get(name):
            raise TypeError(
                f"{plan.qualname}: '*{name}' stands for several axes and cannot appear in a size expression"
            )


def _tensors(spec: Spec | None) -> Iterator[TensorSpec]:
    if spec is None or isinstance(spec, PlainSpec):
        return
    if isinstance(spec, TensorSpec):
        yield spec
    elif isinstance(spec, UnionSpec):
        yield spec.tensor
    elif isinstance(spec, (OptionalSpec, ListSpec)):
        yield from _tensors(spec.inner)
    elif isinstance(spec, DictSpec):
        yield from _tensors(spec.value)
    elif isinstance(spec, TupleSpec):
        for item in spec.items:
            yield from _tensors(item)
    else:
        for _, _, item in spec.fields:
            yield from _tensors(item)
