"""NeMo compatibility: methods of classes that declare ``input_types`` / ``output_types`` properties.

NeMo's rules: with input types, arguments are passed by keyword only, every mandatory port must be given and
no undeclared one; an incoming tensor's carried type must be accepted by the declared one; every output tensor
is tagged with its port's type (the caller's own tensors too, replacing an earlier tag, as NeMo does); the
method's ordinary annotations are not checked. Unlike NeMo, sizes written in the types
(``AxisType(Dimension, 80)``) are checked, not only ranks, bare tensors where a list is declared are rejected,
outputs are checked too, and one tensor returned under two ports of incompatible types is an error (NeMo keeps
whichever tag it wrote last).

The types are read once per class when its ``input_types``/``output_types`` properties cannot change (their
getters never read ``self``), else on every call, as NeMo does, with the checks of each distinct answer kept.

The axis labels of NeMo-declared types are kinds, not size variables: NeMo's own modules reuse ``T`` for an
encoder's input and its downsampled output, so binding them would reject working models.
"""

from __future__ import annotations

import dis
import inspect
import re
import sys
from collections.abc import Callable, Hashable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from beartype import BeartypeConf

from neuraltypes.core import NeuralType, VoidType

from ._codegen import generate_source, install
from ._errors import NeuralTypeError
from ._explain import Explainer, Mismatch, as_configured, describe_value, error_from
from ._plan import Plan
from ._provenance import TAG_ATTRIBUTE, accepts
from ._specs import NEMO_LIST, ListSpec, OptionalSpec, Spec, TensorSpec, TupleSpec, UnionSpec, tensor_spec

__all__ = ["FROM_ANNOTATIONS", "NemoDispatch", "NemoTypes", "declares_types", "nemo_spec"]


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


