"""The explaining checker: walks specs with a dict of bindings and describes the first violation.

This is the reference semantics of a check. The generated wrapper is a faster rendering of the same rules;
it calls this only after it has found a violation, to say which argument, which axis and why. NeMo-style
classes are checked with it directly. Where axes lie in a shape and how sizes bind are the core's rules
(``AxisLayout``, ``SizeBindings``), which the mypy plugin applies too.
"""

from __future__ import annotations

import typing
from collections.abc import Iterable
from typing import Any, NamedTuple

import torch
from beartype import BeartypeConf
from beartype.roar import BeartypeCallHintParamViolation, BeartypeCallHintReturnViolation

from neuraltypes.core import AxisLayout, AxisType, NeuralType, SizeBindings, format_axes, surprising_kinds

from ._beartype_bridge import DEFAULT_CONF, explain_violation, make_tester
from ._describe import describe_declared, describe_value, hint_text, one_line, shape_of, size_text
from ._errors import NeuralTypeError, neural_type_error
from ._provenance import TAG_ATTRIBUTE, accepts
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
from ._switches import current_level

__all__ = [
    "Explainer",
    "Mismatch",
    "as_configured",
    "describe_declared",
    "describe_value",
    "error_from",
    "explain_call",
]


class Mismatch(Exception):
    """A violation found by the explainer: where, what, and the expected/got descriptions."""

    def __init__(self, where: str, detail: str, expected: str, got: str) -> None:
        super().__init__(detail)
        self.where = where
        self.detail = detail
        self.expected = expected
        self.got = got


class _Origin(NamedTuple):
    """What bound a size variable: the argument (``parameter 'x'``), and whether it stands for several axes."""

    where: str
    several: bool


