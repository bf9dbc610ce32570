"""Code generation: one wrapper per decorated function, with the function's own signature.

Python binds positional and keyword arguments itself (no ``Signature.bind``), symbolic sizes are local
variables of the wrapper (so nesting, recursion and threads cannot see each other's bindings, and a failed
check leaves nothing behind), dtype families are frozensets of ``torch.dtype``, size arithmetic is compiled
in, and the hot path never builds a message: on a violation it hands the arguments to the explainer.
"""

from __future__ import annotations

import inspect
import itertools
import linecache
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from beartype import BeartypeConf

from neuraltypes.core import AxisType, BinOp, Const, DimExpr

from ._beartype_bridge import make_tester
from ._errors import NeuralTypeError
from ._explain import explain_call
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
)
from ._switches import SWITCHES

__all__ = ["Plan", "generate_source", "install"]

_RESERVED = ("_ntq_", "_ntv_")
_SERIAL = itertools.count()


@dataclass
class Plan:
    """What to check in one function: its signature, a spec per parameter, the return spec, the options."""

    function: Callable[..., Any]
    signature: inspect.Signature
    parameters: list[tuple[str, Spec | None]]
    returns: Spec | None
    conf: BeartypeConf
    skip_when_compiling: bool = False

    @property
    def qualname(self) -> str:
        return getattr(self.function, "__qualname__", repr(self.function))


class _Emitter:
    """Writes the body of a wrapper, tracking which size variables are bound on every path."""

    def __init__(self, plan: Plan, names: dict[str, object]) -> None:
        self.plan = plan
        self.names = names
        self.lines: list[str] = []
        self.indent = 1
        self.conditional = 0
        self.state: dict[str, str] = {}  # size variable -> "bound" (on every path) or "maybe"
        self.needs_init: set[str] = set()
        self.deferred: list[tuple[str, DimExpr, str]] = []
        self.shapes: dict[tuple[AxisType, ...], str] = {}
        self.uses_semantic = False
        self.fail = ""
        self.where = ""
        self._counter = itertools.count()

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
            with self.block(f"if isinstance({v}, {cls}):"):
                self.tensor(spec.tensor, v)
            tester = self.const(make_tester(spec.rest, self.plan.conf), "bt")
            self.emit(f"elif not {tester}({v}): {self.fail}")
        elif isinstance(spec, ListSpec):
            cls = self.const(spec.container, "cls")
            self.emit(f"if not isinstance({v}, {cls}): {self.fail}")
            item = self.temp("e")
            with self.block(f"for {item} in {v}:"):
                self.value(spec.inner, item)
        elif isinstance(spec, TupleSpec):
            self.emit(f"if not isinstance({v}, tuple) or len({v}) != {len(spec.items)}: {self.fail}")
            for index, item_spec in enumerate(spec.items):
                if item_spec is not None:
                    item = self.temp("e")
                    self.emit(f"{item} = {v}[{index}]")
                    self.value(item_spec, item)
        elif isinstance(spec, DictSpec):
            self.dict(spec, v)
        else:
            cls = self.const(spec.cls, "cls")
            self.emit(f"if not isinstance({v}, {cls}): {self.fail}")
            for index, _, field_spec in spec.fields:
                item = self.temp("e")
                self.emit(f"{item} = {v}[{index}]")
                self.value(field_spec, item)

    def dict(self, spec: DictSpec, v: str) -> None:
        cls = self.const(spec.container, "cls")
        self.emit(f"if not isinstance({v}, {cls}): {self.fail}")
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
        self.emit(f"if not isinstance({v}, {cls}): {self.fail}")
        if spec.axes is not None:
            self.shape(spec, spec.axes, v)
        if spec.dtypes is not None:
            dtypes = self.const(spec.dtypes, "dt")
            self.emit(f"if {v}.dtype not in {dtypes}: {self.fail}")
        if spec.semantic:
            self.uses_semantic = True
            declared = self.const(spec.neural_type, "nt")
            acceptor = self.const(make_acceptor(spec.neural_type), "acc")
            tag = self.temp("g")
            with self.block("if _ntq_sem:", conditional=False):
                self.emit(f"{tag} = getattr({v}, {TAG_ATTRIBUTE!r}, None)")
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
            self.emit(f"if len({s}) != {count}: {self.fail}")
        else:
            self.emit(f"if len({s}) < {count - 1}: {self.fail}")
        expressions: list[tuple[str, DimExpr]] = []
        for index, axis in enumerate(axes):
            at = f"{s}[{index}]" if variadic is None or index < variadic else f"{s}[{index - count}]"
            if axis.variadic:
                if axis.name is not None and spec.bind_names:
                    after = count - index - 1
                    sizes = f"{s}[{index}:]" if after == 0 else f"{s}[{index}:len({s})-{after}]"
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
    def tag(self, spec: Spec | None, v: str, protected: list[str]) -> None:
        if spec is None or not _has_tags(spec):
            return
        if isinstance(spec, TensorSpec):
            declared = self.const(spec.neural_type, "nt")
            guards = "".join(f" and {v} is not {name}" for name in protected)
            self.emit(f"if getattr({v}, {TAG_ATTRIBUTE!r}, None) is None{guards}:")
            self.emit(f"    {v}.{TAG_ATTRIBUTE} = {declared}")
        elif isinstance(spec, OptionalSpec):
            with self.block(f"if {v} is not None:"):
                self.tag(spec.inner, v, protected)
        elif isinstance(spec, UnionSpec):
            cls = self.const(spec.tensor.tensor_class, "cls")
            with self.block(f"if isinstance({v}, {cls}):"):
                self.tag(spec.tensor, v, protected)
        elif isinstance(spec, ListSpec):
            item = self.temp("e")
            with self.block(f"for {item} in {v}:"):
                self.tag(spec.inner, item, protected)
        elif isinstance(spec, DictSpec):
            item = self.temp("e")
            with self.block(f"for {item} in {v}.values():"):
                self.tag(spec.value, item, protected)
        elif isinstance(spec, TupleSpec):
            for index, item_spec in enumerate(spec.items):
                self.tag(item_spec, f"{v}[{index}]", protected)
        elif isinstance(spec, NamedTupleSpec):
            for index, _, field_spec in spec.fields:
                self.tag(field_spec, f"{v}[{index}]", protected)


