"""A call's arguments as the rules read them: in call order, positional and by keyword, with the types last
assigned to their variables.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

from mypy.nodes import (
    ARG_NAMED,
    ARG_POS,
    ArgKind,
    Expression,
    ListExpr,
    MemberExpr,
    NameExpr,
    OpExpr,
    TupleExpr,
)
from mypy.types import (
    AnyType,
    Instance,
    TupleType,
    Type,
    TypeOfAny,
    get_proper_type,
)

from neuraltypes.core import Size

from ._carrier import TensorView, is_tensor_info, tensor_view
from ._sizes import carried_size, size_of


def assigned_type(expression: Expression, typ: Type, api: object) -> Type:
    """The type last assigned to a variable, when mypy's narrowing of it dropped the axes that ride along.

    Reading a variable, mypy meets its declared type with the assigned one; for ``Tensor[Any, Any]`` declared
    and ``Tensor[Any, ProbsType]`` assigned (``att = att.softmax(-1)``), the meet is a new instance without the
    spelling. The binder still holds the assigned type (mypy internals; without them, the type as read).
    """
    if not isinstance(expression, (NameExpr, MemberExpr)):
        return typ
    proper = get_proper_type(typ)
    if not isinstance(proper, Instance):
        return typ
    binder = getattr(api, "binder", None)
    try:
        assigned = binder.get(expression) if binder is not None else None
    except (AssertionError, KeyError, AttributeError):
        return typ
    declared = getattr(getattr(expression, "node", None), "type", None)
    if assigned is not None and assigned is declared and is_tensor_info(proper.type):
        # mypy keeps a variable's declared type when it is assigned `Any` (`x = self.untyped(x)`): that type is
        # stale, and checking it would report what the code does not do. The tensor is unknown.
        return AnyType(TypeOfAny.special_form)
    if proper.extra_attrs is not None:
        return typ
    found = get_proper_type(assigned) if assigned is not None else None
    if isinstance(found, Instance) and found.type is proper.type and found.extra_attrs is not None:
        return found
    return typ


def receiver_expression(context: object, method: str) -> Expression | None:
    """The receiver of a method call (``att`` in ``att.softmax(-1)``) or the operand of an operator whose method
    is called (the right one for a reflected method such as ``__rmatmul__``)."""
    if isinstance(context, OpExpr):
        reflected = method.startswith("__r") and method not in ("__rshift__", "__round__")
        return context.right if reflected else context.left
    callee = getattr(context, "callee", None)
    return callee.expr if isinstance(callee, MemberExpr) else None


class Argument(NamedTuple):
    expression: Expression
    type: Type


class Arguments:
    """A call's actual arguments in call order, positional and by keyword, whatever overload mypy chose."""

    def __init__(
        self,
        args: Sequence[Sequence[Expression]],
        kinds: Sequence[Sequence[ArgKind]],
        names: Sequence[Sequence[str | None]],
        types: Sequence[Sequence[Type]],
        skip: int = 0,
        type_of: Callable[[Expression], Type] | None = None,
        api: object = None,
        aliases: dict[str, Size] | None = None,
    ) -> None:
        self._type_of = type_of
        self.aliases = aliases  # the function's table: layers applied in it add to it (see SizeAliases)
        actuals: list[tuple[ArgKind, str | None, Argument]] = []
        for formal_args, formal_kinds, formal_names, formal_types in zip(args, kinds, names, types, strict=False):
            for expression, kind, name, typ in zip(formal_args, formal_kinds, formal_names, formal_types, strict=False):
                actuals.append((kind, name, Argument(expression, assigned_type(expression, typ, api))))
        actuals.sort(key=lambda item: (item[2].expression.line, item[2].expression.column))
        self.starred = any(kind.is_star() for kind, _, _ in actuals)
        self.positional = tuple(arg for kind, _, arg in actuals if kind == ARG_POS)[skip:]
        self.keyword = {name: arg for kind, name, arg in actuals if kind == ARG_NAMED and name is not None}

    def type_of(self, expression: Expression) -> Type:
        """The type of an expression inside an argument (a slice's bound): asked of mypy when needed."""
        if self._type_of is None:
            return AnyType(TypeOfAny.special_form)
        return self._type_of(expression)

    def get(self, position: int | None, name: str | None) -> Argument | None:
        if name is not None and name in self.keyword:
            return self.keyword[name]
        if position is not None and position < len(self.positional) and not self.starred:
            return self.positional[position]
        return None

    def size(self, position: int | None, name: str | None = None) -> Size | None:
        argument = self.get(position, name)
        return None if argument is None else size_of(argument.expression, argument.type, self.type_of, self.aliases)

    def integer(self, position: int | None, name: str | None = None, default: int | None = None) -> int | None:
        argument = self.get(position, name)
        if argument is None:
            return default
        size = size_of(argument.expression, argument.type, self.type_of, self.aliases)
        return None if size is None else size.value

    def tensor(self, position: int | None, name: str | None = None) -> TensorView | None:
        argument = self.get(position, name)
        return None if argument is None else tensor_view(argument.type)

    def sizes_from(self, position: int, name: str | None = None) -> tuple[Size | None, ...] | None:
        """A shape given as varargs (``view(B, T, C)``) or as one sequence (``view((B, T, C))``)."""
        if self.starred:
            return None
        given = self.keyword.get(name) if name is not None else None
        if given is None and len(self.positional) == position + 1:
            given = self.positional[position]
        if given is not None:
            items = _sequence_items(given, self.type_of, self.aliases)
            if items is not None:
                return items
            if position == len(self.positional) - 1 or name in self.keyword:
                return (size_of(given.expression, given.type, self.type_of, self.aliases),)
        rest = self.positional[position:]
        return tuple(size_of(arg.expression, arg.type, self.type_of, self.aliases) for arg in rest) if rest else None


def _sequence_items(
    argument: Argument, type_of: Callable[[Expression], Type], aliases: Mapping[str, Size] | None
) -> tuple[Size | None, ...] | None:
    if isinstance(argument.expression, (TupleExpr, ListExpr)):
        proper = get_proper_type(argument.type)
        item_types: Sequence[Type] = proper.items if isinstance(proper, TupleType) else []
        return tuple(
            size_of(item, item_types[i] if i < len(item_types) else type_of(item), type_of, aliases)
            for i, item in enumerate(argument.expression.items)
        )
    proper = get_proper_type(argument.type)
    if isinstance(proper, TupleType):  # a shape held in a variable: `shape = x.size()`
        return tuple(carried_size(item) for item in proper.items)
    return None
