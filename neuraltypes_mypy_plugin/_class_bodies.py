"""What the methods of a class assign to ``self.<name>``: read once per class body.

Most model code leaves ``__init__`` unannotated, so mypy leaves the attributes it assigns ``Any``; the plugin
reads the assignments instead (see ``_attributes``). Only the module being checked is read: mypy keeps no method
bodies of a module it loads from its cache (and frees those of a module it has checked), so reading another
module's would make a result depend on what the cache held.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from mypy.nodes import (
    AssignmentStmt,
    Block,
    CallExpr,
    ConditionalExpr,
    Decorator,
    DelStmt,
    Expression,
    ExpressionStmt,
    ForStmt,
    FuncDef,
    GeneratorExpr,
    IfStmt,
    IndexExpr,
    ListComprehension,
    ListExpr,
    MatchStmt,
    MemberExpr,
    NameExpr,
    OperatorAssignmentStmt,
    OverloadedFuncDef,
    RefExpr,
    StarExpr,
    Statement,
    TryStmt,
    TupleExpr,
    TypeInfo,
    Var,
    WhileStmt,
    WithStmt,
)

from ._names import MODULE_FULLNAME

# Methods of a ModuleList that add items the plugin can follow, and those that change the items otherwise.
_ADDING = frozenset({"append", "extend", "insert"})


_RESHAPING = frozenset(
    {"add_module", "register_module", "update", "pop", "clear", "popitem", "__setitem__", "__delitem__", "__iadd__"}
)


class Assigned:
    """What the methods of one class do to ``self.<name>``.

    Attributes:
        values: the right-hand side of each assignment; None for a form that is not read (a tuple target that
            does not pair up, an augmented assignment, a ``for``/``with`` target).
        added: the items given to ``append`` / ``extend`` / ``insert`` on it (``extend`` of a list or a
            comprehension: its items; None for an argument that is not read).
        reshaped: whether its items change in a way that is not followed (``self.h[0] = ...``,
            ``self.d.update(...)``, ``self.net.fc = ...``).
    """

    __slots__ = ("added", "reshaped", "values")

    def __init__(self) -> None:
        self.values: list[Expression | None] = []
        self.added: list[Expression | None] = []
        self.reshaped = False


class _ClassBody(NamedTuple):
    """One class's assignments to ``self.<name>``, by name. The types are computed from them at each access
    (reading ``RefExpr.node`` then): the daemon may analyse a method anew without re-reading the module."""

    defs: Block  # the class body the record was read from: a new object whenever mypy re-reads the class
    assigned: dict[str, Assigned]


# Records by class body: ``id(defs) -> record``. Holding ``defs`` keeps its id from being reused; mypy's daemon
# re-reads an edited module into new AST objects, so an edited class is read anew.
_BODIES: dict[int, _ClassBody] = {}


_BODIES_LIMIT = 16384


def class_body(info: TypeInfo) -> _ClassBody:
    defs = info.defn.defs
    record = _BODIES.get(id(defs))
    if record is not None and record.defs is defs:
        return record
    if len(_BODIES) >= _BODIES_LIMIT:
        _BODIES.clear()
    record = _ClassBody(defs, _read_class(defs))
    _BODIES[id(defs)] = record
    return record


def _read_class(defs: Block) -> dict[str, Assigned]:
    assigned: dict[str, Assigned] = {}
    for statement in defs.body:
        for function in _functions(statement):
            if function.is_static or not function.arguments:
                continue
            _Reader(function.arguments[0].variable, assigned).block(function.body)
    return assigned


def _functions(statement: Statement) -> Iterable[FuncDef]:
    if isinstance(statement, FuncDef):
        return (statement,)
    if isinstance(statement, Decorator):
        return (statement.func,)
    if isinstance(statement, OverloadedFuncDef):
        items = [item.func if isinstance(item, Decorator) else item for item in statement.items]
        if isinstance(statement.impl, (FuncDef, Decorator)):
            items.append(statement.impl.func if isinstance(statement.impl, Decorator) else statement.impl)
        return items
    return ()


class _Reader:
    """Reads the statements of one method for what they do to ``self.<name>`` (``self`` being its first
    parameter); nested blocks and functions too, not nested classes."""

    def __init__(self, self_var: Var, assigned: dict[str, Assigned]) -> None:
        self._self = self_var
        self._assigned = assigned

    def _record(self, name: str) -> Assigned:
        record = self._assigned.get(name)
        if record is None:
            record = self._assigned[name] = Assigned()
        return record

    def block(self, block: Block | None) -> None:
        if block is None:
            return
        for statement in block.body:
            self.statement(statement)

    def statement(self, statement: Statement) -> None:
        match statement:
            case AssignmentStmt():
                for lvalue in statement.lvalues:
                    self._assign(lvalue, statement.rvalue)
            case ExpressionStmt():
                self._call(statement.expr)
            case DelStmt():
                self._assign(statement.expr, None, deleting=True)
            case _:
                for target in _bound_unread(statement):
                    self._assign(target, None)
                for block in _nested_blocks(statement):
                    self.block(block)

    def _name(self, expression: Expression) -> str | None:
        """``name`` when ``expression`` is ``self.name``."""
        if (
            isinstance(expression, MemberExpr)
            and isinstance(expression.expr, NameExpr)
            and expression.expr.node is self._self
        ):
            return expression.name
        return None

    def _root(self, expression: Expression) -> tuple[str, int] | None:
        """``(name, depth)`` when ``expression`` is reached from ``self.name`` through ``depth`` attribute or
        index steps (``self.h[0]``: 1; ``self.transformer.wte.weight``: 2)."""
        depth = 0
        while isinstance(expression, (MemberExpr, IndexExpr)):
            name = self._name(expression)
            if name is not None:
                return name, depth
            expression = expression.expr if isinstance(expression, MemberExpr) else expression.base
            depth += 1
        return None

    def _assign(self, lvalue: Expression, rvalue: Expression | None, deleting: bool = False) -> None:
        name = self._name(lvalue)
        if name is not None:
            if not deleting:
                self._record(name).values.append(_unless_none(rvalue))
            return
        if isinstance(lvalue, (TupleExpr, ListExpr)):
            values: list[Expression | None] = [None] * len(lvalue.items)
            if (
                isinstance(rvalue, (TupleExpr, ListExpr))
                and len(rvalue.items) == len(lvalue.items)
                and not any(isinstance(item, StarExpr) for item in (*lvalue.items, *rvalue.items))
            ):
                values = list(rvalue.items)
            for item, value in zip(lvalue.items, values, strict=True):
                self._assign(item, value, deleting)
            return
        if isinstance(lvalue, StarExpr):
            self._assign(lvalue.expr, None, deleting)
            return
        root = self._root(lvalue)
        # self.h[0] = ..., self.transformer.wte = ...: the container's items change. Deeper (the weight of an
        # item: self.transformer.wte.weight = ...) leaves the items as they are.
        if root is not None and root[1] == 1:
            self._record(root[0]).reshaped = True

    def _call(self, expression: Expression) -> None:
        if not isinstance(expression, CallExpr) or not isinstance(expression.callee, MemberExpr):
            return
        method = expression.callee.name
        if method not in _ADDING and method not in _RESHAPING:
            return
        target = expression.callee.expr
        name = self._name(target)
        if name is None:
            root = self._root(target)
            if root is not None:
                self._record(root[0]).reshaped = True  # self.layers[0].append(...): an inner list changes
            return
        record = self._record(name)
        if method == "append" and len(expression.args) == 1:
            record.added.append(expression.args[0])
        elif method == "insert" and len(expression.args) == 2:
            record.added.append(expression.args[1])
        elif method == "extend" and len(expression.args) == 1:
            items = listed(expression.args[0])
            record.added.extend([None] if items is None else items)
        else:
            record.reshaped = True


def _bound_unread(statement: Statement) -> list[Expression]:
    """The targets a statement binds to values that are not read: an augmented assignment's, a ``for`` loop's,
    a ``with`` statement's."""
    match statement:
        case OperatorAssignmentStmt():
            return [statement.lvalue]
        case ForStmt():
            return [statement.index]
        case WithStmt():
            return [target for target in statement.target if target is not None]
    return []