class Explainer:
    """Checks values against specs in call order, binding size variables; raises ``Mismatch`` on the first error.

    Args:
        conf: the beartype configuration for ordinary hints.
    """

    def __init__(self, conf: BeartypeConf = DEFAULT_CONF) -> None:
        self.conf = conf
        self.sizes: SizeBindings[_Origin] = SizeBindings()
        self._deferred: list[tuple[int, AxisType, int, str, TensorSpec]] = []

    def bindings_text(self) -> str:
        """``b=2 (parameter 'x'), t=3 (parameter 'x')`` or ``none``."""
        if not self.sizes:
            return "none"
        return ", ".join(f"{name}={size_text(value)} ({self._origin(name)})" for name, value in self._values())

    def plain_bindings(self) -> dict[str, int | tuple[int, ...]]:
        return dict(self._values())

    def _values(self) -> Iterable[tuple[str, int | tuple[int, ...]]]:
        for name in self.sizes.bound:
            yield name, self._value(name)

    def _value(self, name: str) -> int | tuple[int, ...]:
        binding = self.sizes.bound[name]
        sizes = typing.cast("tuple[int, ...]", binding.sizes)  # the run time knows every size
        return sizes if binding.origin.several else sizes[0]

    def _origin(self, name: str) -> str:
        return self.sizes.bound[name].origin.where

    def check(self, spec: Spec | None, value: object, where: str) -> None:
        """Check one value (a parameter, the return value, a container element)."""
        match spec:
            case None:
                return
            case TensorSpec():
                self._tensor(spec, value, where)
            case PlainSpec(hint=hint):
                self._plain(hint, value, where)
            case OptionalSpec(inner=inner):
                if value is not None:
                    self.check(inner, value, where)
            case UnionSpec():
                self._union(spec, value, where)
            case ListSpec() | TupleSpec() | DictSpec() | NamedTupleSpec():
                self._container(spec, value, where)

    def _container(self, spec: ListSpec | TupleSpec | DictSpec | NamedTupleSpec, value: object, where: str) -> None:
        match spec:
            case ListSpec():
                self._instance(value, spec.container, where)
                for index, item in enumerate(typing.cast("Iterable[object]", value)):
                    self.check(spec.inner, item, f"{where}[{index}]")
            case TupleSpec():
                self._tuple(spec, value, where)
            case DictSpec():
                self._dict(spec, value, where)
            case NamedTupleSpec():
                self._instance(value, spec.cls, where)
                for index, name, field_spec in spec.fields:
                    self.check(field_spec, value[index], f"{where}.{name}")  # type: ignore[index]

    def finish(self) -> None:
        """Check the size expressions that waited for later arguments (``T-1`` before ``T``)."""
        deferred, self._deferred = self._deferred, []
        for size, axis, position, where, spec in deferred:
            self._expression(size, axis, position, where, spec, final=True)

    def _instance(self, value: object, cls: type | tuple[type, ...], where: str) -> None:
        if not isinstance(value, cls):
            name = " or ".join(c.__name__ for c in cls) if isinstance(cls, tuple) else cls.__name__
            raise Mismatch(where, f"expected a {name}, got {type(value).__name__}", name, describe_value(value))

    def _plain(self, hint: Any, value: object, where: str) -> None:
        if make_tester(hint, self.conf)(value):
            return
        violation = explain_violation(value, hint, self.conf)
        message = one_line(violation, 400) if violation else f"does not satisfy {hint_text(hint)}"
        raise Mismatch(where, message, hint_text(hint), describe_value(value))

    def _union(self, spec: UnionSpec, value: object, where: str) -> None:
        if isinstance(value, spec.tensor.tensor_class):
            self._tensor(spec.tensor, value, where)
            return
        try:
            self._plain(spec.rest, value, where)
        except Mismatch as mismatch:  # name the tensor alternative too
            expected = f"{describe_declared(spec.tensor)} or {mismatch.expected}"
            raise Mismatch(where, mismatch.detail, expected, mismatch.got) from None

    def _tuple(self, spec: TupleSpec, value: object, where: str) -> None:
        self._instance(value, tuple, where)
        assert isinstance(value, tuple)
        if len(value) != len(spec.items):
            raise Mismatch(
                where,
                f"expected a tuple of length {len(spec.items)}, got length {len(value)}",
                f"tuple of length {len(spec.items)}",
                describe_value(value),
            )
        for index, (item_spec, item) in enumerate(zip(spec.items, value, strict=True)):
            self.check(item_spec, item, f"{where}[{index}]")

    def _dict(self, spec: DictSpec, value: object, where: str) -> None:
        self._instance(value, spec.container, where)
        for key, item in value.items():  # type: ignore[attr-defined]
            if spec.key is not None:
                self._plain(spec.key, key, f"{where} key {key!r}")
            self.check(spec.value, item, f"{where}[{key!r}]")

    def _tensor(self, spec: TensorSpec, value: object, where: str) -> None:
        if not isinstance(value, spec.tensor_class):
            raise Mismatch(
                where,
                f"expected a {spec.tensor_class.__name__}, got {type(value).__name__}",
                describe_declared(spec),
                describe_value(value),
            )
        assert isinstance(value, torch.Tensor)
        if spec.axes is not None:
            # int(): under torch.jit.trace sizes are 0-d tensors; the messages want numbers.
            self._shape(spec, shape_of(value), value, where)
        if spec.dtypes is not None and value.dtype not in spec.dtypes:
            got = str(value.dtype).removeprefix("torch.")
            names = ", ".join(sorted(str(d).removeprefix("torch.") for d in spec.dtypes))
            raise Mismatch(
                where,
                f"dtype is {got}, expected {spec.neural_type.dtype} ({names})",
                describe_declared(spec),
                describe_value(value),
            )
        if spec.semantic and current_level() is True:
            self._tag(spec, value, where)

    def _tag(self, spec: TensorSpec, value: torch.Tensor, where: str) -> None:
        tag = getattr(value, TAG_ATTRIBUTE, None)
        if tag is None or tag is spec.neural_type or accepts(spec.neural_type, tag):
            return
        result = spec.neural_type.compare(tag) if isinstance(tag, NeuralType) else None
        raise Mismatch(
            where,
            f"carries the neural type {tag}, which is not accepted where {spec.neural_type} is declared "
            f"({'n/a' if result is None else result.name}){_kinds_note(spec.neural_type, tag)}",
            describe_declared(spec),
            describe_value(value),
        )

    def _shape(self, spec: TensorSpec, shape: tuple[int, ...], value: object, where: str) -> None:
        axes = spec.axes or ()
        layout = AxisLayout.of(axes)
        rank = len(shape)
        if not layout.fits(rank):
            raise Mismatch(
                where,
                f"has {rank} axes, expected {layout.rank_wanted()} ({format_axes(axes)})",
                describe_declared(spec),
                describe_value(value),
            )
        expressions: list[tuple[int, AxisType, int]] = []
        for _, axis, span in layout.spans(rank):
            if axis.variadic:
                if axis.name is not None and spec.bind_names:
                    sizes = shape[span.start : span.stop]
                    label = f"axes {span.start}..{span.stop - 1} '*{axis.name}'"
                    self._bind(axis.name, sizes, label, where, spec, value, several=True)
            elif axis.expr is not None:
                expressions.append((shape[span.start], axis, span.start))
            else:
                self._axis(spec, axis, span.start, shape[span.start], where, value)
        for size, axis, position in expressions:
            if spec.bind_names:
                self._expression(size, axis, position, where, spec, final=False)

    def _axis(self, spec: TensorSpec, axis: AxisType, position: int, size: int, where: str, value: object) -> None:
        label = _axis_label(axis, position)
        if axis.size is not None and size != axis.size:
            raise Mismatch(
                where, f"{label} has size {size}, expected {axis.size}", describe_declared(spec), describe_value(value)
            )
        if axis.name is not None and spec.bind_names:
            self._bind(axis.name, (size,), label, where, spec, value, broadcast=axis.broadcast)

    def _bind(
        self,
        name: str,
        sizes: tuple[int, ...],
        label: str,
        where: str,
        spec: TensorSpec,
        value: object,
        *,
        several: bool = False,
        broadcast: bool = False,
    ) -> None:
        earlier = self.sizes.bind(name, sizes, _Origin(where, several), broadcast=broadcast)
        if earlier is None:
            return
        bound = size_text(self._value(name))
        if broadcast:
            detail = f"{label} has size {sizes[0]}, expected 1 or {name}={bound} (bound by {earlier.origin.where})"
        else:
            found = f"have sizes {size_text(sizes)}" if several else f"has size {sizes[0]}"
            detail = f"{label} {found}, but {name}={bound} was bound by {earlier.origin.where}"
        raise Mismatch(where, detail, describe_declared(spec), describe_value(value))

    def _expression(
        self, size: int, axis: AxisType, position: int, where: str, spec: TensorSpec, *, final: bool
    ) -> None:
        expr = axis.expr
        assert expr is not None
        names = expr.variables()
        if any(name not in self.sizes for name in names):
            if not final:
                self._deferred.append((size, axis, position, where, spec))
            return
        values = {name: self._value(name) for name in names}
        wanted = expr.evaluate(values)  # type: ignore[arg-type]
        if size != wanted:
            origins = ", ".join(f"{n}={size_text(v)} bound by {self._origin(n)}" for n, v in values.items())
            raise Mismatch(
                where,
                f"axis {position} '{expr}' has size {size}, expected {expr}={wanted} ({origins})",
                describe_declared(spec),
                f"size {size}",
            )


