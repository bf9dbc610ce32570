"""Reading ``NT[Tensor, "B T C", Elem, "float"]`` annotations into the carrier ``Tensor[...]`` type."""

from __future__ import annotations

import re

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
from ._messages import NEURAL_TYPE
from ._names import NT_FULLNAME as NT_FULLNAME

_USAGE = 'write NT[Tensor, "B T C", ElementType, "dtype"] (element type and dtype optional)'


def analyze_nt(ctx: AnalyzeTypeContext) -> Type:
    """The type-analyze hook for ``NT``: the carrier type, or ``Any`` with an error naming what is wrong."""
    args = ctx.type.args
    if len(args) < 2:
        return _cannot_read(ctx, f"NT needs at least a tensor type and an axes string: {_USAGE}")
    tensor = get_proper_type(ctx.api.analyze_type(args[0]))
    if not isinstance(tensor, Instance) or not is_tensor_info(tensor.type):
        return _cannot_read(ctx, f"NT's first argument must be torch.Tensor: {_USAGE}")
    spelling = _string_argument(ctx, args[1])
    if spelling is None:
        return _cannot_read(ctx, f"NT's second argument must be an axes string: {_USAGE}")
    try:
        parse_axes(spelling)
    except ValueError as error:
        return _cannot_read(ctx, str(error).splitlines()[0])
    element: Instance | None = None
    dtype: str | None = None
    for extra in args[2:]:
        text = _string_argument(ctx, extra)
        if text is not None:
            if dtype is not None:
                return _cannot_read(ctx, f'NT got two dtypes: "{dtype}" and "{text}"')
            try:
                dtype = normalize_dtype(text)
            except ValueError as error:
                return _cannot_read(ctx, str(error))
            continue
        called = _erased_call(extra)
        if called is not None:
            return _cannot_read(
                ctx,
                f"{called}(...) is a call, which mypy erases: write the class, {called}; "
                "its parameters are checked at run time",
            )
        analyzed = get_proper_type(ctx.api.analyze_type(extra))
        if isinstance(analyzed, AnyType):
            return AnyType(TypeOfAny.from_error)
        if not isinstance(analyzed, Instance) or not analyzed.type.has_base(ELEMENT_TYPE_FULLNAME):
            return _cannot_read(ctx, f"NT's extra arguments are an ElementType subclass and a dtype string: {_USAGE}")
        if element is not None:
            return _cannot_read(ctx, f"NT got two element types: {element.type.name} and {analyzed.type.name}")
        element = analyzed
    tensor_info = tensor_root_info(tensor.type)
    str_type = ctx.api.named_type("builtins.str", [])
    return build_tensor(tensor_info, str_type, " ".join(spelling.split()), element, dtype)


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


def _cannot_read(ctx: AnalyzeTypeContext, why: str) -> Type:
    ctx.api.fail(f"Cannot read neural type annotation: {why}", ctx.context, code=NEURAL_TYPE)
    return AnyType(TypeOfAny.from_error)