def _is_simple(axis: AxisType) -> bool:
    named = axis.name is not None and not axis.broadcast and not axis.variadic and axis.expr is None
    return named or (axis.name is None and axis.size is not None and not axis.variadic)


def _expr_code(expr: DimExpr) -> str:
    if isinstance(expr, Const):
        return str(expr.value)
    if isinstance(expr, BinOp):
        return f"({_expr_code(expr.left)} {expr.op} {_expr_code(expr.right)})"
    return f"_ntv_{expr.name}"


def _has_tags(spec: Spec) -> bool:
    if isinstance(spec, TensorSpec):
        return spec.tags
    if isinstance(spec, UnionSpec):
        return spec.tensor.tags
    if isinstance(spec, (OptionalSpec, ListSpec)):
        return _has_tags(spec.inner)
    if isinstance(spec, DictSpec):
        return _has_tags(spec.value)
    if isinstance(spec, TupleSpec):
        return any(item is not None and _has_tags(item) for item in spec.items)
    if isinstance(spec, NamedTupleSpec):
        return any(_has_tags(item) for _, _, item in spec.fields)
    return False


def _validate_names(plan: Plan) -> None:
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


def _header_and_call(signature: inspect.Signature) -> tuple[str, str, list[str]]:
    header: list[str] = []
    call: list[str] = []
    positional_only = False
    star_written = False
    for parameter in signature.parameters.values():
        name = parameter.name
        if name.startswith(_RESERVED):
            raise TypeError(f"@typecheck cannot wrap a function with a parameter named {name!r} (reserved prefix)")
        kind = parameter.kind
        if kind is inspect.Parameter.POSITIONAL_ONLY:
            positional_only = True
        elif positional_only:
            header.append("/")
            positional_only = False
        default = "=None" if parameter.default is not inspect.Parameter.empty else ""
        if kind is inspect.Parameter.VAR_POSITIONAL:
            header.append(f"*{name}")
            call.append(f"*{name}")
            star_written = True
        elif kind is inspect.Parameter.KEYWORD_ONLY:
            if not star_written:
                header.append("*")
                star_written = True
            header.append(f"{name}{default}")
            call.append(f"{name}={name}")
        elif kind is inspect.Parameter.VAR_KEYWORD:
            header.append(f"**{name}")
            call.append(f"**{name}")
        else:
            header.append(f"{name}{default}")
            call.append(name)
    if positional_only:
        header.append("/")
    return ", ".join(header), ", ".join(call), list(signature.parameters)