class _NemoPlanIgnoringCollections(_NemoPlan):
    """NeMo's ``ignore_collections=True``: a port's list nesting is ignored (build it with the types without their
    nesting, see ``_flat``), and every tensor inside nested lists and tuples of its value is checked against (and,
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


def _flat(types: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """The ports' types without NeMo's list nesting."""
    return None if types is None else {name: _base(declared) for name, declared in types.items()}


def _tag_leaves(port: _Port, value: Any) -> None:
    declared = port.declared
    if not isinstance(declared, NeuralType) or isinstance(declared.elements_type, VoidType):
        return
    for leaf in _leaves(value):
        if not isinstance(leaf, torch.nn.Parameter):
            setattr(leaf, TAG_ATTRIBUTE, declared)


FROM_ANNOTATIONS = "_neural_types_from_annotations"
"""Marker on property getters that derive the types from annotations (``neuraltypes.nn.Typing``)."""


def _declares(owner: type, name: str) -> bool:
    """Whether the class has its own ``name`` property (NeMo's style), not the one derived from annotations."""
    attribute = inspect.getattr_static(owner, name, None)
    getter = attribute.fget if isinstance(attribute, property) else attribute
    return attribute is not None and getattr(getter, FROM_ANNOTATIONS, False) is not True


def _declared_types(instance: Any, owner: type, name: str) -> Any:
    """The class's NeMo-style declared types, or None; derived properties (marked) do not count."""
    return getattr(instance, name, None) if _declares(owner, name) else None


def _reads_self(owner: type, name: str) -> bool:
    """Whether the class's ``name`` property may answer differently per instance or per call: its getter reads
    ``self`` (or calls ``super()``, which does), or it is not a plain function whose code can be read."""
    attribute = inspect.getattr_static(owner, name, None)
    if attribute is None:
        return False
    getter = attribute.fget if isinstance(attribute, property) else None
    if getattr(getter, FROM_ANNOTATIONS, False) is True:
        return False  # derived from the class's annotations: the same for every instance
    code = getattr(inspect.unwrap(getter), "__code__", None) if getter is not None else None
    if code is None or code.co_argcount < 1:
        return True
    receiver = code.co_varnames[0]
    if receiver in code.co_cellvars or "__class__" in code.co_freevars:
        return True
    return any(
        instruction.opname.startswith("LOAD_FAST") and receiver in _names(instruction.argval)
        for instruction in dis.get_instructions(code)
    )


def _names(argval: object) -> tuple[object, ...]:
    return argval if isinstance(argval, tuple) else (argval,)  # LOAD_FAST_LOAD_FAST (3.13) loads two


_PLANS_PER_CLASS = 16
"""How many distinct answers of a class's changing properties keep their built checks."""

Checker = Callable[[tuple[Any, ...], dict[str, Any]], Any]


def _frozen(types: Mapping[str, Any] | None) -> Hashable:
    """A hashable key for a property's answer: ports in order, NeMo's list nesting as tuples."""

    def freeze(declared: Any) -> Any:
        return tuple(freeze(item) for item in declared) if isinstance(declared, list) else declared

    return None if types is None else tuple((name, freeze(t)) for name, t in types.items())


class _Rereading:
    """The checks of a class whose properties may change (NeMo's mode switches): the properties are read on
    every call, as NeMo does, and the checks built for each distinct answer are kept."""

    def __init__(self, build: Callable[[Mapping[str, Any] | None, Mapping[str, Any] | None], Checker]) -> None:
        self._build = build
        self._plans: dict[Hashable, Checker] = {}

    def __call__(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        instance = args[0]
        inputs, outputs = instance.input_types, instance.output_types
        try:
            key = (_frozen(inputs), _frozen(outputs))
            checker = self._plans.get(key)
        except TypeError:  # an answer that cannot be hashed: checked without keeping the checks
            return self._build(inputs, outputs)(args, kwargs)
        if checker is None:
            if len(self._plans) >= _PLANS_PER_CLASS:
                self._plans.pop(next(iter(self._plans)))
            checker = self._plans.setdefault(key, self._build(inputs, outputs))
        return checker(args, kwargs)


def _nemo_base(owner: type) -> bool:
    """Whether ``owner`` inherits NeMo's ``Typing`` interface (ours: a class with the marked derived properties)."""
    return any(
        getattr(getattr(klass.__dict__.get(name), "fget", None), FROM_ANNOTATIONS, False) is True
        for klass in owner.__mro__
        for name in ("input_types", "output_types")
    )


class NemoDispatch:
    """Per class: NeMo's checks when the class declares types, else the ordinary-hints wrapper.

    The declared types are read once for the class when its properties cannot change (see ``_reads_self``),
    else on every call (``_Rereading``).
    """

    def __init__(
        self,
        plan: Plan,
        explicit: NemoTypes | None,
        plain_for: Callable[[frozenset[str], bool], Callable[..., Any]],
        ignore_collections: bool = False,
    ) -> None:
        self.plan = plan
        self.explicit = explicit
        self.plain_for = plain_for
        """The method checking its ordinary hints, but those of the given input ports (and, with True, of the
        return value); built when a call first needs it, as only then an invalid hint can be told apart from
        NeMo's unread one."""
        self._plan_class = _NemoPlanIgnoringCollections if ignore_collections else _NemoPlan
        self._per_class: dict[type, Checker] = {}
        # Types given to the decorator need no instance: build their checks now, outside any compile trace.
        self._explicit_plan = None
        if explicit is not None:
            self._explicit_plan = self._nemo_plan(explicit.input_types, explicit.output_types)
        self._not_ready = (
            f"{plan.qualname}() reads its class's input_types/output_types on the first call, which cannot run "
            "while torch.compile traces: call the module once before compiling it with fullgraph=True, or pass "
            "the types to @typecheck(input_types=..., output_types=...)"
        )

    def _nemo_plan(self, inputs: Mapping[str, Any] | None, outputs: Mapping[str, Any] | None) -> Checker:
        if inputs is None and outputs is None:
            function = self.plain_for(frozenset(), False)

            def unchecked(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
                return function(*args, **kwargs)

            return unchecked
        call = self.plain_for(frozenset(inputs or ()), outputs is not None)
        if self._plan_class is _NemoPlanIgnoringCollections:
            inputs, outputs = _flat(inputs), _flat(outputs)
        return self._plan_class(self.plan.qualname, inputs, outputs, self.plan, call)

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

    def _checker_for(self, instance: Any, owner: type) -> Checker:
        # No lock: two threads may both build the checker of a class; either result is right, and a lock
        # would stop torch.compile from tracing a first call.
        inputs = _declared_types(instance, owner, "input_types")
        outputs = _declared_types(instance, owner, "output_types")
        checker: Checker
        if inputs is None and outputs is None and not declares_types(owner):
            plain = self.plain_for(frozenset(), False)

            def checker(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
                return plain(*args, **kwargs)
        elif not _nemo_base(owner):
            raise RuntimeError(
                f"{self.plan.qualname}(): {owner.__qualname__} declares input_types/output_types but does not "
                "inherit neuraltypes.Typing (or NeuralModule); NeMo's @typecheck() requires it"
            )
        elif _reads_self(owner, "input_types") or _reads_self(owner, "output_types"):
            checker = _Rereading(self._nemo_plan)
        else:
            checker = self._nemo_plan(inputs, outputs)
        return self._per_class.setdefault(owner, checker)


def declares_types(owner: type) -> bool:
    """Whether the class defines its own ``input_types``/``output_types`` (not the ones derived from annotations)."""
    return _declares(owner, "input_types") or _declares(owner, "output_types")
