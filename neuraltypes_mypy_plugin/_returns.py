"""What a function returns, against its declared return type.

mypy compares a returned tensor with the declared one only where the plugin gives the tensor a kinds key: a tensor
computed inside the function has none (its axes are often partly unknown, and a variable rebound to another
neural type must not clash with its first type). So the plugin compares what it computes itself: when an
operation's result is what a ``return`` gives back (``return self.head(x)``), or what the last assignment to a
returned name before that ``return`` holds (``x = x.mean(0)`` ... ``return x``, not in a loop the ``return`` is
outside of), it is compared with the
declaration axis by axis, as arguments are (kinds, sizes known to differ, the axes of the function's own
signature taken as free of each other). The result of a call of another typed function is that function's
declaration, and is not compared here.
"""

from __future__ import annotations

from collections.abc import Iterator

from mypy.nodes import (
    AssignmentStmt,
    Block,
    Decorator,
    Expression,
    ForStmt,
    FuncDef,
    FuncItem,
    IfStmt,
    NameExpr,
    Node,
    ReturnStmt,
    Statement,
    TupleExpr,
    WhileStmt,
)
from mypy.plugin import FunctionContext, MethodContext
from mypy.types import CallableType, TupleType, Type, get_proper_type

from ._carrier import parse_spelling, tensor_view
from ._codes import OPERATION
from ._contractions import why_apart
from ._function_sizes import FunctionSizes
from ._messages import returned_axis, returned_rank


def check_returned(table: FunctionSizes, result: Type, ctx: FunctionContext | MethodContext) -> None:
    """Report ``result``, the type of the operation at ``ctx.context``, if the function returns it and it
    contradicts the declared return type."""
    if table.function is None:
        return
    if table.returned is None:
        table.returned = _returned_values(table.function)
    target = table.returned.get(id(ctx.context))
    if target is None:
        return
    declared, where = target
    mismatch = _mismatch(result, declared, table.independent)
    if mismatch is not None:
        ctx.api.fail(mismatch, where, code=OPERATION)


def _returned_values(function: FuncItem) -> dict[int, tuple[Type, Expression]]:
    """The expressions whose value a ``return`` gives back, by ``id``: the declared type each must have, and
    the returned expression (where to report)."""
    signature = function.type
    if not isinstance(signature, CallableType):
        return {}
    found: dict[int, tuple[Type, Expression]] = {}
    assignments: list[tuple[int, str, Expression, frozenset[int]]] = []
    for statement, loops in statements(function.body.body, frozenset()):
        if isinstance(statement, AssignmentStmt) and len(statement.lvalues) == 1:
            target = statement.lvalues[0]
            if isinstance(target, NameExpr):
                assignments.append((statement.line, target.name, statement.rvalue, loops))
        elif isinstance(statement, ReturnStmt) and statement.expr is not None:
            for item, declared in _paired(statement.expr, signature.ret_type):
                value = _last_assigned(item, statement.line, loops, assignments)
                if value is not None:
                    found[id(value)] = (declared, item)
    return found


def _paired(expression: Expression, declared: Type) -> Iterator[tuple[Expression, Type]]:
    proper = get_proper_type(declared)
    if isinstance(expression, TupleExpr) and isinstance(proper, TupleType):
        if len(expression.items) == len(proper.items):
            yield from zip(expression.items, proper.items, strict=True)
        return
    yield expression, declared


def _last_assigned(
    item: Expression, line: int, loops: frozenset[int], assignments: list[tuple[int, str, Expression, frozenset[int]]]
) -> Expression | None:
    """A returned name's value: the last assignment to it written before the ``return``; None when that is in a
    loop the ``return`` is not in (the value may have gone round the loop, changing shape each time)."""
    if not isinstance(item, NameExpr):
        return item
    before = [(value, within) for at, name, value, within in assignments if name == item.name and at <= line]
    if not before:
        return None
    value, within = before[-1]
    return value if within <= loops else None


def statements(body: list[Statement], loops: frozenset[int]) -> Iterator[tuple[Statement, frozenset[int]]]:
    """Every statement of a body in source order with the loops around it, in nested blocks but not in nested
    functions."""
    for statement in body:
        yield statement, loops
        if isinstance(statement, (FuncDef, Decorator)):
            continue
        inner = loops | {id(statement)} if isinstance(statement, (ForStmt, WhileStmt)) else loops
        for block in _blocks(statement):
            yield from statements(block, inner)


def _blocks(statement: Node) -> Iterator[list[Statement]]:
    if isinstance(statement, IfStmt):
        for block in statement.body:
            yield block.body
        if statement.else_body is not None:
            yield statement.else_body.body
        return
    for name in ("body", "else_body", "finally_body"):
        inner = getattr(statement, name, None)
        if isinstance(inner, Block):
            yield inner.body
    for handler in getattr(statement, "handlers", None) or ():
        if isinstance(handler, Block):
            yield handler.body


def _mismatch(found: Type, declared: Type, independent: frozenset[str]) -> str | None:
    got, want = tensor_view(found), tensor_view(declared)
    if got is None or want is None or got.axes is None or want.axes is None:
        return None
    try:
        if any(axis.variadic for axis in (*parse_spelling(got.axes), *parse_spelling(want.axes))):
            return None
    except ValueError:
        return None
    a, b = got.axes.split(), want.axes.split()
    if len(a) != len(b):
        return returned_rank(got.axes, want.axes, len(a), len(b))
    for index, (x, y) in enumerate(zip(a, b, strict=True)):
        why = why_apart(x, y, independent)
        if why is not None:
            return returned_axis(got.axes, want.axes, index, x, y, why)
    return None