def _fail_statement(plan: Plan, where: str, explain: str) -> str:
    """Raise the explainer's error; while torch.compile traces, a fixed message (Dynamo cannot trace the explainer).

    With ``fullgraph=False`` Dynamo then runs the call eagerly and the explainer's error comes out; with
    ``fullgraph=True`` Dynamo reports ``Unsupported: Observed exception`` with this message inside.
    """
    message = (
        f"{plan.qualname}() {where} does not match its declared type (found while torch.compile traced the call; "
        "call it eagerly, or compile without fullgraph=True, to see which axis and why)"
    )
    return f"raise _ntq_NTE({message!r}) if _ntq_compiling() else {explain}"


def generate_source(plan: Plan, names: dict[str, object], function_name: str) -> str:
    """The source of the wrapper; fills ``names`` with the objects it refers to."""
    _validate_names(plan)
    header, call, parameter_names = _header_and_call(plan.signature)
    arguments = "{" + ", ".join(f"{name!r}: {name}" for name in parameter_names) + "}"
    emitter = _Emitter(plan, names)
    tensor_parameters: list[str] = []
    for name, spec in plan.parameters:
        emitter.where = f"parameter {name!r}"
        emitter.fail = _fail_statement(plan, emitter.where, f"_ntq_explain_args({arguments})")
        emitter.value(spec, name)
        if isinstance(spec, (TensorSpec, OptionalSpec, UnionSpec)):
            tensor_parameters.append(name)
    emitter.finish_section()
    argument_lines = emitter.lines
    emitter.lines = []
    if plan.returns is not None:
        emitter.where = "return value"
        emitter.fail = _fail_statement(plan, emitter.where, f"_ntq_explain_return({arguments}, _ntq_r)")
        emitter.value(plan.returns, "_ntq_r")
        emitter.finish_section()
        emitter.tag(plan.returns, "_ntq_r", tensor_parameters)
    return_lines = emitter.lines

    off = "not _ntq_sw.checks" + (" or _ntq_compiling()" if plan.skip_when_compiling else "")
    lines = [f"def {function_name}({header}):", f"    if {off}:", f"        return _ntq_fn({call})"]
    if emitter.uses_semantic:
        lines.append("    _ntq_sem = _ntq_sw.semantic")
    lines += [f"    _ntv_{name} = None" for name in sorted(emitter.needs_init)]
    lines += argument_lines
    if plan.returns is None:
        lines.append(f"    return _ntq_fn({call})")
    else:
        lines.append(f"    _ntq_r = _ntq_fn({call})")
        lines += return_lines
        lines.append("    return _ntq_r")

    def explain_args(arguments: dict[str, Any]) -> Exception:
        return explain_call(plan.qualname, plan.parameters, arguments, plan.conf)

    def explain_return(arguments: dict[str, Any], returned: object) -> Exception:
        return explain_call(plan.qualname, plan.parameters, arguments, plan.conf, (plan.returns, returned))

    names.update(
        _ntq_fn=plan.function,
        _ntq_sw=SWITCHES,
        _ntq_compiling=torch.compiler.is_compiling,
        _ntq_NTE=NeuralTypeError,
        _ntq_explain_args=explain_args,
        _ntq_explain_return=explain_return,
    )
    return "\n".join(lines) + "\n"


def install(source: str, names: dict[str, object], function_name: str, qualname: str) -> Callable[..., Any]:
    """Compile ``source`` into ``names`` (the wrapper's globals) and return the function it defines.

    The source is registered with ``linecache`` so tracebacks through the wrapper show its lines.
    """
    filename = f"<neuraltypes wrapper {next(_SERIAL)} of {qualname}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), names)
    function: Callable[..., Any] = names[function_name]  # type: ignore[assignment]
    return function
