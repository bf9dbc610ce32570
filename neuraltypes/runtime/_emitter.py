"""The emitter: writes the checking lines of a wrapper from specs, tracking which sizes are bound on every path.

A size variable is "bound" once every path to the current line has assigned it, "maybe" when only some have
(after an ``Optional`` or a loop over a container): those start as None and are compared or assigned. Size
expressions whose variables are not bound yet wait for the end of the section (the arguments, or the return
value). Every line is written as a ``Line`` record, with the size variables and constants it uses.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import NamedTuple

from neuraltypes.core import AxisLayout, AxisType, BinOp, Const, DimExpr, NeuralTypeAnnotationError

from ._beartype_bridge import make_tester
from ._lines import BUILTINS, Code, Line, Namespace, code, size_variable
from ._plan import Plan
from ._provenance import TAG_ATTRIBUTE, make_acceptor
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
    tensors,
)

__all__ = ["Emitter", "validate_names"]


class _Deferred(NamedTuple):
    holder: str  # the local that holds the size the expression must equal
    expr: DimExpr
    where: str


class Emitter:
    """Writes the checking lines of a function, section by section, tracking which size variables are bound on
    every path. The objects the lines refer to go into ``namespace``, which also decides how they are spelled."""

    def __init__(self, plan: Plan, namespace: Namespace) -> None:
        self.plan = plan
        self.namespace = namespace
        self._lines: list[Line] | None = None  # the open section's
        self._indent = 1
        self._conditional = 0
        self._state: dict[str, str] = {}  # size variable -> "bound" (on every path) or "maybe"
        self._maybe_bound: set[str] = set()
        self._deferred: list[_Deferred] = []
        self._shapes: dict[tuple[AxisType, ...], Code] = {}
        self._where = ""
        self._fields: dict[str, Code] = {function.__name__: namespace.builtin(function) for function in BUILTINS}
        self._counter = itertools.count()

    # -- the interface ----------------------------------------------------------------------------------
    @contextmanager
    def section(self) -> Iterator[list[Line]]:
        """Collect the lines written inside the ``with`` into the list it gives; at its end, the size expressions
        that waited for the section are checked (failing with the section's last fail statement).

        Raises:
            NeuralTypeAnnotationError: an expression uses a size that nothing in the section (or before) binds.
        """
        if self._lines is not None:
            raise RuntimeError("sections do not nest")
        lines: list[Line] = []
        self._lines = lines
        try:
            yield lines
            self._finish()
        finally:
            self._lines = None

    def check(self, spec: Spec | None, value: str, where: str, fail: Code) -> None:
        """Write the checks of ``value`` (a local's name) against ``spec``; ``fail`` is the statement run when
        one fails, ``where`` names the value in decoration-time errors."""
        self._where = where
        self._fields["fail"] = fail
        self.value(spec, value)

    def maybe_bound(self) -> list[str]:
        """The size variables bound on some paths only, which must start as None (sorted)."""
        return [size_variable(name).text for name in sorted(self._maybe_bound)]

    def const(self, value: object, stem: str) -> Code:
        """A new name in the namespace for ``value``, as the lines spell it."""
        return self.namespace.constant(f"_ntq_{stem}{next(self._counter)}", value)

    def temp(self, stem: str) -> str:
        return f"_ntq_{stem}{next(self._counter)}"

    def code(self, template: str, /, **fields: object) -> Code:
        """A piece of a line: ``template`` may use ``{fail}`` and the builtins (``{len}``...) besides ``fields``."""
        return code(template, **{**self._fields, **fields})

    # -- writing ----------------------------------------------------------------------------------------
    def emit(self, template: str, /, *, binds: str | None = None, **fields: object) -> None:
        """Write one line; ``template`` may use ``{fail}`` and the builtins (``{len}``...) besides ``fields``."""
        self._write(self.code(template, **fields), binds)

    def _write(self, written: Code, binds: str | None = None) -> None:
        if self._lines is None:
            raise RuntimeError("lines are written inside a section")
        self._lines.append(Line("    " * self._indent + written.text, written.reads, written.constants, binds))

    @contextmanager
    def block(self, template: str, /, *, conditional: bool = True, **fields: object) -> Iterator[None]:
        self._write(self.code(template, **fields))
        self._indent += 1
        before = dict(self._state)
        self._conditional += conditional
        try:
            yield
        finally:
            self._conditional -= conditional
            self._indent -= 1
            if conditional:
                for name, state in list(self._state.items()):
                    if before.get(name) != "bound" and state == "bound":
                        self._state[name] = "maybe"

    # -- values -----------------------------------------------------------------------------------------
    def value(self, spec: Spec | None, v: str) -> None:
        match spec:
            case None:
                return
            case TensorSpec():
                self.tensor(spec, v)
            case PlainSpec(hint=hint):
                self.emit("if not {tester}({v}): {fail}", tester=self._tester(hint), v=v)
            case OptionalSpec(inner=inner):
                with self.block("if {v} is not None:", v=v):
                    self.value(inner, v)
            case UnionSpec():
                self.union(spec, v)
            case ListSpec(container=container, inner=inner):
                self.emit("if not {isinstance}({v}, {cls}): {fail}", v=v, cls=self.const(container, "cls"))
                item = self.temp("e")
                with self.block("for {item} in {v}:", item=item, v=v):
                    self.value(inner, item)
            case TupleSpec(items=items):
                self.emit("if not {isinstance}({v}, {tuple}) or {len}({v}) != {n}: {fail}", v=v, n=len(items))
                self._items(spec.indexed(), v)
            case DictSpec():
                self.dict(spec, v)
            case NamedTupleSpec(cls=cls):
                self.emit("if not {isinstance}({v}, {cls}): {fail}", v=v, cls=self.const(cls, "cls"))
                self._items(spec.indexed(), v)

    def _tester(self, hint: object) -> Code:
        return self.const(make_tester(hint, self.plan.conf), "bt")

    def _items(self, items: list[tuple[int, Spec]], v: str) -> None:
        for index, item_spec in items:
            item = self.temp("e")
            self.emit("{item} = {v}[{index}]", item=item, v=v, index=index)
            self.value(item_spec, item)

    def union(self, spec: UnionSpec, v: str) -> None:
        with self.block("if {isinstance}({v}, {cls}):", v=v, cls=self.const(spec.tensor.tensor_class, "cls")):
            self.tensor(spec.tensor, v)
        self.emit("elif not {tester}({v}): {fail}", tester=self._tester(spec.rest), v=v)

    def dict(self, spec: DictSpec, v: str) -> None:
        self.emit("if not {isinstance}({v}, {cls}): {fail}", v=v, cls=self.const(spec.container, "cls"))
        item = self.temp("e")
        if spec.key is None:
            with self.block("for {item} in {v}.values():", item=item, v=v):
                self.value(spec.value, item)
            return
        key = self.temp("k")
        key_tester = self._tester(spec.key)
        with self.block("for {key}, {item} in {v}.items():", key=key, item=item, v=v):
            self.emit("if not {tester}({key}): {fail}", tester=key_tester, key=key)
            self.value(spec.value, item)

    def tensor(self, spec: TensorSpec, v: str) -> None:
        self.emit("if not {isinstance}({v}, {cls}): {fail}", v=v, cls=self.const(spec.tensor_class, "cls"))
        if spec.axes is not None:
            self.shape(spec, spec.axes, v)
        if spec.dtypes is not None:
            self.emit("if {v}.dtype not in {dtypes}: {fail}", v=v, dtypes=self.const(_likely_first(spec.dtypes), "dt"))
        if spec.semantic:
            declared = self.const(spec.neural_type, "nt")
            acceptor = self.const(make_acceptor(spec.neural_type), "acc")
            tag = self.temp("g")
            with self.block("if _ntq_on is True:", conditional=False):  # semantic checks on
                self.emit("{tag} = {getattr}({v}, {attribute!r}, None)", tag=tag, v=v, attribute=TAG_ATTRIBUTE)
                self.emit(
                    "if {tag} is not None and {tag} is not {declared} and not {acceptor}({tag}): {fail}",
                    tag=tag,
                    declared=declared,
                    acceptor=acceptor,
                )

    # -- shapes -----------------------------------------------------------------------------------------
    def shape(self, spec: TensorSpec, axes: tuple[AxisType, ...], v: str) -> None:
        simple = spec.bind_names and all(_is_simple(axis) for axis in axes)
        if simple and axes in self._shapes:
            # Every size of an identical layout is already bound: one tuple comparison checks them all.
            self.emit("if {v}.shape != {shape}: {fail}", v=v, shape=self._shapes[axes])
            return
        s = self.temp("s")
        self.emit("{s} = {v}.shape", s=s, v=v)
        layout = AxisLayout.of(axes)
        self._rank(s, layout)
        expressions: list[tuple[Code, DimExpr]] = []
        for index, axis in enumerate(axes):
            at = code("{s}[{offset}]", s=s, offset=layout.offset(index))
            if axis.variadic:
                if axis.name is not None and spec.bind_names:
                    self.bind(axis.name, self._variadic_sizes(s, layout))
            elif axis.expr is not None:
                expressions.append((at, axis.expr))
            else:
                self.axis(axis, at, spec.bind_names)
        if spec.bind_names:
            for at, expr in expressions:
                self.expression(at, expr)
        if simple and not self._conditional:
            self._shapes.setdefault(axes, Code(s))

    def _rank(self, s: str, layout: AxisLayout) -> None:
        """The rank check: exactly the declared axes, or at least those beside the variadic one."""
        if layout.variadic_at is None:
            self.emit("if {len}({s}) != {rank}: {fail}", s=s, rank=layout.count)
        elif layout.min_rank > 0:  # (a lone ``*batch`` fits any rank)
            self.emit("if {len}({s}) < {rank}: {fail}", s=s, rank=layout.min_rank)

    def _variadic_sizes(self, s: str, layout: AxisLayout) -> Code:
        """The sizes the variadic axis stands for: ``s[1:]``, or ``s[1:len(s)-2]`` with axes after it."""
        if layout.after == 0:
            return code("{s}[{start}:]", s=s, start=layout.variadic_at)
        return self.code("{s}[{start}:{len}({s})-{after}]", s=s, start=layout.variadic_at, after=layout.after)

    def axis(self, axis: AxisType, at: Code, bind_names: bool) -> None:
        """Check one axis that is neither variadic nor a size expression: its fixed size, its size variable."""
        if axis.size is not None:
            self.emit("if {at} != {size}: {fail}", at=at, size=axis.size)
        if axis.name is None or not bind_names:
            return
        if axis.broadcast:
            self.broadcast(axis.name, at)
        else:
            self.bind(axis.name, at)

    def bind(self, name: str, at: Code) -> None:
        var = size_variable(name)
        state = self._state.get(name)
        if state == "bound":
            self.emit("if {at} != {var}: {fail}", at=at, var=var)
        elif state is None and not self._conditional:
            self.emit("{var} = {at}", var=var.text, at=at, binds=var.text)
            self._state[name] = "bound"
        else:
            self._maybe_bound.add(name)
            self.emit("if {var} is None:", var=var)
            self.emit("    {var} = {at}", var=var.text, at=at)
            self.emit("elif {at} != {var}: {fail}", at=at, var=var)
            self._state[name] = "bound"

    def broadcast(self, name: str, at: Code) -> None:
        var = size_variable(name)
        if self._state.get(name) == "bound":
            self.emit("if {at} != {var} and {at} != 1: {fail}", at=at, var=var)
            return
        self._maybe_bound.add(name)
        self.emit("if {at} != 1:", at=at)
        self.emit("    if {var} is None:", var=var)
        self.emit("        {var} = {at}", var=var.text, at=at)
        self.emit("    elif {at} != {var}: {fail}", at=at, var=var)
        self._state[name] = "maybe"

    def expression(self, at: Code, expr: DimExpr) -> None:
        if all(self._state.get(name) == "bound" for name in expr.variables()):
            self.emit("if {at} != {expr}: {fail}", at=at, expr=_expr_code(expr))
        elif not self._conditional:
            holder = self.temp("x")
            self.emit("{holder} = {at}", holder=holder, at=at)
            self._deferred.append(_Deferred(holder, expr, self._where))
        else:
            raise NeuralTypeAnnotationError(
                f"{self.plan.qualname}: the size expression '{expr}' in {self._where} is inside an Optional or a "
                "container, so its sizes must be bound by an earlier argument"
            )

    def _finish(self) -> None:
        for holder, expr, where in self._deferred:
            guards: list[Code] = []
            for name in expr.variables():
                state = self._state.get(name)
                if state is None:
                    raise NeuralTypeAnnotationError(
                        f"{self.plan.qualname}: the size expression '{expr}' in {where} uses {name}, which no "
                        f"{'parameter' if where.startswith('parameter') else 'axis'} binds"
                    )
                if state == "maybe":
                    guards.append(code("{var} is not None", var=size_variable(name)))
            guards.append(code("{holder} != {expr}", holder=holder, expr=_expr_code(expr)))
            self.emit("if {condition}: {fail}", condition=joined(" and ", guards))
        self._deferred.clear()


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


def _expr_code(expr: DimExpr) -> Code:
    match expr:
        case Const(value=value):
            return Code(str(value))
        case BinOp(left=left, op=op, right=right):
            return code("({left} {op} {right})", left=_expr_code(left), op=op, right=_expr_code(right))
        case _:
            return size_variable(expr.name)


def joined(separator: str, parts: Sequence[Code | str]) -> Code:
    """``parts`` joined by ``separator``, with what each part reads and refers to."""
    fields = {f"part{index}": part for index, part in enumerate(parts)}
    return code(separator.join(f"{{{name}}}" for name in fields), **fields)


def validate_names(plan: Plan) -> None:
    """A size variable is either one axis (``b``) or several (``*b``), never both; expressions use single axes.

    Raises:
        NeuralTypeAnnotationError: a declaration that breaks either rule.
    """
    specs = [spec for _, spec in plan.parameters] + [plan.returns]
    axes = [(axis, tensor.bind_names) for spec in specs for tensor in tensors(spec) for axis in tensor.axes or ()]
    kinds: dict[str, bool] = {}
    for axis, bind_names in axes:
        if axis.expr is not None or axis.name is None or not bind_names:
            continue
        if kinds.setdefault(axis.name, axis.variadic) != axis.variadic:
            raise NeuralTypeAnnotationError(
                f"{plan.qualname}: '{axis.name}' is used both as '*{axis.name}' and as one axis"
            )
    for axis, _ in axes:
        for name in axis.expr.variables() if axis.expr is not None else ():
            if kinds.get(name):
                raise NeuralTypeAnnotationError(
                    f"{plan.qualname}: '*{name}' stands for several axes and cannot appear in a size expression"
                )
