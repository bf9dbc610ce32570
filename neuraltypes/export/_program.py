"""``torch.export`` with the dynamic shapes the types give, refined by what the module needs, then checked.

torch.export reports a module that needs less than the types allow as a constraint violation with suggested
fixes: a size the module fixes (``D = 64``: the weights), a range it needs (``T_audio = Dim(min=80)``), or a
relation between sizes (``T = U + 1``). A fixed size (not a batch or time size) and a minimum narrow what the
types left open, and are taken (and recorded: ``ShapePlan.fixed_by_module``, ``SizePlan.notes``) unless the
caller's ``ranges`` rule them out. A maximum nobody asked for marks the example's path, and is an error (see
``_narrow``). A relation contradicts types that declare two independent sizes, and is an error that names both;
for NeMo's types, whose labels are kinds only, it is taken.

The run-time checks stay on: they run once, on the traced (fake) tensors, and the program contains none of
them (see ``docs/export.md``).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import torch

from neuraltypes.runtime import NeuralTypeError

from ._check import check_program
from ._errors import DynamicShapesError, ExportError
from ._inputs import call_arguments, example_kwargs, input_ports, output_ports, parameter_names, uses_nemo_types
from ._plan import ShapePlan, SizePlan, linear_form, plan_shapes

__all__ = ["Exported", "dynamic_shapes", "eval_mode", "export_program", "export_with_plan"]

_ATTEMPTS = 4  # each attempt takes all of torch's suggestions at once; a second round is rare, a third rarer
_RANGE_FIX = re.compile(r"^(\w+) = Dim\('\w+'(?:, min=(\d+))?(?:, max=(\d+))?\)$")
_CONSTANT_FIX = re.compile(r"^(\w+) = (\d+)$")
_RELATION_FIX = re.compile(r"^(\w+) = (.+)$")

Ranges = Mapping[str, tuple[int | None, int | None]]


@dataclass
class Exported:
    """An exported program, the plan it was exported with (as refined), and the example it was traced with (the
    arguments passed, by name, in the program's order)."""

    program: torch.export.ExportedProgram
    plan: ShapePlan
    kwargs: dict[str, Any]


def dynamic_shapes(
    module: torch.nn.Module,
    input_example: Any = None,
    *,
    static: Iterable[str] = (),
    ranges: Ranges | None = None,
) -> dict[str, Any]:
    """The ``dynamic_shapes`` argument of ``torch.export.export`` for ``module`` called with the example.

    One ``torch.export.Dim`` per size variable of the input types, shared by every axis that names it; fixed
    sizes static; ``T-1``, ``2*T`` derived dims; other expressions a ``Dim`` of their own (see
    ``docs/export.md``). Keys are ``forward``'s parameter names, in order, for the inputs of the example (pass
    it positionally or by keyword). This is what the types say; what the module adds (a size its weights fix, a
    minimum) shows when torch.export runs: :func:`export_program` takes it into account.

    Args:
        module: a ``NeuralModule``, or any module whose ``forward`` is annotated with neural types.
        input_example: the inputs to trace with (a tuple in ``forward``'s order, a mapping by name, or one
            tensor); None: ``module.input_example(2, 256)``, or, for a module without one, all typed inputs.
        static: size variables to export static (at the example's size).
        ranges: ``{"T": (16, 4096)}``: the minimum and maximum of size variables (None for no bound).

    Raises:
        DynamicShapesError: what the types cannot express, naming the port and axis.
    """
    builds_its_own = callable(getattr(module, "input_example", None))
    kwargs = None if input_example is None and not builds_its_own else example_kwargs(module, input_example)
    plan = _plan(module, kwargs, static, ranges)
    names = list(kwargs) if kwargs is not None else list(plan.inputs)
    return plan.torch_dynamic_shapes(dict.fromkeys(names))


def _plan(
    module: torch.nn.Module, kwargs: Mapping[str, Any] | None, static: Iterable[str], ranges: Ranges | None
) -> ShapePlan:
    return plan_shapes(
        input_ports(module), kwargs, bind_names=not uses_nemo_types(module), static=static, ranges=ranges
    )


@contextlib.contextmanager
def eval_mode(module: torch.nn.Module) -> Iterator[None]:
    """Export what inference runs (dropout off, batch-norm statistics used); each submodule's mode restored."""
    modes = [(child, child.training) for child in module.modules()]
    module.eval()
    try:
        yield
    finally:
        for child, training in modes:
            child.training = training


def export_with_plan(
    module: torch.nn.Module,
    input_example: Any = None,
    *,
    static: Iterable[str] = (),
    ranges: Ranges | None = None,
    strict: bool = False,
) -> Exported:
    """Export in eval mode with the derived shapes, refine them by torch's suggestions, check the result."""
    kwargs = example_kwargs(module, input_example)
    plan = _plan(module, kwargs, static, ranges)
    owner = type(module).__qualname__
    with eval_mode(module):
        if uses_nemo_types(module):
            # NeMo's check reads the input_types/output_types properties on its first call, which cannot happen
            # while torch traces: one eager call first, on the example.
            args, keywords = call_arguments(module, kwargs)
            with torch.no_grad():
                module(*args, **keywords)
        program = _export(module, kwargs, plan, strict, owner)
    passed = _passed(module, *call_arguments(module, kwargs))
    check_program(program, plan, passed, output_ports(module), owner)
    return Exported(program, plan, passed)


def export_program(
    module: torch.nn.Module,
    input_example: Any = None,
    *,
    static: Iterable[str] = (),
    ranges: Ranges | None = None,
    strict: bool = False,
) -> torch.export.ExportedProgram:
    """``torch.export.export`` of ``module`` (in eval mode) with dynamic shapes from its types, checked.

    Args: as :func:`dynamic_shapes`; ``strict`` is torch.export's (default: non-strict tracing).

    Raises:
        DynamicShapesError: the types cannot be expressed, or the module needs what ``static``/``ranges`` or
            the types rule out (it relates sizes declared independent).
        ExportedSignatureError: the program's inputs or outputs differ from the declared ports.
    """
    return export_with_plan(module, input_example, static=static, ranges=ranges, strict=strict).program


def _export(
    module: torch.nn.Module, kwargs: dict[str, Any], plan: ShapePlan, strict: bool, owner: str
) -> torch.export.ExportedProgram:
    from torch._dynamo.exc import UserError  # what torch.export raises for constraint violations

    deferred = False
    for _ in range(_ATTEMPTS):
        try:
            args, keywords = call_arguments(module, kwargs)
            return torch.export.export(
                module,
                args,
                keywords,
                dynamic_shapes=plan.torch_dynamic_shapes(_passed(module, args, keywords)),
                strict=strict,
                prefer_deferred_runtime_asserts_over_guards=deferred,
            )
        except UserError as error:
            message = str(error)
            if "Suggested fixes:" in message:
                _apply_fixes(plan, message, owner)
            elif "Constraints violated" in message and not deferred:
                # A guard torch can neither prove nor express as a range or a derived dim (it says so by
                # suggesting nothing), such as min(T+1, 4*T+4) == T+1: kept as a run-time assert in the program.
                deferred = True
                plan.notes += _violations(message)
            else:
                raise
        except (NeuralTypeError, ExportError):
            raise  # the run-time check, run on the traced tensors, names the port itself
        except Exception as error:
            raise _trace_failed(error, plan, owner) from error
    raise DynamicShapesError(f"{owner}: torch.export kept suggesting new constraints after {_ATTEMPTS} attempts")


def _passed(module: torch.nn.Module, args: tuple[Any, ...], keywords: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters a call passes, by name, in the order the program takes them."""
    return dict(keywords) if keywords else dict(zip(parameter_names(module), args, strict=False))


def _violations(message: str) -> list[str]:
    return [
        "a run-time assert in the program (torch cannot express it): " + line.strip()[2:]
        for line in message.splitlines()
        if line.strip().startswith("- ")
    ]


_DATA_DEPENDENT = ("DynamicOutputShape", "DataDependent", "data-dependent", "GuardOnDataDependent")


def _trace_failed(error: Exception, plan: ShapePlan, owner: str) -> ExportError:
    sizes = ", ".join(f"{name}={size}" for name, size in plan.example_sizes.items())
    text = str(error).strip()
    first = text.splitlines()[0] if text else ""
    described = f"{type(error).__name__}: {first}"
    if any(word in described for word in _DATA_DEPENDENT):
        hint = (
            "The module computes a shape from the values of a tensor (a data-dependent operation): torch.export "
            "cannot trace it with dynamic shapes"
        )
    else:
        hint = (
            "A size the types leave open but the weights fix must have its size in the example: "
            "input_example(sizes={...})"
        )
    return ExportError(
        f"{owner}: torch.export could not trace the module with the example ({sizes}): {described}\n{hint}"
    )


def _fixes(message: str) -> list[str]:
    lines = message.split("Suggested fixes:", 1)[1].strip().splitlines()
    fixes = []
    for line in lines:
        if not line.strip():
            break
        fixes.append(line.strip())
    return fixes


def _apply_fixes(plan: ShapePlan, message: str, owner: str) -> None:
    by_dim = {size.dim_name: size for size in plan.sizes.values()}
    for fix in _fixes(message):
        match = _RANGE_FIX.match(fix) or _CONSTANT_FIX.match(fix) or _RELATION_FIX.match(fix)
        size = by_dim.get(match.group(1)) if match else None
        if match is not None and size is None and match.group(1).startswith("_"):
            continue  # a new root torch introduces for a relation that follows (T = 4*_T): judged there
        if match is None or size is None:
            raise DynamicShapesError(f"{owner}: torch.export needs {fix!r}, which is no size of the types:\n{message}")
        if match.re is _RANGE_FIX:
            low, high = (None if group is None else int(group) for group in match.groups()[1:])
            _narrow(plan, size, low, high, owner)
        elif match.re is _CONSTANT_FIX:
            value = int(match.group(2))
            if size.from_caller or size.varies:
                why = "ranges= lets it vary" if size.from_caller else "a batch or time size is meant to vary"
                raise DynamicShapesError(
                    f"{owner}: the module fixes size {size.name} to {value} (traced with {size.name}="
                    f"{plan.example_sizes.get(size.name)}), but {why}; if it is meant to be fixed, say so: "
                    f"static={{{size.name!r}}}"
                )
            plan.fix(size.name, value)
        else:
            _relate(plan, size.name, match.group(2), by_dim, owner)


def _narrow(plan: ShapePlan, size: SizePlan, low: int | None, high: int | None, owner: str) -> None:
    """Take a minimum the module needs; refuse a maximum nobody asked for (it is the example's path, see below)."""
    if size.from_caller:
        wanted = f"{_bound(size.min, 0)}..{_bound(size.max, 'inf')}"
        lowest, highest = low if low is not None else size.min, high if high is not None else size.max
        needed = f"{_bound(lowest, 0)}..{_bound(highest, 'inf')}"
        raise DynamicShapesError(f"{owner}: ranges= gives size {size.name} {wanted}, but the module needs {needed}")
    if high is not None:
        # A maximum nobody asked for is almost always the example's branch: with T_audio=3 a computed size is 1,
        # torch specializes the graph to broadcasting it, and the program would be wrong above 79, silently in
        # ONNX (which keeps no ranges). Only the caller can tell that from a real limit (a position table).
        example = plan.example_sizes.get(size.name)
        raise DynamicShapesError(
            f"{owner}: traced with {size.name}={example}, the module took a path valid only up to "
            f"{size.name}={high}: trace with a larger example (input_example(sizes={{{size.name!r}: ...}})), or, if "
            f"the module cannot take more, say so: ranges={{{size.name!r}: (None, {high})}}"
        )
    if low is not None:
        size.min = low
        size.notes.append(f"min {low}")


def _bound(value: int | None, default: object) -> object:
    return default if value is None else value


def _relate(plan: ShapePlan, name: str, expression: str, by_dim: Mapping[str, Any], owner: str) -> None:
    from neuraltypes.core import parse_axes, size_of_expr

    spelled = expression.replace(" ", "")
    fresh = re.search(r"\b_\w+", expression)
    if plan.bind_names and fresh is not None:
        raise DynamicShapesError(
            f"{owner}: traced with {name}={plan.example_sizes.get(name)}, the module needs {name} = {expression} "
            f"(torch.export's words, for any size {fresh.group()}), which the types do not "
            f"say: if the example's size took a special path, trace with another (input_example(sizes={{{name!r}: "
            f"...}})), else write it into the types"
        )
    if plan.bind_names:
        raise DynamicShapesError(
            f"{owner}: the module needs {name} = {expression}, but the types declare {name} a size of its own: "
            f"write the relation into the types ({name}'s axes as '{spelled}')"
        )
    (axis,) = parse_axes(spelled)
    form = linear_form(size_of_expr(axis.expr)) if axis.expr is not None else (axis.name, 1, 0)
    root = by_dim.get(form[0]) if form is not None and form[0] is not None else None
    if form is None or root is None:
        raise DynamicShapesError(f"{owner}: torch.export needs {name} = {expression}, which export cannot express")
    plan.relate(name, root.name, form[1], form[2])
