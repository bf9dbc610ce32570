"""``@typecheck``: the decorator, bare or called, on functions, methods and ``forward``."""

from __future__ import annotations

import dataclasses
import functools
import inspect
import threading
import types
import typing
import warnings
from collections.abc import Callable
from typing import Any, TypeVar, overload

import torch
from beartype import BeartypeConf

from ._beartype_bridge import is_type_hint
from ._codegen import generate_source, install
from ._errors import NeuralTypeAnnotationError, NeuralTypeError
from ._instrument import instrument
from ._nemo import NemoDispatch, NemoTypes
from ._plan import Plan
from ._specs import DictSpec, ListSpec, PlainSpec, Spec, build_spec, contains_tensor
from ._switches import (
    CHECKS_AVAILABLE,
    TypecheckConf,
    current_level,
    disable_checks,
    disable_semantic_checks,
    enable_checks,
    enable_semantic_checks,
    set_checks_enabled,
    set_semantic_checks_enabled,
)

__all__ = ["CHECKED_MARKER", "typecheck"]

F = TypeVar("F", bound=Callable[..., Any])

CHECKED_MARKER = "__neuraltypes_typecheck__"
"""Attribute set on every wrapper (to the wrapped function), so that other layers do not wrap twice."""


class _Decoration(typing.NamedTuple):
    """What one decoration asks for: the configuration, and the NeMo types given to the decorator itself."""

    conf: TypecheckConf
    nemo: NemoTypes | None = None
    bound_to_instance: bool = True  # False under staticmethod/classmethod: no NeMo-style instance


class _Typecheck:
    """Check calls against their annotations: ``@typecheck``, ``@typecheck()``, ``@typecheck(conf=...)``.

    Args:
        conf: the configuration, a ``TypecheckConf`` (``TypecheckConf()``, the environment's, when left out); a
            ``BeartypeConf`` stands for ``TypecheckConf(beartype_conf=conf)``, beartype's configuration for the
            ordinary (non-tensor) hints.
        skip_when_compiling, ignore_collections, instrument: set that field of ``conf`` (see ``TypecheckConf``).
        input_types: NeMo's decorator argument: the input types to use instead of the class's property.
        output_types: likewise for the outputs.

    Raises:
        NeuralTypeAnnotationError: when decorating, an annotation that cannot be checked.

    NeMo's class-level switches are here too: ``typecheck.disable_checks()``,
    ``typecheck.disable_semantic_checks()`` (scoped context managers, unlike NeMo's), and NeMo's setters
    ``typecheck.set_typecheck_enabled(False)``, ``typecheck.set_semantic_check_enabled(False)`` and
    ``typecheck.enable_wrapping(False)``, which change this thread's state from then on (NeMo's change the
    whole process's; ``enable_wrapping(False)`` turns checks off rather than stopping later decorations from
    wrapping: ``NEURALTYPES_DISABLE=1`` is the way to have no wrapper at all).
    """

    disable_checks = staticmethod(disable_checks)
    enable_checks = staticmethod(enable_checks)
    disable_semantic_checks = staticmethod(disable_semantic_checks)
    enable_semantic_checks = staticmethod(enable_semantic_checks)
    set_typecheck_enabled = staticmethod(set_checks_enabled)
    set_semantic_check_enabled = staticmethod(set_semantic_checks_enabled)
    enable_wrapping = staticmethod(set_checks_enabled)

    @overload
    def __call__(self, function: F, /) -> F: ...

    @overload
    def __call__(
        self,
        function: None = None,
        /,
        *,
        conf: TypecheckConf | BeartypeConf = ...,
        skip_when_compiling: bool = ...,
        input_types: dict[str, Any] | None = ...,
        output_types: dict[str, Any] | None = ...,
        ignore_collections: bool = ...,
        instrument: bool = ...,
    ) -> Callable[[F], F]: ...

    def __call__(
        self,
        function: Any = None,
        /,
        *,
        conf: TypecheckConf | BeartypeConf | None = None,
        skip_when_compiling: bool | None = None,
        input_types: dict[str, Any] | None = None,
        output_types: dict[str, Any] | None = None,
        ignore_collections: bool | None = None,
        instrument: bool | None = None,
    ) -> Any:
        nemo = None
        if input_types is not None or output_types is not None:
            nemo = NemoTypes(input_types, output_types)
        options = {"skip_when_compiling": skip_when_compiling, "ignore_collections": ignore_collections}
        decoration = _Decoration(_conf_of(conf, instrument=instrument, **options), nemo)
        if function is None:
            return functools.partial(_decorate, decoration=decoration)
        return _decorate(function, decoration)

    def __repr__(self) -> str:
        return "neuraltypes.runtime.typecheck"


typecheck = _Typecheck()