def _nested_blocks(statement: Statement) -> list[Block | None]:
    """The blocks inside a compound statement, nested functions' bodies included (a closure may assign the
    enclosing method's ``self.<name>``); not those of a nested class."""
    match statement:
        case IfStmt():
            return [*statement.body, statement.else_body]
        case ForStmt() | WhileStmt():
            return [statement.body, statement.else_body]
        case WithStmt():
            return [statement.body]
        case TryStmt():
            return [statement.body, *statement.handlers, statement.else_body, statement.finally_body]
        case MatchStmt():
            return list(statement.bodies)
        case Block():
            return [statement]
        case FuncDef() | Decorator() | OverloadedFuncDef():
            return [function.body for function in _functions(statement)]
    return []


def listed(expression: Expression) -> list[Expression | None] | None:
    """The item expressions of a literal list or tuple, or the one item of a comprehension; None otherwise."""
    if isinstance(expression, (ListExpr, TupleExpr)):
        if any(isinstance(item, StarExpr) for item in expression.items):
            return None
        return list(expression.items)
    if isinstance(expression, ListComprehension):
        expression = expression.generator
    if isinstance(expression, GeneratorExpr):
        return [expression.left_expr]
    return None


def constructor_call(info: TypeInfo, attribute: str) -> CallExpr | None:
    """The call that builds ``self.<attribute>`` in the methods of ``info``: ``nn.Linear(n_embd, 3 * n_embd)``.

    For rules that read a module's construction (its arguments are ``call.args``, ``call.arg_names``,
    ``call.arg_kinds``; ``call.callee.node`` is the class's ``TypeInfo``). None unless the methods of ``info``
    itself (not its bases or subclasses) assign the attribute exactly once, from a call of an ``nn.Module``
    class. Use it on classes of the module being checked (the one a hook's ``ctx.api`` checks): mypy keeps no
    method bodies of a module it loaded from its cache, and frees those of a module once it has checked it, so
    for a class of another module this is None, or not, depending on the cache. Read once per class body: under
    mypy's daemon an edited class is read again.
    """
    record = class_body(info).assigned.get(attribute)
    if record is None or len(record.values) != 1:
        return None
    call = record.values[0]
    return call if isinstance(call, CallExpr) and module_class(call) is not None else None


def _unless_none(expression: Expression | None) -> Expression | None:
    """``nn.Linear(d, n) if n > 0 else None`` is the layer: code calls it where it is not None."""
    if isinstance(expression, ConditionalExpr):
        branches = (expression.if_expr, expression.else_expr)
        others = [
            branch for branch in branches if not (isinstance(branch, NameExpr) and branch.fullname == "builtins.None")
        ]
        if len(others) == 1:
            return others[0]
    return expression


def module_class(expression: Expression | None) -> TypeInfo | None:
    """The ``nn.Module`` class that ``expression`` calls (``nn.Linear(...)``), after mypy's semantic analysis."""
    if not isinstance(expression, CallExpr) or not isinstance(expression.callee, RefExpr):
        return None
    node = expression.callee.node
    return node if isinstance(node, TypeInfo) and node.has_base(MODULE_FULLNAME) else None
