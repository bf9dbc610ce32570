"""Code generation: the checking lines of a decorated function, the wrapper that runs them, and every other
piece of Python source the checks are placed in (the templates of an instrumented function included).

``check_lines`` writes the checks as ``Line`` records at function-body level (through the ``Emitter``) and
leaves out the size bindings nothing reads. ``_instrument`` puts them into the function's own code;
``generate_source`` puts them into a wrapper with the function's own signature (where instrumenting cannot be
done safely), so that Python binds positional and keyword arguments itself (no ``Signature.bind``). Either way
symbolic sizes are local variables of the frame that checks (so nesting, recursion and threads cannot see each
other's bindings, and a failed check leaves nothing behind), dtype families are tuples of ``torch.dtype`` (most
common first), size arithmetic is compiled in, and the hot path never builds a message: on a violation it hands
the call's values to the explainer.
"""

from __future__ import annotations

import inspect
import itertools
import linecache
import typing
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple, TypeVar

import torch

from neuraltypes.core import NeuralTypeAnnotationError

from ._emitter import Emitter, validate_names
from ._errors import NeuralTypeError
from ._explain import explain_call
from ._lines import Code, Line, Namespace, code
from ._plan import CallerValue, Plan
from ._provenance import CONTAINERS
from ._specs import DictSpec, ListSpec, OptionalSpec, PlainSpec, Spec, TensorSpec, UnionSpec
from ._switches import current_level
from ._tagging import emit_tags

__all__ = [
    "FACTORY",
    "RESERVED",
    "CheckLines",
    "check_lines",
    "class_source",
    "factory_source",
    "generate_source",
    "imports_source",
    "install",
    "prologue_lines",
    "return_check_lines",
    "returned_value_lines",
]

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
            found[local] = "nested" if _may_hold_tensors(_item_of(spec)) else "items"
        else:
            found[local] = "nested" if _may_hold_tensors(spec) else "is"
    return found


def _item_of(spec: Spec | None) -> Spec | None:
    """The spec of each item of ``*args`` or ``**kwargs``."""
    match spec:
        case ListSpec(inner=item) | DictSpec(value=item):
            return item
        case _:
            return None


def _may_hold_tensors(spec: Spec | None) -> bool:
    """Whether a value of this spec may be a list, tuple or dict with tensors in it."""
    match spec:
        case None:  # unannotated, Any, object
            return True
        case OptionalSpec(inner=inner):
            return _may_hold_tensors(inner)
        case TensorSpec():
            return False
        case UnionSpec(rest=hint) | PlainSpec(hint=hint):
            return _hint_may_hold_tensors(hint)
        case _:
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


def _drop_unread_sizes(*sections: list[Line]) -> tuple[list[Line], ...]:
    """Leave out the unconditional bindings (``_ntv_b = _ntq_s1[0]``) of sizes that nothing reads.

    A size bound once and never compared again (the other tensors of the same layout are compared as whole
    shapes) checks nothing; reading it from ``torch.Size`` costs a subscript per call. The bindings are the
    emitter's unconditional ones, which subscript a shape whose rank was checked first: none can fail.
    """
    read = {variable for section in sections for line in section for variable in line.reads}
    return tuple([line for line in section if line.binds is None or line.binds in read] for section in sections)


class _Runtime(NamedTuple):
    """The objects every checking function calls, as its lines spell them."""

    level: Code  # the thread's check level, read once per call
    compiling: Code  # whether torch.compile is tracing
    error: Code  # the fixed error raised while tracing
    fail: Code  # the explainer, on a failed check


class CheckLines(NamedTuple):
    """The checking lines of one function, at function-body indentation, for a wrapper or for the function itself.

    The argument lines read the parameters; the return lines read ``_ntq_r`` and, for the error path and the
    tagging rule, the parameters' values as they were passed in (``originals`` renames them).
    """

    switch: list[Line]  # reads the check level into ``_ntq_on``
    init: list[Line]  # ``_ntv_b = None`` for sizes bound on some paths only
    arguments: list[Line]
    returns: list[Line] | None  # None: no return annotation

    def checks(self) -> list[Line]:
        """The argument and return checks."""
        return self.arguments + (self.returns or [])