def _kinds_note(declared: NeuralType, tag: object) -> str:
    """``; axis kinds: H (Height)`` when the axes differ in kind and a name's kind is not the obvious one."""
    if not isinstance(tag, NeuralType) or declared.axes is None or tag.axes is None:
        return ""
    if [axis.kind for axis in declared.axes] == [axis.kind for axis in tag.axes]:
        return ""
    note = surprising_kinds(format_axes(tag.axes), format_axes(declared.axes))
    return f"; axis kinds: {note}" if note else ""


def _axis_label(axis: AxisType, position: int) -> str:
    if axis.name is None:
        return f"axis {position}"
    return f"axis {position} '{'#' if axis.broadcast else ''}{axis.name}'"


def error_from(function: str, explainer: Explainer, mismatch: Mismatch) -> NeuralTypeError:
    """Our exception, with the four-line message every failed check has."""
    message = (
        f"{function}() {mismatch.where}: {mismatch.detail}\n"
        f"  expected: {mismatch.expected}\n"
        f"  got: {mismatch.got}\n"
        f"  bindings: {explainer.bindings_text()}"
    )
    return neural_type_error(message, function=function, argument=mismatch.where, bindings=explainer.plain_bindings())


_BEARTYPE_DEFAULTS: tuple[type[Exception], ...] = (BeartypeCallHintParamViolation, BeartypeCallHintReturnViolation)


