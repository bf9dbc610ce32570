"""The checks of one class's NeMo-typed method, built once from its declared ``input_types`` / ``output_types``.

NeMo's call rules (keyword-only typed inputs, mandatory and undeclared ports, a tuple or list of outputs, one
tensor under two exclusive ports), the generated checkers of the ports (outputs tagged with their port's type),
and the NeMo-worded errors of the explainer when a check fails. :mod:`._nemo` decides, per class, which plan
runs; this module is what a plan does.
"""

from __future__ import annotations

import inspect
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from beartype import BeartypeConf

from neuraltypes.core import NeuralType, NeuralTypeAnnotationError, VoidType

from ._codegen import generate_source, install
from ._errors import NeuralTypeError
from ._explain import Explainer, Mismatch, as_configured, describe_value, error_from
from ._plan import Plan
from ._provenance import TAG_ATTRIBUTE, accepts
from ._specs import NEMO_LIST, ListSpec, OptionalSpec, Spec, TensorSpec, TupleSpec, UnionSpec, tensor_spec

__all__ = ["NemoPlan", "NemoPlanIgnoringCollections", "flat_types", "nemo_spec"]


def nemo_spec(declared: Any, where: str) -> Spec | None:
    """The spec of one NeMo port: a ``NeuralType`` or NeMo's list nesting ``[NeuralType]`` / ``[[...]]``."""
    if isinstance(declared, list):
        if len(declared) != 1:
            raise NeuralTypeAnnotationError(
                f"{where}: NeMo's list convention takes one type per level, got {len(declared)}"
            )
        inner = nemo_spec(declared[0], where)
        return None if inner is None else ListSpec(NEMO_LIST, inner)
    if not isinstance(declared, NeuralType):
        raise NeuralTypeAnnotationError(f"{where}: expected a NeuralType (or [NeuralType]), got {declared!r}")
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


class NemoPlan:
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
        self.call = call  # the method, checking the ordinary hints of its parameters that are not ports
        self.inputs = None if inputs is None else [self._port(n, t, "input") for n, t in inputs.items()]
        self.outputs = None if outputs is None else [self._port(n, t, "output") for n, t in outputs.items()]
        self._inputs_checker = None if self.inputs is None else _inputs_checker(self.inputs, plan)
        # NeMo's rule for several outputs: a tuple or list of as many values as the ports, or fewer down to the
        # mandatory ones (trailing optional ports omitted); one checker per accepted count.
        self._outputs_checkers = _outputs_checkers(self.outputs, plan) if self.outputs else {}
        self._single_output = self._outputs_checkers[1] if self.outputs and len(self.outputs) == 1 else None
        # NeMo's one list port returned as `(items,)`: the tuple is a wrapper, not the list's outer level.
        self._unwrap_one_tuple = (
            self.outputs is not None and len(self.outputs) == 1 and isinstance(self.outputs[0].declared, list)
        )
        self._exclusive = _exclusive_ports(self.outputs or [])

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
            elif self._unwrap_one_tuple and _one_tuple_of_items(result):
                checked = result[0]
            if self._exclusive:
                self._refuse_shared_outputs(checked)
            try:
                checker(checked)
            except TypeError:
                raise self._explain_outputs(checked) from None
        return result

    def _refuse_shared_outputs(self, values: Any) -> None:
        """One tensor returned under two ports whose types exclude each other is refused: it cannot be both."""
        assert self.outputs is not None
        seen: dict[int, _Port] = {}
        for port, value in zip(self.outputs, values, strict=False):
            for leaf in _leaves(value):
                other = seen.setdefault(id(leaf), port)
                if other is not port and (other.name, port.name) in self._exclusive:
                    detail = (
                        f"returned one tensor as both output {other.name!r} and output {port.name!r}, whose types "
                        "exclude each other"
                    )
                    expected = f"{other.name!r}: {_base(other.declared)}, {port.name!r}: {_base(port.declared)}"
                    raise self._error("outputs", detail, f"distinct tensors ({expected})", describe_value(leaf))

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
                self._checked_value(explainer, declared[name].spec, value, f"input {name!r}")
        except Mismatch as mismatch:
            raise error_from(self.qualname, explainer, mismatch) from None

    def _checked_value(self, explainer: Explainer, spec: Spec | None, value: Any, where: str) -> None:
        explainer.check(spec, value, where)

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
                self._checked_value(explainer, port.spec, value, f"output {port.name!r}")
        except Mismatch as mismatch:
            raise error_from(self.qualname, explainer, mismatch) from None


