"""Reading ``NT[Tensor, "B T C", Elem, "float"]`` annotations into the carrier ``Tensor[...]`` type."""

from __future__ import annotations

import re
from collections.abc import Sequence

from mypy.plugin import AnalyzeTypeContext
from mypy.types import (
    AnyType,
    Instance,
    RawExpressionType,
    Type,
    TypeOfAny,
    UnboundType,
    get_proper_type,
)

from neuraltypes.core import normalize_dtype, parse_axes

from ._carrier import ELEMENT_TYPE_FULLNAME, build_tensor, is_tensor_info, tensor_root_info
from ._codes import ANNOTATION
from ._messages import (
    NOT_A_TENSOR,
    NOT_AN_AXES_STRING,
    NOT_AN_EXTRA,
    TOO_FEW_ARGUMENTS,
    erased_call,
    two_dtypes,
    two_element_types,
    unreadable_annotation,
)
from ._names import NT_FULLNAME as NT_FULLNAME


class _Unreadable(Exception):
    """Why an annotation cannot be read; reported once, as the annotation's error."""


def analyze_nt(ctx: AnalyzeTypeContext) -> Type:
    """The type-analyze hook for ``NT``: the carrier type, or ``Any`` with an error naming what is wrong."""
    try:
        return _carrier(ctx)
    except _Unreadable as error:
        ctx.api.fail(unreadable_annotation(str(error)), ctx.context, code=ANNOTATION)
        return AnyType(TypeOfAny.from_error)


def _carrier(ctx: AnalyzeTypeContext) -> Type:
    args = ctx.type.args
    if len(args) < 2:
        raise _Unreadable(TOO_FEW_ARGUMENTS)
    tensor = get_proper_type(ctx.api.analyze_type(args[0]))
    if not isinstance(tensor, Instance) or not is_tensor_info(tensor.type):
        raise _Unreadable(NOT_A_TENSOR)
    spelling = _string_argument(ctx, args[1])
    if spelling is None:
        raise _Unreadable(NOT_AN_AXES_STRING)
    try:
        parse_axes(spelling)
    except ValueError as error:
        raise _Unreadable(str(error).splitlines()[0]) from None
    extras = _extras(ctx, args[2:])
    if extras is None:
        return AnyType(TypeOfAny.from_error)  # an element type mypy could not analyze: mypy reported it
    element, dtype = extras
    tensor_info = tensor_root_info(tensor.type)
    str_type = ctx.api.named_type("builtins.str", [])
    return build_tensor(tensor_info, str_type, " ".join(spelling.split()), element, dtype)


def _extras(ctx: AnalyzeTypeContext, extras: Sequence[Type]) -> tuple[Instance | None, str | None] | None:
    """The element type and the dtype among ``NT``'s extra arguments, in either order; None when mypy could
    not analyze one (it said why)."""
    element: Instance | None = None
    dtype: str | None = None
    for extra in extras:
        text = _string_argument(ctx, extra)
        if text is not None:
            if dtype is not None:
                raise _Unreadable(two_dtypes(dtype, text))
            dtype = _dtype(text)
            continue
        analyzed = _element_type(ctx, extra)
        if analyzed is None:
            return None
        if element is not None:
            raise _Unreadable(two_element_types(element.type.name, analyzed.type.name))
        element = analyzed
    return element, dtype


def _dtype(text: str) -> str | None:
    try:
        return normalize_dtype(text)
    except ValueError as error:
        raise _Unreadable(str(error)) from None


def _element_type(ctx: AnalyzeTypeContext, extra: Type) -> Instance | None:
    """The ``ElementType`` subclass an extra argument names; None when mypy could not analyze it."""
    called = _erased_call(extra)
    if called is not None:
        raise _Unreadable(erased_call(called))
    analyzed = get_proper_type(ctx.api.analyze_type(extra))
    if isinstance(analyzed, AnyType):
        return None
    if not isinstance(analyzed, Instance) or not analyzed.type.has_base(ELEMENT_TYPE_FULLNAME):
        raise _Unreadable(NOT_AN_EXTRA)
    return analyzed


def _string_argument(ctx: AnalyzeTypeContext, arg: Type) -> str | None:
    if isinstance(arg, RawExpressionType) and isinstance(arg.literal_value, str):
        return arg.literal_value
    if isinstance(arg, UnboundType) and arg.original_str_expr is not None:
        _forget_name_errors(ctx, arg)
        return arg.original_str_expr
    return None


def _forget_name_errors(ctx: AnalyzeTypeContext, arg: UnboundType) -> None:
    """Withdraw mypy's 'Name "B" is not defined' for a string that is one name (``"B"``, ``"int64"``).

    mypy parses such a string as a forward reference and, looking for type variables before this hook runs,
    reports the name as undefined. It is an axes or dtype string here, so the report is withdrawn.
    Uses mypy internals (the error list); without them the report stays, which is harmless.
    """
    errors = getattr(getattr(ctx.api, "api", None), "errors", None)
    infos = getattr(errors, "error_info_map", {}).get(getattr(errors, "file", None))
    if not infos:
        return
    prefix = f'Name "{arg.name}" is not defined'
    infos[:] = [
        info
        for info in infos
        if not (
            info.line == arg.line
            and info.column == arg.column
            and info.code is not None
            and info.code.code == "name-defined"
            and info.message.startswith(prefix)
        )
    ]


def _erased_call(arg: Type) -> str | None:
    """The callee's name when an argument was a call (``AudioSignal(16000)``): mypy keeps only a note."""
    if not isinstance(arg, RawExpressionType) or arg.literal_value is not None or arg.note is None:
        return None
    match = re.fullmatch(r"Suggestion: use (\S+)\[\.\.\.\] instead of \S+\(\.\.\.\)", arg.note)
    return None if match is None else match.group(1)