def as_configured(error: NeuralTypeError, conf: BeartypeConf, returned: bool) -> Exception:
    """``error``, or the exception type chosen in beartype's configuration (``violation_type`` and kin).

    beartype's own default types and any base class of ``NeuralTypeError`` (``TypeError``) keep ours.
    """
    wanted = conf.violation_return_type if returned else conf.violation_param_type
    if wanted is None or wanted in _BEARTYPE_DEFAULTS or issubclass(NeuralTypeError, wanted):
        return error
    return wanted(str(error))


def explain_call(
    function: str,
    parameters: Iterable[tuple[str, Spec | None]],
    arguments: dict[str, Any],
    conf: BeartypeConf,
    returned: tuple[Spec | None, object] | None = None,
) -> Exception:
    """Re-check a call that the fast path rejected, and return the error that says why.

    ``returned`` is ``(spec, value)`` when the arguments passed and the return value failed.
    """
    explainer = Explainer(conf)
    try:
        for name, spec in parameters:
            explainer.check(spec, arguments[name], f"parameter {name!r}")
        explainer.finish()
    except Mismatch as mismatch:
        if returned is None:
            return as_configured(error_from(function, explainer, mismatch), conf, False)
        # The arguments passed when the call began: the body has changed one in place since.
        return as_configured(_arguments_changed(function, conf, returned, mismatch), conf, True)
    if returned is not None:
        try:
            explainer.check(returned[0], returned[1], "return value")
            explainer.finish()
        except Mismatch as mismatch:
            return as_configured(error_from(function, explainer, mismatch), conf, True)
        return as_configured(_arguments_changed(function, conf, returned, None), conf, True)
    return neural_type_error(
        f"{function}(): the fast check rejected this call but the detailed check found no violation; "
        "this is a neuraltypes bug, please report it with the call's types",
        function=function,
    )


def _arguments_changed(
    function: str, conf: BeartypeConf, returned: tuple[Spec | None, object], argument: Mismatch | None
) -> NeuralTypeError:
    """The error for a return value that failed against sizes the arguments bound when the call began, which
    the arguments no longer show: the body changed one in place (``x.unsqueeze_(0)``, ``batch.pop("x")``)."""
    alone = Explainer(conf)
    try:
        alone.check(returned[0], returned[1], "return value")
        alone.finish()
    except Mismatch as mismatch:  # wrong even without the arguments' sizes
        detail = f"{mismatch.detail} (the function changed its arguments in place, so their sizes are not shown)"
        return error_from(function, alone, Mismatch(mismatch.where, detail, mismatch.expected, mismatch.got))
    now = f"; now {argument.where}: {argument.detail}" if argument is not None else ""
    detail = (
        "does not match the sizes the arguments had when the call began; the function changed its arguments in "
        f"place since{now}"
    )
    expected = describe_declared(returned[0]) if isinstance(returned[0], TensorSpec) else "its declared type"
    changed = Mismatch("return value", detail, expected, describe_value(returned[1]))
    return error_from(function, Explainer(conf), changed)  # no bindings: the arguments' are gone
