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

This module decides, per class, which checks run (:class:`NemoDispatch`); the checks themselves are in
:mod:`._nemo_plan`.
"""

from __future__ import annotations

import dis
import inspect
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any

import torch

from ._errors import NeuralTypeError
from ._nemo_plan import NemoPlan, NemoPlanIgnoringCollections, flat_types, nemo_spec
from ._plan import Plan

__all__ = ["FROM_ANNOTATIONS", "NemoDispatch", "NemoTypes", "declares_types", "nemo_spec"]


@dataclass(frozen=True)
class NemoTypes:
    """Types given to the decorator itself (``@typecheck(input_types=..., output_types=...)``)."""

    input_types: Mapping[str, Any] | None
    output_types: Mapping[str, Any] | None


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
        self._plan_class = NemoPlanIgnoringCollections if ignore_collections else NemoPlan
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
        if self._plan_class is NemoPlanIgnoringCollections:
            inputs, outputs = flat_types(inputs), flat_types(outputs)
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
