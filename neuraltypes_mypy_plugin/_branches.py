"""The two branches of a conditional expression make one value: ``x.mean(dim=1) if mean else x[:, 0]``.

mypy joins the branches' types, and a join of two different neural types knows no axes: a mistake in one
branch (``x.mean(dim=0)``, pooling over the batch) would leave nothing to check downstream. So where both
branches are operations the plugin types, their results are compared: the same axis kinds in some order (a
layout switch such as ``x if channels_last else x.transpose(1, 2)`` is deliberate), or an error. Branches of
unknown kinds or of different ranks are not compared.
"""

from __future__ import annotations

from collections import Counter

from mypy.nodes import AssignmentStmt, ConditionalExpr, Expression, FuncItem, ReturnStmt
from mypy.plugin import FunctionContext, MethodContext
from mypy.types import Type

from neuraltypes.core import axis_kind_of_name

from ._carrier import has_unknown_kind, tensor_view
from ._codes import OPERATION
from ._function_sizes import FunctionSizes
from ._messages import branches_disagree
from ._returns import statements
from ._tokens import kind_name


def check_branch(table: FunctionSizes, result: Type, ctx: FunctionContext | MethodContext) -> None:
    """Keep ``result`` if the operation at ``ctx.context`` is a branch of a conditional expression; once both
    branches are typed, report kinds that differ."""
    if table.function is None:
        return
    if table.branches is None:
        table.branches = dict(_branches(table.function))
    entry = table.branches.get(id(ctx.context))
    if entry is None:
        return
    conditional, side = entry
    assert isinstance(conditional, ConditionalExpr)
    seen = table.branch_types.setdefault(id(conditional), {})
    seen[side] = result
    if len(seen) == 2:
        message = _disagreement(seen[0], seen[1])
        if message is not None:
            ctx.api.fail(message, conditional, code=OPERATION)


def _branches(function: FuncItem) -> dict[int, tuple[Expression, int]]:
    """The branches of the conditional expressions a function assigns or returns, by ``id``: which
    conditional, and which side (0: the value if true)."""
    found: dict[int, tuple[Expression, int]] = {}
    for statement, _ in statements(function.body.body, frozenset()):
        value = statement.rvalue if isinstance(statement, AssignmentStmt) else None
        if isinstance(statement, ReturnStmt):
            value = statement.expr
        if isinstance(value, ConditionalExpr):
            found[id(value.if_expr)] = (value, 0)
            found[id(value.else_expr)] = (value, 1)
    return found


def _disagreement(first: Type, second: Type) -> str | None:
    a, b = tensor_view(first), tensor_view(second)
    if a is None or b is None or a.axes is None or b.axes is None:
        return None
    if has_unknown_kind(a.axes) or has_unknown_kind(b.axes):
        return None
    x, y = a.axes.split(), b.axes.split()
    if len(x) != len(y) or any(token.startswith(("*", "...")) for token in (*x, *y)):
        return None
    if _kinds(x) == _kinds(y):
        return None
    return branches_disagree(a.axes, b.axes)


def _kinds(tokens: list[str]) -> Counter[str] | None:
    names = [kind_name(token) for token in tokens]
    return Counter(
        str(axis_kind_of_name(name)) if name is not None else token for name, token in zip(names, tokens, strict=True)
    )
