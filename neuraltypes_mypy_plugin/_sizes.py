"""Sizes inside function bodies: ints that carry an axis size, and the size an int expression stands for.

``B, T, C = x.size()`` gives ``B`` the type ``int`` with the size ``B`` riding along (an extra attribute, as the
axes do on tensors); arithmetic on such ints builds size expressions with the core's ``Size`` arithmetic; an int
that carries no size (``self.n_head``, an argument) is an opaque symbol named after the expression.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import lru_cache

from mypy.nodes import (
    Expression,
    IntExpr,
    MemberExpr,
    NameExpr,
    OpExpr,
    UnaryExpr,
)
from mypy.plugin import MethodContext
from mypy.types import (
    AnyType,
    ExtraAttrs,
    Instance,
    LiteralType,
    Type,
    get_proper_type,
)

from neuraltypes.core import Size, parse_axes, size_of_expr

_SIZE_ATTR = "__neural_size__"


SYMBOL = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


INT_FULLNAME = "builtins.int"


def size_int(int_type: Instance, str_type: Instance, size: Size) -> Instance:
    """``int`` carrying a size."""
    attrs: dict[str, Type] = {_SIZE_ATTR: LiteralType(str(size), str_type)}
    return Instance(int_type.type, [], extra_attrs=ExtraAttrs(attrs, set(attrs)))


def carried_size(typ: Type) -> Size | None:
    """The size an int type carries, or its value when it is a literal int."""
    proper = get_proper_type(typ)
    if isinstance(proper, LiteralType) and isinstance(proper.value, int) and not isinstance(proper.value, bool):
        return Size.constant(proper.value)
    if not isinstance(proper, Instance) or proper.type.fullname != INT_FULLNAME:
        return None
    if proper.extra_attrs is not None:
        value = get_proper_type(proper.extra_attrs.attrs.get(_SIZE_ATTR))
        if isinstance(value, LiteralType) and isinstance(value.value, str):
            return size_of_text(value.value)
    known = proper.last_known_value
    if known is not None and isinstance(known.value, int) and not isinstance(known.value, bool):
        return Size.constant(known.value)
    return None


@lru_cache(maxsize=4096)
def int_literal(expression: object) -> int | None:
    """An integer written in the source (``2``, ``-1``); None for anything else."""
    if isinstance(expression, IntExpr):
        return expression.value
    if isinstance(expression, UnaryExpr) and expression.op == "-" and isinstance(expression.expr, IntExpr):
        return -expression.expr.value
    return None


def size_of_text(text: str) -> Size | None:
    try:
        axis = parse_axes(f"_:{text}")[0]
    except ValueError:
        return None
    if axis.expr is not None:
        return size_of_expr(axis.expr)
    return None if axis.size is None else Size.constant(axis.size)


_SIZE_OPERATORS = ("*", "//", "+", "-")


def size_of(
    expression: Expression,
    typ: Type,
    type_of: Callable[[Expression], Type] | None = None,
    aliases: Mapping[str, Size] | None = None,
) -> Size | None:
    """The size an int argument stands for: carried, literal, or an opaque symbol named after the expression.

    ``type_of`` gives the types of an operation's operands, for arithmetic mypy typed ``Any`` (``C // n`` where
    ``n`` is an attribute an unchecked ``__init__`` left ``Any``)."""
    if isinstance(expression, IntExpr):
        return Size.constant(expression.value)
    if isinstance(expression, UnaryExpr) and expression.op == "-" and isinstance(expression.expr, IntExpr):
        return Size.constant(-expression.expr.value)
    carried = carried_size(typ)
    if carried is not None:
        return carried
    proper = get_proper_type(typ)
    if isinstance(expression, OpExpr) and expression.op in _SIZE_OPERATORS and type_of is not None:
        left = size_of(expression.left, type_of(expression.left), type_of, aliases)
        right = size_of(expression.right, type_of(expression.right), type_of, aliases)
        if left is None or right is None:
            return None
        try:
            return combine(expression.op, left, right)
        except ZeroDivisionError:
            return None
    if isinstance(proper, AnyType) or (isinstance(proper, Instance) and proper.type.fullname == INT_FULLNAME):
        # an int, or an attribute an unchecked __init__ left Any (`self.n_head = config.n_head`), where a size is due
        return opaque_symbol(expression, aliases)
    return None


def opaque_symbol(expression: Expression, aliases: Mapping[str, Size] | None = None) -> Size | None:
    """``self.n_head``, ``config.n_head`` and ``n_head`` are the symbol ``n_head``: one name, one size; or the size
    the function learned it stands for (``aliases``: ``n_embd`` is ``C`` where ``Linear(n_embd, ...)`` took
    ``"B T C"``)."""
    if isinstance(expression, (NameExpr, MemberExpr)):
        name = expression.name.lstrip("_")
        if aliases is not None and name in aliases:
            return aliases[name]
        if SYMBOL.fullmatch(name):
            return Size.symbol(name)
    return None


INT_OPERATORS = {
    "builtins.int.__mul__": "*",
    "builtins.int.__rmul__": "*",
    "builtins.int.__floordiv__": "//",
    "builtins.int.__add__": "+",
    "builtins.int.__radd__": "+",
    "builtins.int.__sub__": "-",
}


def int_arithmetic(operator: str, ctx: MethodContext) -> Type:
    """``C // self.n_head``, ``2 * C``, ``T - 1``: an int carrying the size expression, when one side is a size
    (carried, or an attribute such as ``self.n_head``); any other int arithmetic is left as mypy typed it."""
    expression = ctx.context
    if not isinstance(expression, OpExpr) or not ctx.args or not ctx.args[0] or not ctx.arg_types[0]:
        return ctx.default_return_type
    left_expr, right_expr = expression.left, ctx.args[0][0]
    left_type, right_type = ctx.type, ctx.arg_types[0][0]
    if not (_names_a_size(left_expr, left_type) or _names_a_size(right_expr, right_type)):
        return ctx.default_return_type
    left, right = size_of(left_expr, left_type), size_of(right_expr, right_type)
    default = get_proper_type(ctx.default_return_type)
    if left is None or right is None or not isinstance(default, Instance) or default.type.fullname != INT_FULLNAME:
        return ctx.default_return_type
    try:
        result = combine(operator, left, right)
    except ZeroDivisionError:
        return ctx.default_return_type
    return size_int(default, ctx.api.named_generic_type("builtins.str", []), result)


def combine(operator: str, left: Size, right: Size) -> Size:
    if operator == "*":
        return left * right
    if operator == "//":
        return left.divide(right)
    return left.add(right, 1 if operator == "+" else -1)


def _names_a_size(expression: Expression, typ: Type) -> bool:
    proper = get_proper_type(typ)
    if isinstance(proper, Instance) and proper.extra_attrs is not None and _SIZE_ATTR in proper.extra_attrs.attrs:
        return True
    return isinstance(expression, MemberExpr) and isinstance(proper, Instance) and proper.type.fullname == INT_FULLNAME
