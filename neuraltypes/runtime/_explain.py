"""The explaining checker: walks specs with a dict of bindings and describes the first violation.

This is the reference semantics of a check. The generated wrapper is a faster rendering of the same rules;
it calls this only after it has found a violation, to say which argument, which axis and why. NeMo-style
classes are checked with it directly.
"""

from __future__ import annotations

import typing
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import torch
from beartype import BeartypeConf
from beartype.roar import BeartypeCallHintParamViolation, BeartypeCallHintReturnViolation

from neuraltypes.core import AxisType, NeuralType, VoidType, format_axes, surprising_kinds

from ._beartype_bridge import DEFAULT_CONF, explain_violation, make_tester
from ._errors import NeuralTypeError, neural_type_error
from ._provenance import TAG_ATTRIBUTE, accepts
from ._specs import (
    DictSpec,
    ListSpec,
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


@dataclass(frozen=True)
class _Binding:
    value: int | tuple[int, ...]
    origin: str


def describe_declared(spec: TensorSpec) -> str:
    """``(b t c) float ProbsType``: the declared type as the messages show it."""
    nt = spec.neural_type
    parts = ["Tensor" if nt.axes is None else f"({format_axes(spec.axes or ())})"]
    if nt.dtype is not None:
        parts.append(nt.dtype)
    if not isinstance(nt.elements_type, VoidType):
        parts.append(str(nt.elements_type))
    return " ".join(parts)


def describe_value(value: object) -> str:
    """``Tensor of shape (1, 3, 4), float32, tagged (B T D): LogitsType`` or ``int 3``."""
    if isinstance(value, torch.Tensor):
        shape = _sizes(value)
        text = f"{type(value).__name__} of shape {shape}, {str(value.dtype).removeprefix('torch.')}"
        tag = getattr(value, TAG_ATTRIBUTE, None)
        if isinstance(tag, NeuralType):
            text += f", tagged {tag}"
        return text
    return f"{type(value).__name__} {_one_line(repr(value), 60)}"


def _one_line(text: str, limit: int) -> str:
    """``text`` on one line (a tensor's repr spans several) and at most ``limit`` characters long: the message
    keeps its four lines."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Explainer:
    """Checks values against specs in call order, binding size variables; raises ``Mismatch`` on the first error.

    Args:
        conf: the beartype configuration for ordinary hints.
    """

    def __init__(self, conf: BeartypeConf = DEFAULT_CONF) -> None:
        self.conf = conf
        self.bindings: dict[str, _Binding] = {}
        self._deferred: list[tuple[int, AxisType, int, str, TensorSpec]] = []

    def bindings_text(self) -> str:
        """``b=2 (parameter 'x'), t=3 (parameter 'x')`` or ``none``."""
        if not self.bindings:
            return "none"
        return ", ".join(f"{name}={_size_text(b.value)} ({b.origin})" for name, b in self.bindings.items())

    def plain_bindings(self) -> dict[str, int | tuple[int, ...]]:
        return {name: binding.value for name, binding in self.bindings.items()}

    def check(self, spec: Spec | None, value: object, where: str) -> None:
        """Check one value (a parameter, the return value, a container element)."""
        if spec is None:
            return
        if isinstance(spec, TensorSpec):
            self._tensor(spec, value, where)
        elif isinstance(spec, PlainSpec):
            self._plain(spec.hint, value, where)
        elif isinstance(spec, OptionalSpec):
            if value is not None:
                self.check(spec.inner, value, where)
        elif isinstance(spec, UnionSpec):
            if isinstance(value, spec.tensor.tensor_class):
                self._tensor(spec.tensor, value, where)
            else:
                try:
                    self._plain(spec.rest, value, where)
                except Mismatch as mismatch:  # name the tensor alternative too
                    expected = f"{describe_declared(spec.tensor)} or {mismatch.expected}"
                    raise Mismatch(where, mismatch.detail, expected, mismatch.got) from None
        elif isinstance(spec, ListSpec):
            self._instance(value, spec.container, where)
            for index, item in enumerate(typing.cast("Iterable[object]", value)):
                self.check(spec.inner, item, f"{where}[{index}]")
        elif isinstance(spec, TupleSpec):
            self._tuple(spec, value, where)
        elif isinstance(spec, DictSpec):
            self._dict(spec, value, where)
        else:
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
        message = _one_line(violation, 400) if violation else f"does not satisfy {_hint_text(hint)}"
        raise Mismatch(where, message, _hint_text(hint), describe_value(value))

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
        expected = describe_declared(spec)
        if not isinstance(value, spec.tensor_class):
            raise Mismatch(
                where,
                f"expected a {spec.tensor_class.__name__}, got {type(value).__name__}",
                expected,
                describe_value(value),
            )
        assert isinstance(value, torch.Tensor)
        if spec.axes is not None:
            # int(): under torch.jit.trace sizes are 0-d tensors; the messages want numbers.
            self._shape(spec, _sizes(value), value, where)
        if spec.dtypes is not None and value.dtype not in spec.dtypes:
            got = str(value.dtype).removeprefix("torch.")
            names = ", ".join(sorted(str(d).removeprefix("torch.") for d in spec.dtypes))
            raise Mismatch(
                where, f"dtype is {got}, expected {spec.neural_type.dtype} ({names})", expected, describe_value(value)
            )
        if spec.semantic and current_level() is True:
            tag = getattr(value, TAG_ATTRIBUTE, None)
            if tag is not None and tag is not spec.neural_type and not accepts(spec.neural_type, tag):
                result = spec.neural_type.compare(tag) if isinstance(tag, NeuralType) else None
                raise Mismatch(
                    where,
                    f"carries the neural type {tag}, which is not accepted where {spec.neural_type} is declared "
                    f"({'n/a' if result is None else result.name}){_kinds_note(spec.neural_type, tag)}",
                    expected,
                    describe_value(value),
                )

    def _shape(self, spec: TensorSpec, shape: tuple[int, ...], value: object, where: str) -> None:
        axes = spec.axes or ()
        count = len(axes)
        variadic = next((i for i, axis in enumerate(axes) if axis.variadic), None)
        rank = len(shape)
        if (variadic is None and rank != count) or (variadic is not None and rank < count - 1):
            wanted = f"{count}" if variadic is None else f"at least {count - 1}"
            raise Mismatch(
                where,
                f"has {rank} axes, expected {wanted} ({format_axes(axes)})",
                describe_declared(spec),
                describe_value(value),
            )
        expressions: list[tuple[int, AxisType, int]] = []
        for index, axis in enumerate(axes):
            position = index if variadic is None or index < variadic else rank - (count - index)
            if axis.variadic:
                if axis.name is not None and spec.bind_names:
                    sizes = shape[index : rank - (count - index - 1)]
                    self._bind(
                        axis.name,
                        sizes,
                        f"axes {index}..{index + len(sizes) - 1} '*{axis.name}'",
                        where,
                        spec,
                        value,
                        sizes_text=_size_text(sizes),
                    )
            elif axis.expr is not None:
                expressions.append((shape[position], axis, position))
            else:
                self._axis(spec, axis, position, shape[position], where, value)
        for size, axis, position in expressions:
            if spec.bind_names:
                self._expression(size, axis, position, where, spec, final=False)

    def _axis(self, spec: TensorSpec, axis: AxisType, position: int, size: int, where: str, value: object) -> None:
        label = _axis_label(axis, position)
        if axis.size is not None and size != axis.size:
            raise Mismatch(
                where, f"{label} has size {size}, expected {axis.size}", describe_declared(spec), describe_value(value)
            )
        if axis.name is None or not spec.bind_names:
            return
        if axis.broadcast:
            bound = self.bindings.get(axis.name)
            if size == 1:
                return
            if bound is not None and bound.value != size:
                raise Mismatch(
                    where,
                    f"{label} has size {size}, expected 1 or {axis.name}={_size_text(bound.value)} "
                    f"(bound by {bound.origin})",
                    describe_declared(spec),
                    describe_value(value),
                )
        self._bind(axis.name, size, label, where, spec, value, sizes_text=str(size))

    def _bind(
        self,
        name: str,
        size: int | tuple[int, ...],
        label: str,
        where: str,
        spec: TensorSpec,
        value: object,
        *,
        sizes_text: str,
    ) -> None:
        bound = self.bindings.get(name)
        if bound is None:
            self.bindings[name] = _Binding(size, where)
        elif bound.value != size:
            verb = "have sizes" if isinstance(size, tuple) else "has size"
            raise Mismatch(
                where,
                f"{label} {verb} {sizes_text}, but {name}={_size_text(bound.value)} was bound by {bound.origin}",
                describe_declared(spec),
                describe_value(value),
            )

    def _expression(
        self, size: int, axis: AxisType, position: int, where: str, spec: TensorSpec, *, final: bool
    ) -> None:
        expr = axis.expr
        assert expr is not None
        names = expr.variables()
        if any(name not in self.bindings for name in names):
            if not final:
                self._deferred.append((size, axis, position, where, spec))
            return
        values = {name: self.bindings[name].value for name in names}
        wanted = expr.evaluate(values)  # type: ignore[arg-type]
        if size != wanted:
            origins = ", ".join(f"{n}={_size_text(v)} bound by {self.bindings[n].origin}" for n, v in values.items())
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


def _hint_text(hint: Any) -> str:
    """``int``, ``list[str]``, ``Optional[int]``: a hint as written, not as ``repr`` of a class shows it."""
    if isinstance(hint, type) and not typing.get_args(hint):
        return hint.__qualname__
    return repr(hint).replace("typing.", "")


def _axis_label(axis: AxisType, position: int) -> str:
    if axis.name is None:
        return f"axis {position}"
    return f"axis {position} '{'#' if axis.broadcast else ''}{axis.name}'"


def _size_text(size: int | tuple[int, ...]) -> str:
    return str(tuple(size)) if isinstance(size, tuple) else str(size)


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


def _sizes(tensor: torch.Tensor) -> tuple[Any, ...]:
    """The sizes as numbers (under ``torch.jit.trace`` they are 0-d tensors); a size that has no number (the
    ragged dimension of a jagged nested tensor) stays as it is."""
    sizes: list[Any] = []
    for size in tensor.shape:
        try:
            sizes.append(int(size))
        except (TypeError, ValueError, AttributeError, RuntimeError):
            sizes.append(size)
    return tuple(sizes)