def check_lines(plan: Plan, namespace: Namespace, originals: Mapping[str, str] | None = None) -> CheckLines:
    """The checking lines of ``plan``; fills ``namespace`` with the objects they refer to.

    ``originals`` maps a parameter to the local that keeps the value it was passed (for a function whose body
    rebinds the parameter before it returns).

    Raises:
        NeuralTypeAnnotationError: a declaration that cannot be checked (see ``validate_names``, ``Emitter``).
        NeuralTypeAnnotationError: a parameter whose name starts with a reserved prefix.
    """
    validate_names(plan)
    parameter_names = list(plan.signature.parameters)
    for name in parameter_names:
        if name.startswith(RESERVED):
            raise NeuralTypeAnnotationError(
                f"@typecheck cannot wrap a function with a parameter named {name!r} (reserved prefix)"
            )
    original = dict(originals or {})
    runtime = _Runtime(
        level=namespace.cell("_ntq_level", current_level),
        compiling=namespace.constant("_ntq_compiling", torch.compiler.is_compiling),
        error=namespace.constant("_ntq_NTE", NeuralTypeError),
        fail=namespace.constant("_ntq_fail", _failure(plan, parameter_names)),
    )
    emitter = Emitter(plan, namespace)
    arguments = ", ".join(parameter_names)
    with emitter.section() as argument_lines:
        for name, spec in plan.parameters:
            where = f"parameter {name!r}"
            emitter.check(spec, name, where, _fail_statement(emitter, runtime, where, arguments))
    return_lines: list[Line] | None = None
    if plan.returns is not None:
        returned = ", ".join([original.get(name, name) for name in parameter_names] + ["_ntq_r"])
        with emitter.section() as return_lines:
            emitter.check(
                plan.returns, "_ntq_r", "return value", _fail_statement(emitter, runtime, "return value", returned)
            )
        with emitter.section() as tag_lines:
            emit_tags(emitter, plan.returns, "_ntq_r", _caller_values(plan, original), replace=plan.replace_tags)
        argument_lines, return_lines = _drop_unread_sizes(argument_lines, return_lines + tag_lines)
    else:
        (argument_lines,) = _drop_unread_sizes(argument_lines)
    init = [Line(f"    {variable} = None") for variable in emitter.maybe_bound()]
    return CheckLines(_switch_lines(plan, runtime), init, argument_lines, return_lines)


def _fail_statement(emitter: Emitter, runtime: _Runtime, where: str, values: str) -> Code:
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
    return code(
        "raise {error}({message}) if {compiling}() else {fail}({where!r}, {values})",
        error=runtime.error,
        message=message,
        compiling=runtime.compiling,
        fail=runtime.fail,
        where=where,
        values=values,
    )


def _line(template: str, /, **fields: object) -> Line:
    written = code(template, **fields)
    return Line(written.text, written.reads, written.constants)


def _switch_lines(plan: Plan, runtime: _Runtime) -> list[Line]:
    """Read the thread's check level once per call into ``_ntq_on`` (False off, 1 without semantic checks, True all)."""
    lines = [_line("    _ntq_on = {level}()", level=runtime.level)]
    if plan.skip_when_compiling:
        lines += [
            _line("    if _ntq_on and {compiling}():", compiling=runtime.compiling),
            Line("        _ntq_on = False"),
        ]
    return lines


def _texts(lines: list[Line]) -> list[str]:
    return [line.text for line in lines]


def _indented(lines: list[str]) -> list[str]:
    return ["    " + line for line in lines]


# -- the wrapper --------------------------------------------------------------------------------------------
def generate_source(plan: Plan, names: dict[str, object], function_name: str) -> str:
    """The source of a wrapper that checks and calls ``plan.function``; fills ``names`` with what it refers to."""
    header, call = _header_and_call(plan.signature)
    checks = check_lines(plan, Namespace(names))
    names["_ntq_fn"] = plan.function
    lines = [f"def {function_name}({header}):", *_texts(checks.switch)]
    lines += ["    if not _ntq_on:", f"        return _ntq_fn({call})"]
    lines += _texts(checks.init + checks.arguments)
    if checks.returns is None:
        lines.append(f"    return _ntq_fn({call})")
    else:
        lines.append(f"    _ntq_r = _ntq_fn({call})")
        lines += _texts(checks.returns)
        lines.append("    return _ntq_r")
    return "\n".join(lines) + "\n"


# -- instrumented code: the checks placed in the function's own body ---------------------------------------
def prologue_lines(checks: CheckLines, originals: Mapping[str, str]) -> list[str]:
    """The lines at the top of an instrumented function: read the switch; when on, keep the values of the
    parameters the body rebinds (``originals``) and check the arguments."""
    guarded = [f"    {local} = {name}" for name, local in originals.items()] + _texts(checks.init + checks.arguments)
    prologue = _texts(checks.switch)
    if guarded:
        prologue += ["    if _ntq_on:", *_indented(guarded)]
    return prologue


def returned_value_lines() -> list[str]:
    """What a checked ``return value`` starts with (the value is put in place of None in the syntax tree)."""
    return ["    _ntq_r = None"]


def return_check_lines(returns: list[Line]) -> list[str]:
    """What follows ``_ntq_r = value`` at each ``return`` of an instrumented function."""
    return ["    if _ntq_on:", *_indented(_texts(returns)), "    return _ntq_r"]


FACTORY = "_ntq_factory"


def factory_source(free: list[str]) -> str:
    """The function an instrumented function is compiled in, whose parameters become its closure cells."""
    return f"def {FACTORY}({', '.join(free)}):\n    pass\n"


def class_source(owner: str) -> str:
    """The class a method is compiled in (private names are mangled by the class they are written in)."""
    return f"class {owner}:\n    pass\n"


def imports_source(imported: tuple[str, ...]) -> str:
    return "".join(f"import {name}\n" for name in imported)


def install(source: str, names: dict[str, object], function_name: str, qualname: str) -> Callable[..., Any]:
    """Compile ``source`` into ``names`` (the wrapper's globals) and return the function it defines.

    The source is registered with ``linecache`` so tracebacks through the wrapper show its lines.
    """
    filename = f"<neuraltypes wrapper {next(_SERIAL)} of {qualname}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), names)
    function: Callable[..., Any] = names[function_name]  # type: ignore[assignment]
    return function
