"""Code generation: the checking lines of a decorated function, and the wrapper that runs them.

``check_lines`` writes the checks as Python source lines at function-body level. ``_instrument`` puts them into
the function's own code; ``generate_source`` puts them into a wrapper with the function's own signature (where
instrumenting cannot be done safely), so that Python binds positional and keyword arguments itself (no
``Signature.bind``). Either way symbolic sizes are local variables of the frame that checks (so nesting,
recursion and threads cannot see each other's bindings, and a failed check leaves nothing behind), dtype
families are tuples of ``torch.dtype`` (most common first), size arithmetic is compiled in, and the hot path
never builds a message: on a violation it hands the call's values to the explainer.
"""

from __future__ import annotations

import inspect
import itertools
import linecache
import re
import typing
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple, TypeVar

import torch

from ._emitter import Emitter, validate_names
from ._errors import NeuralTypeError
from ._explain import explain_call
from ._plan import CallerValue, Plan
from ._provenance import CONTAINERS
from ._specs import DictSpec, ListSpec, OptionalSpec, PlainSpec, Spec, TensorSpec, UnionSpec
from ._switches import current_level

__all__ = ["RESERVED", "CheckLines", "check_lines", "generate_source", "install", "switch_lines"]

RESERVED = ("_ntq_", "_ntv_")
"""Prefixes of the names the checks use: no parameter, and no name in an instrumented function, may start so."""
_SERIAL = itertools.count()


def _header_and_call(signature: inspect.Signature) -> tuple[str, str]:
    header: list[str] = []
    call: list[str] = []
    positional_only = False
    star_written = False
    for parameter in signature.parameters.values():
        name = parameter.name
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
    return ", ".join(header), ", ".join(call)


def _fail_statement(emitter: Emitter, where: str, values: str) -> str:
    """Raise the explainer's error; while torch.compile traces, a fixed message (Dynamo cannot trace the explainer).

    With ``fullgraph=False`` Dynamo then runs the call eagerly and the explainer's error comes out; with
    ``fullgraph=True`` it reports ``Unsupported: Observed exception`` with this message inside. (The choice is
    made here, in the checked code: raised from inside a helper, Dynamo would report the traced error instead.)
    ``values`` are the parameters' values in order, then the returned value for the return value.
    """
    message = emitter.const(
        f"{emitter.plan.qualname}() {where} does not match its declared type (found while torch.compile traced the "
        "call; call it eagerly, or compile without fullgraph=True, to see which axis and why)",
        "m",
    )
    return f"raise _ntq_NTE({message}) if _ntq_compiling() else _ntq_fail({where!r}, {values})"


def _failure(plan: Plan, parameter_names: list[str]) -> Callable[..., Exception]:
    """The explainer's error for a failed check, from the values of the call (and the returned value)."""

    def fail(where: str, *values: Any) -> Exception:
        arguments = dict(zip(parameter_names, values, strict=False))
        returned = (plan.returns, values[-1]) if where == "return value" else None
        return explain_call(plan.qualname, plan.parameters, arguments, plan.conf, returned)

    return fail


def _caller_values(plan: Plan, original: Mapping[str, str]) -> dict[str, CallerValue]:
    """Where the caller's tensors are, by the local that holds them: every argument ("is"), the items of
    ``*args``/``**kwargs`` ("items"), and what lists, tuples and dicts hold ("nested"), searched in arguments that
    may hold tensors so: unannotated ones, and those whose hint names a tensor class, ``Any`` or ``object``. One
    annotated ``list[int]`` is not searched: a walk over a long list of token ids on every call would be wasted."""
    if plan.caller_values is not None:
        return {original.get(name, name): where for name, where in plan.caller_values.items()}
    specs = dict(plan.parameters)
    found: dict[str, CallerValue] = {}
    for name, parameter in plan.signature.parameters.items():
        spec = specs.get(name)
        local = original.get(name, name)
        if parameter.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            item = spec.inner if isinstance(spec, ListSpec) else spec.value if isinstance(spec, DictSpec) else None
            found[local] = "nested" if _may_hold_tensors(item) else "items"
        else:
            found[local] = "nested" if _may_hold_tensors(spec) else "is"
    return found


def _may_hold_tensors(spec: Spec | None) -> bool:
    """Whether a value of this spec may be a list, tuple or dict with tensors in it."""
    if spec is None:  # unannotated, Any, object
        return True
    if isinstance(spec, OptionalSpec):
        return _may_hold_tensors(spec.inner)
    if isinstance(spec, TensorSpec):
        return False
    if isinstance(spec, UnionSpec):
        return _hint_may_hold_tensors(spec.rest)
    if isinstance(spec, PlainSpec):
        return _hint_may_hold_tensors(spec.hint)
    return True  # a list, tuple, dict or NamedTuple spec


