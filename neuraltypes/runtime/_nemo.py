"""NeMo compatibility: methods of classes that declare ``input_types`` / ``output_types`` properties.

NeMo's rules: with input types, arguments are passed by keyword only, every mandatory port must be given and
no undeclared one; an incoming tensor's carried type must be accepted by the declared one; outputs are tagged.
Unlike NeMo, sizes written in the types (``AxisType(Dimension, 80)``) are checked, not only ranks, bare
tensors where a list is declared are rejected, outputs are checked too, and the types are read once per class
(the first instance's properties), not rebuilt on every call.

The axis labels of NeMo-declared types are kinds, not size variables: NeMo's own modules reuse ``T`` for an
encoder's input and its downsampled output, so binding them would reject working models.
"""

from __future__ import annotations

import inspect
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from beartype import BeartypeConf

from neuraltypes.core import NeuralType, VoidType

from ._codegen import generate_source, install
from ._emitter import has_tags
from ._errors import NeuralTypeError
from ._explain import Explainer, Mismatch, as_configured, error_from
from ._plan import CallerValue, Plan
from ._specs import NEMO_LIST, ListSpec, OptionalSpec, Spec, TensorSpec, TupleSpec, UnionSpec, tensor_spec

__all__ = ["NemoDispatch", "NemoTypes", "nemo_spec"]


@dataclass(frozen=True)
class NemoTypes:
    """Types given to the decorator itself (``@typecheck(input_types=..., output_types=...)``)."""

    input_types: Mapping[str, Any] | None
    output_types: Mapping[str, Any] | None


def nemo_spec(declared: Any, where: str) -> Spec | None:
    """The spec of one NeMo port: a ``NeuralType`` or NeMo's list nesting ``[NeuralType]`` / ``[[...]]``."""
    if isinstance(declared, list):
        if len(declared) != 1:
            raise TypeError(f"{where}: NeMo's list convention takes one type per level, got {len(declared)}")
        inner = nemo_spec(declared[0], where)
        return None if inner is None else ListSpec(NEMO_LIST, inner)
    if not isinstance(declared, NeuralType):
        raise TypeError(f"{where}: expected a NeuralType (or [NeuralType]), got {declared!r}")
    if declared.axes is None:
        if isinstance(declared.elements_type, VoidType) and declared.dtype is None:
            return None
        # No axes declared: anything may come; a tensor is checked for its dtype and carried type.
        tensor = tensor_spec(declared, bind_names=False)
        assert isinstance(tensor, TensorSpec)
        return UnionSpec(tensor, object)
    return tensor_spec(declared, bind_names=False)


@dataclass
class _Port:
    name: str
    spec: Spec | None
    optional: bool
    declared: Any


