"""Code generation: one wrapper per decorated function, with the function's own signature.

Python binds positional and keyword arguments itself (no ``Signature.bind``), symbolic sizes are local
variables of the wrapper (so nesting, recursion and threads cannot see each other's bindings, and a failed
check leaves nothing behind), dtype families are tuples of ``torch.dtype`` (most common first), size
arithmetic is compiled in, and the hot path never builds a message: on a violation it hands the arguments to
the explainer.
"""

from __future__ import annotations

import inspect
import itertools
import linecache
import re
from collections import Counter
from collections.abc import Callable
from typing import Any

import torch

from ._emitter import Emitter, validate_names
from ._errors import NeuralTypeError
from ._explain import explain_call
from ._plan import Plan
from ._specs import OptionalSpec, TensorSpec, UnionSpec
from ._switches import SWITCHES

__all__ = ["generate_source", "install"]

_RESERVED = ("_ntq_", "_ntv_")
_SERIAL = itertools.count()


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


def generate_source(plan: Plan, names: dict[str, object], function_name: str) -> str:
    """The source of the wrapper; fills ``names`` with the objects it refers to."""
    validate_names(plan)
    header, call, parameter_names = _header_and_call(plan.signature)
    arguments = "{" + ", ".join(f"{name!r}: {name}" for name in parameter_names) + "}"
    emitter = Emitter(plan, names)
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
    argument_lines, return_lines = _drop_unread_sizes(emitter.plain_bindings, argument_lines, return_lines)

    # One read of the thread's switches per call: the semantic blocks test the same local (``_ntq_on > 1``).
    lines = [f"def {function_name}({header}):"]
    if emitter.uses_semantic:
        lines.append("    _ntq_on = _ntq_sw.level")
        off = "not _ntq_on"
    else:
        off = "not _ntq_sw.level"
    off += " or _ntq_compiling()" if plan.skip_when_compiling else ""
    lines += [f"    if {off}:", f"        return _ntq_fn({call})"]
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