def _hint_may_hold_tensors(hint: Any) -> bool:
    if hint is Any or hint is object or isinstance(hint, (TypeVar, str, typing.ForwardRef)):
        return True
    origin = typing.get_origin(hint)
    if origin is typing.Annotated:
        return _hint_may_hold_tensors(typing.get_args(hint)[0])
    if origin is typing.Literal:
        return False
    if origin is not None:
        arguments = [argument for argument in typing.get_args(hint) if argument is not Ellipsis]
        return not arguments or any(_hint_may_hold_tensors(argument) for argument in arguments)
    if isinstance(hint, type):
        return issubclass(hint, (torch.Tensor, *CONTAINERS))
    return True  # a form not recognised: search


_SIZE_VARIABLE = re.compile(r"\b_ntv_\w+")


def _drop_unread_sizes(bindings: dict[str, str], *sections: list[str]) -> tuple[list[str], ...]:
    """Leave out the unconditional bindings (``_ntv_b = _ntq_s1[0]``) of sizes that nothing reads.

    A size bound once and never compared again (the other tensors of the same layout are compared as whole
    shapes) checks nothing; reading it from ``torch.Size`` costs a subscript per call. The bindings are the
    emitter's unconditional ones, which subscript a shape whose rank was checked first: none can fail.
    """
    reads = Counter(name for section in sections for line in section for name in _SIZE_VARIABLE.findall(line))
    unread = {line for variable, line in bindings.items() if reads[variable] == 1}
    return tuple([line for line in section if line not in unread] for section in sections)


class CheckLines(NamedTuple):
    """The checking lines of one function, at function-body indentation, for a wrapper or for the function itself.

    The argument lines read the parameters; the return lines read ``_ntq_r`` and, for the error path and the
    tagging rule, the parameters' values as they were passed in (``originals`` renames them).
    """

    init: list[str]  # ``_ntv_b = None`` for sizes bound on some paths only
    arguments: list[str]
    returns: list[str] | None  # None: no return annotation


def check_lines(plan: Plan, names: dict[str, object], originals: Mapping[str, str] | None = None) -> CheckLines:
    """The checking lines of ``plan``; fills ``names`` with the objects they refer to.

    ``originals`` maps a parameter to the local that keeps the value it was passed (for a function whose body
    rebinds the parameter before it returns).
    """
    validate_names(plan)
    parameter_names = list(plan.signature.parameters)
    for name in parameter_names:
        if name.startswith(RESERVED):
            raise TypeError(f"@typecheck cannot wrap a function with a parameter named {name!r} (reserved prefix)")
    original = dict(originals or {})
    arguments = ", ".join(parameter_names)
    returned_arguments = ", ".join([original.get(name, name) for name in parameter_names] + ["_ntq_r"])
    emitter = Emitter(plan, names)
    for name, spec in plan.parameters:
        emitter.where = f"parameter {name!r}"
        emitter.fail = _fail_statement(emitter, emitter.where, arguments)
        emitter.value(spec, name)
    emitter.finish_section()
    argument_lines = emitter.lines
    emitter.lines = []
    return_lines: list[str] | None = None
    if plan.returns is not None:
        emitter.where = "return value"
        emitter.fail = _fail_statement(emitter, emitter.where, returned_arguments)
        emitter.value(plan.returns, "_ntq_r")
        emitter.finish_section()
        emitter.tag(plan.returns, "_ntq_r", _caller_values(plan, original), replace=plan.replace_tags)
        argument_lines, return_lines = _drop_unread_sizes(emitter.plain_bindings, argument_lines, emitter.lines)
    else:
        (argument_lines,) = _drop_unread_sizes(emitter.plain_bindings, argument_lines)

    names.update(
        _ntq_level=current_level,
        _ntq_compiling=torch.compiler.is_compiling,
        _ntq_NTE=NeuralTypeError,
        _ntq_fail=_failure(plan, parameter_names),
    )
    init = [f"    _ntv_{name} = None" for name in sorted(emitter.needs_init)]
    return CheckLines(init, argument_lines, return_lines)


def switch_lines(plan: Plan) -> list[str]:
    """Read the thread's check level once per call into ``_ntq_on`` (False off, 1 without semantic checks, True all)."""
    lines = ["    _ntq_on = _ntq_level()"]
    if plan.skip_when_compiling:
        lines += ["    if _ntq_on and _ntq_compiling():", "        _ntq_on = False"]
    return lines


def generate_source(plan: Plan, names: dict[str, object], function_name: str) -> str:
    """The source of a wrapper that checks and calls ``plan.function``; fills ``names`` with what it refers to."""
    header, call = _header_and_call(plan.signature)
    checks = check_lines(plan, names)
    names["_ntq_fn"] = plan.function
    lines = [f"def {function_name}({header}):", *switch_lines(plan)]
    lines += ["    if not _ntq_on:", f"        return _ntq_fn({call})"]
    lines += checks.init + checks.arguments
    if checks.returns is None:
        lines.append(f"    return _ntq_fn({call})")
    else:
        lines.append(f"    _ntq_r = _ntq_fn({call})")
        lines += checks.returns
        lines.append("    return _ntq_r")
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