class _NemoPlan:
    """The checks of one class's typed method, built once from its declared types."""

    def __init__(
        self,
        qualname: str,
        inputs: Mapping[str, Any] | None,
        outputs: Mapping[str, Any] | None,
        plan: Plan,
        call: Callable[..., Any],
    ) -> None:
        self.qualname = qualname
        self.plan = plan
        self.call = call  # the method, with its ordinary hints checked by beartype
        self.inputs = None if inputs is None else [self._port(n, t, "input") for n, t in inputs.items()]
        self.outputs = None if outputs is None else [self._port(n, t, "output") for n, t in outputs.items()]
        self._inputs_checker = None if self.inputs is None else _inputs_checker(self.inputs, plan)
        # NeMo's rule for several outputs: a tuple or list of as many values as the ports, or fewer down to the
        # mandatory ones (trailing optional ports omitted); one checker per accepted count.
        self._outputs_checkers = _outputs_checkers(self.outputs, plan) if self.outputs else {}
        self._single_output = self._outputs_checkers[1] if self.outputs and len(self.outputs) == 1 else None
        # The call's arguments go to the outputs' checker only when it tags (not the caller's tensors), with the
        # ports declared as lists (NeMo's list convention) searched inside.
        self._outputs_tagged = any(port.spec is not None and has_tags(port.spec) for port in self.outputs or ())
        self._list_ports = tuple(port.name for port in self.inputs or () if isinstance(port.declared, list))

    def _port(self, name: str, declared: Any, side: str) -> _Port:
        spec = nemo_spec(declared, f"{self.qualname} {side} {name!r}")
        optional = isinstance(declared, NeuralType) and declared.optional
        return _Port(name, OptionalSpec(spec) if optional and spec is not None else spec, optional, declared)

    def __call__(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if self._inputs_checker is not None:
            if len(args) > 1:
                raise self._explain_inputs(args, kwargs)
            try:
                self._inputs_checker(**kwargs)  # Python itself refuses missing and undeclared names
            except TypeError:
                raise self._explain_inputs(args, kwargs) from None
        result = self.call(*args, **kwargs)
        if self._outputs_checkers:
            checked, checker = result, self._single_output
            if checker is None:  # several ports: a tuple or a list, checked by the checker of its length
                checked = tuple(result) if isinstance(result, list) else result
                checker = self._outputs_checkers.get(len(checked)) if isinstance(checked, tuple) else None
                if checker is None:
                    raise self._explain_outputs(result)
            try:
                if self._outputs_tagged:
                    lists = tuple(kwargs[name] for name in self._list_ports if name in kwargs)
                    checker(checked, lists, *args, *kwargs.values())
                else:
                    checker(checked, ())
            except TypeError:
                raise self._explain_outputs(result) from None
        return result

    def _explain_inputs(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> BaseException:
        """The NeMo-worded error for inputs the generated checker refused (re-checked by the explainer)."""
        error = sys.exc_info()[1]
        if torch.compiler.is_compiling() and error is not None:
            return error  # the explainer cannot be traced; the checker's message says what to do
        try:
            self._check_inputs(args, kwargs, Explainer(self.plan.conf))
        except NeuralTypeError as explained:
            return as_configured(explained, self.plan.conf, returned=False)
        got = _arguments_text(args[1:], kwargs)
        return error or self._error("inputs", "were refused", "the declared input_types", got)

    def _explain_outputs(self, result: Any) -> BaseException:
        error = sys.exc_info()[1]
        if torch.compiler.is_compiling() and error is not None:
            return error
        try:
            self._check_outputs(result, Explainer(self.plan.conf))
        except NeuralTypeError as explained:
            return as_configured(explained, self.plan.conf, returned=True)
        return error or self._error("outputs", "were refused", "the declared output_types", type(result).__name__)

    def _error(self, where: str, detail: str, expected: str, got: str) -> NeuralTypeError:
        """A failure of NeMo's call rules (no axis involved), in the four-line form of every failed check."""
        return error_from(self.qualname, Explainer(self.plan.conf), Mismatch(where, detail, expected, got))

    def _check_inputs(self, args: tuple[Any, ...], kwargs: dict[str, Any], explainer: Explainer) -> None:
        assert self.inputs is not None
        declared = {port.name: port for port in self.inputs}
        expected = "keyword arguments " + ", ".join(p.name + (" (optional)" if p.optional else "") for p in self.inputs)
        got = _arguments_text(args[1:], kwargs)
        if len(args) > 1:
            detail = "takes its typed inputs by keyword only (NeMo's rule for input_types)"
            raise self._error("inputs", detail, expected, got)
        undeclared = [name for name in kwargs if name not in declared]
        if undeclared:
            raise self._error("inputs", f"got undeclared input(s) {', '.join(map(repr, undeclared))}", expected, got)
        missing = [p.name for p in self.inputs if not p.optional and p.name not in kwargs]
        if missing:
            detail = f"is missing the mandatory input(s) {', '.join(map(repr, missing))}"
            raise self._error("inputs", detail, expected, got)
        try:
            for name, value in kwargs.items():
                explainer.check(declared[name].spec, value, f"input {name!r}")
        except Mismatch as mismatch:
            raise error_from(self.qualname, explainer, mismatch) from None

    def _check_outputs(self, result: Any, explainer: Explainer) -> None:
        assert self.outputs is not None
        ports = self.outputs
        mandatory = _mandatory(ports)
        if len(ports) == 1:
            values: tuple[Any, ...] = (result,)
        elif isinstance(result, (tuple, list)) and mandatory <= len(result) <= len(ports):
            values = tuple(result)
        else:
            got = (
                f"{type(result).__name__} of length {len(result)}"
                if isinstance(result, (tuple, list))
                else (type(result).__name__)
            )
            count = f"{len(ports)}" if mandatory == len(ports) else f"{mandatory} to {len(ports)}"
            expected = f"a tuple of {count} outputs ({', '.join(p.name for p in ports)})"
            raise self._error("outputs", f"returned {got}, expected {expected}", expected, got)
        try:
            for port, value in zip(ports[: len(values)], values, strict=True):
                explainer.check(port.spec, value, f"output {port.name!r}")
        except Mismatch as mismatch:
            raise error_from(self.qualname, explainer, mismatch) from None


def _raising_ours(conf: BeartypeConf) -> BeartypeConf:
    """``conf`` without its exception types: the ports' checkers raise ours, which ``_NemoPlan`` explains in
    NeMo's terms and then turns into the configured type."""
    kept = {key: value for key, value in conf.kwargs.items() if not re.fullmatch(r"violation_(\w+_)?type", key)}
    return BeartypeConf(**kept)


def _arguments_text(positional: tuple[Any, ...], keywords: dict[str, Any]) -> str:
    parts = [f"{len(positional)} positional argument(s)"] if positional else []
    if keywords:
        parts.append("keyword arguments " + ", ".join(keywords))
    return " and ".join(parts) or "no arguments"


def _inputs_checker(ports: list[_Port], plan: Plan) -> Callable[..., None]:
    """A generated function taking the ports as keyword-only parameters (optional ones default to None)."""
    parameters = [
        inspect.Parameter(
            p.name, inspect.Parameter.KEYWORD_ONLY, default=None if p.optional else inspect.Parameter.empty
        )
        for p in ports
    ]

    def accept(**kwargs: Any) -> None:
        return None

    accept.__qualname__ = plan.qualname
    ports_spec = [(p.name, p.spec) for p in ports]
    checks = Plan(accept, inspect.Signature(parameters), ports_spec, None, _raising_ours(plan.conf))
    names: dict[str, object] = {}
    return install(generate_source(checks, names, "check_inputs"), names, "check_inputs", plan.qualname)


def _mandatory(ports: list[_Port]) -> int:
    """How many outputs must be returned: up to the last port that is not optional."""
    return max((index + 1 for index, port in enumerate(ports) if not port.optional), default=0)


def _outputs_checkers(ports: list[_Port], plan: Plan) -> dict[int, Callable[..., Any]]:
    """Per accepted number of outputs, a generated function checking and tagging them (the value itself for one
    port), given the call's arguments too: a tensor the caller passed in and the method returned is not tagged."""
    if len(ports) == 1:
        return {1: _outputs_checker(ports[0].spec, plan)}
    counts = range(_mandatory(ports), len(ports) + 1)
    return {count: _outputs_checker(TupleSpec(tuple(p.spec for p in ports[:count])), plan) for count in counts}


def _outputs_checker(returns: Spec | None, plan: Plan) -> Callable[..., Any]:
    def identity(value: Any, lists: tuple[Any, ...], *arguments: Any) -> Any:
        return value

    identity.__qualname__ = plan.qualname
    signature = inspect.Signature(
        [
            inspect.Parameter("value", inspect.Parameter.POSITIONAL_ONLY),
            inspect.Parameter("lists", inspect.Parameter.POSITIONAL_ONLY),
            inspect.Parameter("arguments", inspect.Parameter.VAR_POSITIONAL),
        ]
    )
    parameters: list[tuple[str, Spec | None]] = [("value", None), ("lists", None), ("arguments", None)]
    callers: dict[str, CallerValue] = {"lists": "nested", "arguments": "items"}
    checks = Plan(identity, signature, parameters, returns, _raising_ours(plan.conf), caller_values=callers)
    names: dict[str, object] = {}
    return install(generate_source(checks, names, "check_outputs"), names, "check_outputs", plan.qualname)


FROM_ANNOTATIONS = "_neural_types_from_annotations"
"""Marker on property getters that derive the types from annotations (``neuraltypes.nn.Typing``)."""


def _declared_types(instance: Any, owner: type, name: str) -> Any:
    """The class's NeMo-style declared types, or None; derived properties (marked) do not count."""
    attribute = inspect.getattr_static(owner, name, None)
    getter = attribute.fget if isinstance(attribute, property) else attribute
    if attribute is None or getattr(getter, FROM_ANNOTATIONS, False) is True:
        return None
    return getattr(instance, name, None)


class NemoDispatch:
    """Per class: NeMo's checks when the class declares types, else the ordinary-hints wrapper.

    The declared types are read from the first instance's ``input_types`` / ``output_types`` properties and
    kept for the class (NeMo rebuilds them on every call).
    """

    def __init__(self, plan: Plan, explicit: NemoTypes | None, plain: Callable[..., Any]) -> None:
        self.plan = plan
        self.explicit = explicit
        self.plain = plain
        self._per_class: dict[type, Callable[[tuple[Any, ...], dict[str, Any]], Any]] = {}
        # Types given to the decorator need no instance: build their checks now, outside any compile trace.
        self._explicit_plan = None
        if explicit is not None:
            self._explicit_plan = _NemoPlan(plan.qualname, explicit.input_types, explicit.output_types, plan, plain)
        self._not_ready = (
            f"{plan.qualname}() reads its class's input_types/output_types on the first call, which cannot run "
            "while torch.compile traces: call the module once before compiling it with fullgraph=True, or pass "
            "the types to @typecheck(input_types=..., output_types=...)"
        )

    def __call__(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if self._explicit_plan is not None:
            return self._explicit_plan(args, kwargs)
        owner = type(args[0]) if args else type(None)
        checker = self._per_class.get(owner)
        if checker is None:
            if torch.compiler.is_compiling():
                # Reading the properties builds NeuralTypes (parsing), which Dynamo cannot trace. Without
                # fullgraph, Dynamo then runs this call eagerly, and the next trace finds the checks built.
                raise NeuralTypeError(self._not_ready)
            checker = self._checker_for(args[0] if args else None, owner)
        return checker(args, kwargs)

    def _checker_for(self, instance: Any, owner: type) -> Callable[[tuple[Any, ...], dict[str, Any]], Any]:
        # No lock: two threads may both build the checker of a class; either result is right, and a lock
        # would stop torch.compile from tracing a first call.
        inputs = _declared_types(instance, owner, "input_types")
        outputs = _declared_types(instance, owner, "output_types")
        checker: Callable[[tuple[Any, ...], dict[str, Any]], Any]
        if inputs is None and outputs is None:
            plain = self.plain

            def checker(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
                return plain(*args, **kwargs)
        else:
            checker = _NemoPlan(self.plan.qualname, inputs, outputs, self.plan, self.plain)
        return self._per_class.setdefault(owner, checker)
