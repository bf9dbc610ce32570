"""Sizes inside function bodies: ints that carry an axis size, the call's arguments as sizes, axis tokens.

``B, T, C = x.size()`` gives ``B`` the type ``int`` with the size ``B`` riding along (an extra attribute, as the
axes do on tensors); arithmetic on such ints builds size expressions with the core's ``Size`` arithmetic; an int
that carries no size (``self.n_head``, an argument) is an opaque symbol named after the expression. Axis tokens
are the spelling's words: ``B``, ``D:80``, ``C//n_head``; ``?`` (unknown) and ``?:n_head`` (a size, kind unknown)
are the plugin's own, made by rules.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import NamedTuple

from mypy.nodes import (
    ARG_NAMED,
    ARG_POS,
    ArgKind,
    Expression,
    FuncItem,
    IntExpr,
    LambdaExpr,
    ListExpr,
    MemberExpr,
    NameExpr,
    OpExpr,
    TupleExpr,
    UnaryExpr,
)
from mypy.plugin import MethodContext
from mypy.types import (
    AnyType,
    CallableType,
    ExtraAttrs,
    Instance,
    LiteralType,
    TupleType,
    Type,
    TypeOfAny,
    get_proper_type,
)

from neuraltypes.core import AxisKind, Size, axis_kind_of_name, parse_axes, size_of_expr

from ._carrier import UNKNOWN_AXIS, TensorView, is_tensor_info, parse_spelling, tensor_view

_SIZE_ATTR = "__neural_size__"
_SYMBOL = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
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
            return _combine(expression.op, left, right)
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
        if _SYMBOL.fullmatch(name):
            return Size.symbol(name)
    return None


class FunctionSizes(dict[str, Size]):
    """One function's learned aliases (symbol -> size), and the axes it split into pieces (the total's spelling
    -> the pieces' spellings, in order: ``inner_dim`` -> ``heads``, ``inner_dim//heads`` for ``(h d)``, with
    where the splitting call is, as line and column)."""

    def __init__(self, function: FuncItem | None = None) -> None:
        super().__init__()
        self.function = function
        self.splits: dict[str, tuple[tuple[str, ...], tuple[int, int]]] = {}
        self.independent = frozenset() if function is None else signature_axis_names(function)
        """The axis names of the function's own signature: sizes free of each other (see ``provably_different``)."""
        self.returned: dict[int, tuple[Type, Expression]] | None = None
        """What the function returns, read when first asked (see ``_returns``)."""
        self.branches: dict[int, tuple[Expression, int]] | None = None
        """The branches of its conditional expressions, read when first asked (see ``_branches``)."""
        self.branch_types: dict[int, dict[int, Type]] = {}


def independent_axes(args: Arguments | None) -> frozenset[str]:
    """The axis names of the signature of the function a call is in (see ``FunctionSizes``); none outside one."""
    table = None if args is None else args.aliases
    return table.independent if isinstance(table, FunctionSizes) else frozenset()


class SizeAliases:
    """What the opaque symbols of each function stand for, learned where a layer built with one meets an axis
    (``nn.Linear(n_embd, ...)`` applied to ``"B T C"``: ``n_embd`` is ``C``, or torch would refuse the call).

    Held by the plugin's checker, one table per function being checked, in the order mypy checks it."""

    _LIMIT = 4096

    def __init__(self) -> None:
        self._tables: dict[int, tuple[object, FunctionSizes]] = {}

    def of(self, api: object) -> FunctionSizes:
        scope = getattr(api, "scope", None)
        stack = getattr(scope, "stack", ())
        # A lambda's body is the enclosing function's (`map(lambda t: rearrange(t, ...), qkv)`): one table for both.
        function = next((e for e in reversed(stack) if isinstance(e, FuncItem) and not isinstance(e, LambdaExpr)), None)
        if function is None:
            return FunctionSizes()
        entry = self._tables.get(id(function))
        if entry is None or entry[0] is not function:
            if len(self._tables) >= self._LIMIT:
                self._tables.clear()
            entry = (function, FunctionSizes(function))
            self._tables[id(function)] = entry
        return entry[1]