def _conf_of(conf: TypecheckConf | BeartypeConf | None, **options: bool | None) -> TypecheckConf:
    """The configuration of one decoration: ``conf`` with the options that were given (not None) in place."""
    if conf is None:
        conf = TypecheckConf()
    elif isinstance(conf, BeartypeConf):
        conf = TypecheckConf(beartype_conf=conf)
    elif not isinstance(conf, TypecheckConf):
        raise TypeError(f"@typecheck(conf=...) takes a TypecheckConf or a BeartypeConf, not {conf!r}")
    if conf.semantic_checks != TypecheckConf().semantic_checks:
        # Not silently ignored: the switch belongs to the thread, and a conf cannot set it for one function.
        raise TypeError(
            "@typecheck(conf=...): semantic_checks is the switch of a thread, not of one function; use "
            "'with disable_semantic_checks():' (or NEURALTYPES_DISABLE_SEMANTIC=1 for the whole process)"
        )
    given: dict[str, Any] = {name: value for name, value in options.items() if value is not None}
    return dataclasses.replace(conf, **given) if given else conf


def _decorate(function: Any, decoration: _Decoration) -> Any:
    if not decoration.conf.enabled or not CHECKS_AVAILABLE:
        return function
    if isinstance(function, (staticmethod, classmethod)):
        return type(function)(_decorate(function.__func__, decoration._replace(bound_to_instance=False)))
    if isinstance(function, type) or not callable(function):
        raise TypeError(f"@typecheck decorates functions and methods (such as forward), not {function!r}")
    if getattr(function, CHECKED_MARKER, None) is not None:
        return function
    try:
        hints = typing.get_type_hints(function, include_extras=True)
    except NameError:
        return _lazy(function, decoration)
    return _build(function, hints, decoration, {}, instrumented=decoration.conf.instrument)


def _build(
    function: Callable[..., Any],
    hints: dict[str, Any],
    decoration: _Decoration,
    names: dict[str, object],
    *,
    instrumented: bool,
) -> Any:
    """The checked function: ``function`` itself recompiled with the checks in it where that is safe
    (``instrumented``), else a generated wrapper; a NeMo-style dispatcher for NeMo-style classes."""
    signature = inspect.signature(function)
    parameters = [(name, _parameter_spec(p, hints)) for name, p in signature.parameters.items()]
    returns = build_spec(hints["return"]) if "return" in hints else None
    if inspect.iscoroutinefunction(function) or inspect.isasyncgenfunction(function):
        returns = None  # the call returns a coroutine; what it finally produces is not seen by a wrapper
    conf = decoration.conf
    plan = Plan(function, signature, parameters, returns, conf.beartype_conf, conf.skip_when_compiling)
    neural = any(contains_tensor(spec) for _, spec in parameters) or contains_tensor(returns)
    name = function.__name__ if function.__name__.isidentifier() else "wrapper"
    nemo_candidate = decoration.bound_to_instance and not neural and _is_method(function, signature)
    if decoration.nemo is not None or nemo_candidate:
        dispatch = NemoDispatch(
            plan, decoration.nemo, functools.partial(_plain_wrapper, plan, name), conf.ignore_collections
        )
        source = (
            f"def {name}(*args, **kwargs):\n"
            "    if not _ntq_level():\n"
            "        return _ntq_fn(*args, **kwargs)\n"
            "    return _ntq_nemo(args, kwargs)\n"
        )
        names.update(_ntq_fn=function, _ntq_nemo=dispatch, _ntq_level=current_level)
        return _finish(install(source, names, name, plan.qualname), function, None)
    _refuse_invalid_hints(plan)
    if all(spec is None for _, spec in parameters) and returns is None:
        return function
    checked = instrument(plan) if instrumented else None
    if checked is not None:
        return _finish(checked, function, function)
    source = generate_source(plan, names, name)
    return _finish(install(source, names, name, plan.qualname), function, function)


def _plain_wrapper(
    plan: Plan, name: str, ports: frozenset[str] = frozenset(), typed_outputs: bool = False
) -> Callable[..., Any]:
    """The ordinary-hints wrapper of a method: the whole of it for a class that turns out to declare no NeMo
    types; for one that does, without the annotations of the parameters that are input ports (``ports``) and,
    with ``typed_outputs``, of the return value (NeMo reads the declared types alone).

    Raises:
        NeuralTypeAnnotationError: an annotation that is checked is not a type hint.
    """
    if ports or typed_outputs:
        parameters = [(p, None if p in ports else spec) for p, spec in plan.parameters]
        plan = dataclasses.replace(plan, parameters=parameters, returns=None if typed_outputs else plan.returns)
    _refuse_invalid_hints(plan)
    if all(spec is None for _, spec in plan.parameters) and plan.returns is None:
        return plan.function
    names: dict[str, object] = {}
    wrapper = install(generate_source(plan, names, name), names, name, plan.qualname)
    wrapper.__defaults__ = plan.function.__defaults__  # the generated header has None for every default
    wrapper.__kwdefaults__ = plan.function.__kwdefaults__
    return wrapper


