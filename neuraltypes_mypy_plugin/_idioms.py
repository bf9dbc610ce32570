"""Idioms whose typing mypy gives up on: ``map(lambda t: rearrange(t, ...), (q, k, v))``.

mypy types the lambda once, with its parameter the join of the tuple's items, and a join keeps no axes. When
every item has the same neural type and the lambda is one call of an operation with a rule, the operation is
applied to that type here, as if it were called on each item.
"""

from __future__ import annotations

from collections.abc import Callable

from mypy.nodes import ARG_POS, CallExpr, LambdaExpr, NameExpr, RefExpr, ReturnStmt
from mypy.plugin import FunctionContext
from mypy.types import Instance, TupleType, Type, get_proper_type

from ._carrier import tensor_view
from ._rules import Rule


def map_result(
    rule_for: Callable[[str], Rule | None],
    apply_rule: Callable[[Rule, FunctionContext], Type],
    ctx: FunctionContext,
) -> Type:
    """``map(lambda t: op(t, ...), items)``: ``map[<op applied to the items' one neural type>]``."""
    default = ctx.default_return_type
    if len(ctx.args) < 2 or len(ctx.args[0]) != 1 or len(ctx.args[1]) != 1:
        return default
    function, items = ctx.args[0][0], get_proper_type(ctx.arg_types[1][0])
    call = _single_call(function)
    if call is None or not isinstance(items, TupleType) or not items.items:
        return default
    views = {tensor_view(item) for item in items.items}
    if len(views) != 1 or None in views or not isinstance(call.callee, RefExpr) or call.callee.fullname is None:
        return default
    rule = rule_for(call.callee.fullname)
    parameter = function.arguments[0].variable.name if isinstance(function, LambdaExpr) else None
    first = call.args[0] if call.args else None
    if rule is None or not (isinstance(first, NameExpr) and first.name == parameter and call.arg_kinds[0] == ARG_POS):
        return default
    others = [ctx.api.get_expression_type(argument) for argument in call.args[1:]]
    inner = FunctionContext(
        arg_types=[[items.items[0]], *[[typ] for typ in others]],
        arg_kinds=[[kind] for kind in call.arg_kinds],
        callee_arg_names=[],
        arg_names=[[name] for name in call.arg_names],
        default_return_type=items.items[0],
        args=[[argument] for argument in call.args],
        context=call,
        api=ctx.api,
    )
    result = apply_rule(rule, inner)
    proper = get_proper_type(default)
    if not isinstance(proper, Instance) or len(proper.args) != 1:
        return default
    return proper.copy_modified(args=[result])


def _single_call(function: object) -> CallExpr | None:
    if not isinstance(function, LambdaExpr) or len(function.arguments) != 1:
        return None
    body = function.body.body
    if len(body) != 1 or not isinstance(body[0], ReturnStmt) or not isinstance(body[0].expr, CallExpr):
        return None
    return body[0].expr