def signature_axis_names(function: FuncItem) -> frozenset[str]:
    """The names of the axes a function's parameters declare (``B``, ``T``, ``C`` of ``x: NT[Tensor, "B T C"]``).

    A name only the return type declares (``T_out``) is left out: the result sets it, to whatever it is."""
    signature = get_proper_type(function.type) if function.type is not None else None
    if not isinstance(signature, CallableType):
        return frozenset()
    names: set[str] = set()
    for typ in signature.arg_types:
        proper = get_proper_type(typ)
        items = proper.items if isinstance(proper, TupleType) else [typ]
        for item in items:
            view = tensor_view(item)
            if view is None or view.axes is None:
                continue
            try:
                axes = parse_spelling(view.axes)
            except ValueError:
                continue
            names.update(
                axis.name
                for axis in axes
                if axis.name is not None and axis.expr is None and _SYMBOL.fullmatch(axis.name)
            )
    return frozenset(names)


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


# Axis tokens -----------------------------------------------------------------------------------------------


def is_unknown_kind(token: str) -> bool:
    return token == UNKNOWN_AXIS or token.startswith(f"{UNKNOWN_AXIS}:")


@lru_cache(maxsize=4096)
def token_size(token: str) -> Size | None:
    """The size of one axis token: ``B`` is the symbol B, ``D:80`` 80, ``C//h`` and ``?:n`` their expressions."""
    if token == UNKNOWN_AXIS or token == "_" or token.startswith(("#", "*", "...")):
        return None
    if token.startswith(f"{UNKNOWN_AXIS}:"):
        return size_of_text(token[2:])
    try:
        axis = parse_axes(token)[0]
    except ValueError:
        return None
    if axis.variadic or axis.broadcast:
        return None
    if axis.size is not None:
        return Size.constant(axis.size)
    if axis.expr is not None:
        return size_of_expr(axis.expr)
    return None if axis.name is None else Size.symbol(axis.name)


@lru_cache(maxsize=4096)
def kind_name(token: str) -> str | None:
    """The name that gives a token its kind: ``C`` for ``C``, ``C:3*n`` and ``C//h``; None for unknown kinds."""
    if is_unknown_kind(token) or token == "_":
        return None
    try:
        axis = parse_axes(token)[0]
    except ValueError:
        return None
    if axis.name is not None:
        return axis.name
    if axis.expr is not None:
        return axis.expr.variables()[0]
    return None


def render(kind: str | None, size: Size | None) -> str:
    """The token of an axis of the kind named ``kind`` and ``size`` (None: unknown). Without a kind, a size
    computed from one of NeMo's axis names takes its kind (``C//n_head``); ``kind="?"`` says the axis has none."""
    if size is None:
        return UNKNOWN_AXIS
    text = str(size)
    if size.value is not None and size.value < 0:
        return UNKNOWN_AXIS
    if kind is None:
        kind = _nemo_kind_of(size)
    if kind is None or kind == UNKNOWN_AXIS:
        return f"{UNKNOWN_AXIS}:{text}"
    if text == kind:
        return kind
    try:
        axis = parse_axes(text)[0]
    except ValueError:
        return f"{UNKNOWN_AXIS}:{text}"
    if axis.expr is not None and axis.expr.variables()[0] == kind:
        return text
    return f"{kind}:{text}"


def _nemo_kind_of(size: Size) -> str | None:
    """The name that lends a size its kind when it is one of NeMo's (``C`` in ``C//n_head``): a size computed
    from a channel axis is a channel axis; ``n_head`` or ``n_embd`` say nothing of the kind."""
    first = next((name for name, power in size.factors if power > 0), None)
    if first is None or not _SYMBOL.fullmatch(first) or (len(first) == 1 and first.islower()):
        return None  # `n`, `h`, `s` named in code are counts more often than NeMo's batch, height, singleton
    return first if isinstance(axis_kind_of_name(first), AxisKind) and first.lower() != "any" else None


def kind_for(size: Size | None, tokens: Sequence[str]) -> str | None:
    """The kind of an axis made from ``tokens``: theirs, when exactly one of them lends its name to ``size``."""
    if size is None:
        return None
    names = size.names
    kinds = {kind for kind in map(kind_name, tokens) if kind is not None and kind in names}
    if len(kinds) > 1:
        return UNKNOWN_AXIS  # made of axes of several kinds (``(h w)``, ``B*T``): of none of them
    return kinds.pop() if kinds else None


# Arithmetic on sizes ---------------------------------------------------------------------------------------

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
        result = _combine(operator, left, right)
    except ZeroDivisionError:
        return ctx.default_return_type
    return size_int(default, ctx.api.named_generic_type("builtins.str", []), result)


def _combine(operator: str, left: Size, right: Size) -> Size:
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