def _refuse_invalid_hints(plan: Plan) -> None:
    """An annotation that is not a type hint (``x: list()``, ``n: 3``) is refused when the checks are built.

    Raises:
        NeuralTypeAnnotationError: naming the function, the parameter (or the return value) and the annotation.
    """
    checked = [(f"parameter {name!r}", spec) for name, spec in plan.parameters]
    checked.append(("the return value", plan.returns))
    for where, spec in checked:
        if isinstance(spec, PlainSpec) and not is_type_hint(spec.hint):
            raise NeuralTypeAnnotationError(
                f"{plan.qualname}: the annotation of {where} is {spec.hint!r}, an instance of "
                f"{type(spec.hint).__name__}, not a type hint (write a class or a typing form, such as list)"
            )


def _parameter_spec(parameter: inspect.Parameter, hints: dict[str, Any]) -> Spec | None:
    if parameter.name not in hints:
        return None
    spec = build_spec(hints[parameter.name])
    # *args and **kwargs: every element is checked (beartype alone would sample one).
    if spec is not None and parameter.kind is inspect.Parameter.VAR_POSITIONAL:
        return ListSpec(tuple, spec)
    if spec is not None and parameter.kind is inspect.Parameter.VAR_KEYWORD:
        return DictSpec(dict, None, spec)
    return spec


def _is_method(function: Callable[..., Any], signature: inspect.Signature) -> bool:
    """Defined in a class body (by its qualified name) with a first positional parameter for the instance."""
    parts = getattr(function, "__qualname__", "").split(".")
    first = next(iter(signature.parameters.values()), None)
    return (
        len(parts) >= 2
        and parts[-2] != "<locals>"
        and first is not None
        and first.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    )


def _finish(wrapper: Callable[..., Any], function: Callable[..., Any], defaults_from: Any) -> Any:
    functools.update_wrapper(wrapper, function)
    if defaults_from is not None:
        wrapper.__defaults__ = defaults_from.__defaults__
        wrapper.__kwdefaults__ = defaults_from.__kwdefaults__
    setattr(wrapper, CHECKED_MARKER, function)
    return wrapper


def _resolve_each(function: Callable[..., Any]) -> dict[str, Any]:
    """The hints that resolve; each one that still names something undefined is left unchecked, with a warning.

    (Annotations naming a class local to a function cannot be resolved from the module: the usual case.)
    """
    try:
        return typing.get_type_hints(function, include_extras=True)
    except NameError:
        pass
    hints: dict[str, Any] = {}
    for name, annotation in getattr(function, "__annotations__", {}).items():
        holder = types.SimpleNamespace(__annotations__={name: annotation}, __globals__=function.__globals__)
        try:
            hints.update(typing.get_type_hints(holder, include_extras=True))
        except NameError as error:
            where = "the return value" if name == "return" else f"parameter {name!r}"
            warnings.warn(
                f"{function.__qualname__}: the annotation of {where} cannot be resolved ({error}); it is not checked",
                stacklevel=3,
            )
    return hints


def _lazy(function: Callable[..., Any], decoration: _Decoration) -> Any:
    """A wrapper for hints that name things not defined yet: built on the first call, then swapped in.

    The stub and the generated wrapper share one globals dict and have no closure, so the stub can take the
    generated code object: after the first call there is no indirection left.
    """
    names: dict[str, object] = {}
    lock = threading.Lock()
    name = function.__name__ if function.__name__.isidentifier() else "wrapper"
    built: list[Callable[..., Any]] = []
    not_ready = (
        f"{function.__qualname__}() has annotations that named undefined things when it was decorated; they are "
        "resolved on the first call, which cannot run while torch.compile traces: call it once before compiling "
        "with fullgraph=True"
    )

    def first_call(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if not built and torch.compiler.is_compiling():
            # Resolving hints and generating code cannot be traced. Without fullgraph, Dynamo runs this call
            # eagerly (which builds the wrapper) and traces the next one.
            raise NeuralTypeError(not_ready)
        with lock:
            if not built:
                hints = _resolve_each(function)
                # Not instrumented: the stub takes the wrapper's code, which needs the wrapper's globals.
                wrapper = _build(function, hints, decoration, names, instrumented=False)
                if wrapper is not function:
                    stub.__code__ = wrapper.__code__
                    stub.__defaults__ = wrapper.__defaults__
                    stub.__kwdefaults__ = wrapper.__kwdefaults__
                built.append(wrapper)
        return built[0](*args, **kwargs)

    names["_ntq_first"] = first_call
    stub = install(
        f"def {name}(*args, **kwargs):\n    return _ntq_first(args, kwargs)\n",
        names,
        name,
        getattr(function, "__qualname__", name),
    )
    return _finish(stub, function, None)