def _raising_ours(conf: BeartypeConf) -> BeartypeConf:
    """``conf`` without its exception types: the ports' checkers raise ours, which ``NemoPlan`` explains in
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


def _one_tuple_of_items(result: Any) -> bool:
    """``(items,)``: how NeMo lets a method return its one list output explicitly wrapped."""
    return type(result) is tuple and len(result) == 1 and isinstance(result[0], NEMO_LIST)


def _base(declared: Any) -> Any:
    """The type inside NeMo's list nesting (``[[NeuralType(...)]]`` -> ``NeuralType(...)``)."""
    while isinstance(declared, list) and len(declared) == 1:
        declared = declared[0]
    return declared


def _exclusive_ports(ports: list[_Port]) -> frozenset[tuple[str, str]]:
    """The pairs of output ports (both orders) whose types exclude each other: one tensor cannot be both."""
    pairs: set[tuple[str, str]] = set()
    for index, first in enumerate(ports):
        for second in ports[index + 1 :]:
            a, b = _base(first.declared), _base(second.declared)
            if isinstance(a, NeuralType) and isinstance(b, NeuralType) and not (accepts(a, b) or accepts(b, a)):
                pairs.update({(first.name, second.name), (second.name, first.name)})
    return frozenset(pairs)


def _leaves(value: Any, depth: int = 16) -> Iterator[Any]:
    """The tensors in ``value``: itself, or those inside its nested lists and tuples."""
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, NEMO_LIST) and depth > 0:
        for item in value:
            yield from _leaves(item, depth - 1)


def _outputs_checkers(ports: list[_Port], plan: Plan) -> dict[int, Callable[..., Any]]:
    """Per accepted number of outputs, a generated function checking and tagging them (the value itself for one
    port)."""
    if len(ports) == 1:
        return {1: _outputs_checker(ports[0].spec, plan)}
    counts = range(_mandatory(ports), len(ports) + 1)
    return {count: _outputs_checker(TupleSpec(tuple(p.spec for p in ports[:count])), plan) for count in counts}


def _outputs_checker(returns: Spec | None, plan: Plan) -> Callable[..., Any]:
    """A generated function checking the outputs and tagging them, NeMo's way (``replace_tags``: every tensor but
    a parameter gets its port's type, the caller's own included)."""

    def identity(value: Any) -> Any:
        return value

    identity.__qualname__ = plan.qualname
    signature = inspect.Signature([inspect.Parameter("value", inspect.Parameter.POSITIONAL_ONLY)])
    conf = _raising_ours(plan.conf)
    checks = Plan(identity, signature, [("value", None)], returns, conf, caller_values={}, replace_tags=True)
    names: dict[str, object] = {}
    return install(generate_source(checks, names, "check_outputs"), names, "check_outputs", plan.qualname)


class NemoPlanIgnoringCollections(NemoPlan):
    """NeMo's ``ignore_collections=True``: a port's list nesting is ignored (build it with the types without their
    nesting, see ``flat_types``), and every tensor inside nested lists and tuples of its value is checked against (and,
    for outputs, tagged with) the port's type."""

    def __call__(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if self.inputs is not None:
            self._check_inputs(args, kwargs, Explainer(self.plan.conf))
        result = self.call(*args, **kwargs)
        if self.outputs:
            ports = self.outputs
            values = tuple(result) if len(ports) > 1 and isinstance(result, NEMO_LIST) else (result,)
            self._check_outputs(values if len(ports) > 1 else result, Explainer(self.plan.conf))
            for port, value in zip(ports, values, strict=False):
                _tag_leaves(port, value)
        return result

    def _checked_value(self, explainer: Explainer, spec: Spec | None, value: Any, where: str) -> None:
        if isinstance(value, NEMO_LIST):
            for leaf in _leaves(value):
                explainer.check(spec, leaf, where)
        else:
            explainer.check(spec, value, where)


def flat_types(types: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """The ports' types without NeMo's list nesting."""
    return None if types is None else {name: _base(declared) for name, declared in types.items()}


def _tag_leaves(port: _Port, value: Any) -> None:
    declared = port.declared
    if not isinstance(declared, NeuralType) or isinstance(declared.elements_type, VoidType):
        return
    for leaf in _leaves(value):
        if not isinstance(leaf, torch.nn.Parameter):
            setattr(leaf, TAG_ATTRIBUTE, declared)
