"""Module attributes that mypy leaves unknown, and what ``nn.Sequential``, ``nn.ModuleList`` and ``nn.ModuleDict``
hold.

Most model code leaves ``__init__`` unannotated. mypy does not check such a body (unless ``check_untyped_defs``)
and every attribute it assigns is ``Any`` (``TypeOfAny.unannotated``), so ``self.proj(x)`` in a typed
``forward`` reaches no rule and no checked call. For an attribute of an ``nn.Module`` subclass that mypy left
so, the attribute hook reads the class's methods: when every ``self.<name> = ...`` there is a call of one
``nn.Module`` class (``nn.Linear(...)``, ``Block(config)``), the attribute has that class's type.

Containers keep their items: the type of ``self.h`` (``nn.ModuleList([Block(c) for _ in range(n)])``) carries,
as extra attributes of the instance (which mypy's subtype checks ignore), the types of its items, read from
the constructor call; ``self.net(x)`` on an ``nn.Sequential`` chains its items' calls, iterating or indexing
a ``ModuleList`` gives the item's type, ``self.transformer.wte`` and ``self.transformer["wte"]`` on an
``nn.ModuleDict`` give the entry's type.

Only the module being checked is read: mypy keeps no method bodies of a module it loads from its cache (and
frees those of a module it has checked), so reading another module's would make a result depend on what the
cache held. An attribute of a class of another module keeps the type mypy gives it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import partial
from typing import Any, NamedTuple, cast

from mypy.nodes import (
    ARG_NAMED,
    ARG_POS,
    AssignmentStmt,
    Block,
    CallExpr,
    ConditionalExpr,
    Decorator,
    DelStmt,
    DictExpr,
    Expression,
    ExpressionStmt,
    FloatExpr,
    ForStmt,
    FuncDef,
    GeneratorExpr,
    IfStmt,
    IndexExpr,
    IntExpr,
    ListComprehension,
    ListExpr,
    MatchStmt,
    MemberExpr,
    MypyFile,
    NameExpr,
    OperatorAssignmentStmt,
    OpExpr,
    OverloadedFuncDef,
    RefExpr,
    SliceExpr,
    StarExpr,
    Statement,
    StrExpr,
    TempNode,
    TryStmt,
    TupleExpr,
    TypeInfo,
    UnaryExpr,
    Var,
    WhileStmt,
    WithStmt,
)
from mypy.plugin import AttributeContext, CheckerPluginInterface, FunctionContext, MethodContext
from mypy.types import (
    AnyType,
    ExtraAttrs,
    FunctionLike,
    Instance,
    LiteralType,
    ProperType,
    TupleType,
    Type,
    TypeOfAny,
    get_proper_type,
    has_type_vars,
)
from mypy.typevars import fill_typevars_with_any

from ._calls import signature_of
from ._carrier import UNKNOWN_AXIS, build_tensor, tensor_view
from ._lookup import Lookup
from ._names import MODULE_FULLNAME, TENSOR_FULLNAME
from ._shapes import int_literal, render, size_of

SEQUENTIAL_FULLNAME = "torch.nn.modules.container.Sequential"
MODULE_LIST_FULLNAME = "torch.nn.modules.container.ModuleList"
MODULE_DICT_FULLNAME = "torch.nn.modules.container.ModuleDict"
_CONTAINERS = frozenset({SEQUENTIAL_FULLNAME, MODULE_LIST_FULLNAME, MODULE_DICT_FULLNAME})
_LISTS = frozenset({SEQUENTIAL_FULLNAME, MODULE_LIST_FULLNAME})

# Marks, as extra attributes of an instance type (mypy's subtype checks ignore them). An instance the plugin
# built from a constructor call: what it declares in other modules (torch's Conv1d.bias, Optional) reads as Any,
# as the whole attribute did before, so that typing the module adds no errors to the code that uses it.
_INFERRED = "__neural_inferred__"
# A container's items.
_MARK = "__neural_container__"  # present on every container whose items the plugin knows
_ITEMS = "__neural_items__"  # a tuple type: each item, in order (a literal list of known length)
_ITEM = "__neural_item__"  # the type of every item, their number unknown (a comprehension, appends)
_ENTRY = "__neural_entry__."  # + a name: the entry of a ModuleDict, or a named item of a Sequential

# Methods of a ModuleList that add items the plugin can follow, and those that change the items otherwise.
_ADDING = frozenset({"append", "extend", "insert"})
_RESHAPING = frozenset(
    {"add_module", "register_module", "update", "pop", "clear", "popitem", "__setitem__", "__delitem__", "__iadd__"}
)
_UNKNOWN = AnyType(TypeOfAny.special_form)


def _any() -> AnyType:
    return AnyType(TypeOfAny.special_form)


# ---------------------------------------------------------------------------------------------------------------
# What a class's methods assign to self.<name>, read once per class body.


class _Assigned:
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
    assigned: dict[str, _Assigned]


# Records by class body: ``id(defs) -> record``. Holding ``defs`` keeps its id from being reused; mypy's daemon
# re-reads an edited module into new AST objects, so an edited class is read anew.
_BODIES: dict[int, _ClassBody] = {}
_BODIES_LIMIT = 16384


def _class_body(info: TypeInfo) -> _ClassBody:
    defs = info.defn.defs
    record = _BODIES.get(id(defs))
    if record is not None and record.defs is defs:
        return record
    if len(_BODIES) >= _BODIES_LIMIT:
        _BODIES.clear()
    record = _ClassBody(defs, _read_class(defs))
    _BODIES[id(defs)] = record
    return record


def _read_class(defs: Block) -> dict[str, _Assigned]:
    assigned: dict[str, _Assigned] = {}
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

    def __init__(self, self_var: Var, assigned: dict[str, _Assigned]) -> None:
        self._self = self_var
        self._assigned = assigned

    def _record(self, name: str) -> _Assigned:
        record = self._assigned.get(name)
        if record is None:
            record = self._assigned[name] = _Assigned()
        return record

    def block(self, block: Block | None) -> None:
        if block is None:
            return
        for statement in block.body:
            self.statement(statement)

    def statement(self, statement: Statement) -> None:
        if isinstance(statement, AssignmentStmt):
            for lvalue in statement.lvalues:
                self._assign(lvalue, statement.rvalue)
        elif isinstance(statement, ExpressionStmt):
            self._call(statement.expr)
        elif isinstance(statement, OperatorAssignmentStmt):
            self._assign(statement.lvalue, None)
        elif isinstance(statement, IfStmt):
            for body in statement.body:
                self.block(body)
            self.block(statement.else_body)
        elif isinstance(statement, (ForStmt, WhileStmt)):
            if isinstance(statement, ForStmt):
                self._assign(statement.index, None)
            self.block(statement.body)
            self.block(statement.else_body)
        elif isinstance(statement, WithStmt):
            for target in statement.target:
                if target is not None:
                    self._assign(target, None)
            self.block(statement.body)
        elif isinstance(statement, TryStmt):
            for block in (statement.body, *statement.handlers, statement.else_body, statement.finally_body):
                self.block(block)
        elif isinstance(statement, MatchStmt):
            for body in statement.bodies:
                self.block(body)
        elif isinstance(statement, DelStmt):
            self._assign(statement.expr, None, deleting=True)
        elif isinstance(statement, Block):
            self.block(statement)
        elif isinstance(statement, (FuncDef, Decorator, OverloadedFuncDef)):
            for function in _functions(statement):
                self.block(function.body)  # a closure may assign the enclosing method's self.<name>

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
            items = _listed(expression.args[0])
            record.added.extend([None] if items is None else items)
        else:
            record.reshaped = True


def _listed(expression: Expression) -> list[Expression | None] | None:
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


# ---------------------------------------------------------------------------------------------------------------
# The public reading: the one call that builds self.<attribute>.


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
    record = _class_body(info).assigned.get(attribute)
    if record is None or len(record.values) != 1:
        return None
    call = record.values[0]
    return call if isinstance(call, CallExpr) and _module_class(call) is not None else None


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


def _module_class(expression: Expression | None) -> TypeInfo | None:
    """The ``nn.Module`` class that ``expression`` calls (``nn.Linear(...)``), after mypy's semantic analysis."""
    if not isinstance(expression, CallExpr) or not isinstance(expression.callee, RefExpr):
        return None
    node = expression.callee.node
    return node if isinstance(node, TypeInfo) and node.has_base(MODULE_FULLNAME) else None


# ---------------------------------------------------------------------------------------------------------------
# The attribute hook.


def member_attribute_hook(
    fullname: str, lookup: Lookup, libraries: tuple[str, ...]
) -> Callable[[AttributeContext], Type] | None:
    """The hook for attribute ``fullname`` (``Class.name``, named after the class that declares it), if any.

    ``Module.<name>`` for a name that ``nn.Module`` does not declare is an access through its ``__getattr__``:
    an entry of a ``ModuleDict`` or a named item of a ``Sequential``. A library's own attributes have no hook.
    """
    owner, _, name = fullname.rpartition(".")
    if owner == MODULE_FULLNAME and name not in _CALLS:
        module = lookup(MODULE_FULLNAME)
        return None if not isinstance(module, TypeInfo) or name in module.names else partial(_entry, name)
    if not owner or name in _CALLS:
        return None
    if fullname.startswith(libraries):
        info = lookup(owner)  # asked once per library name (the checker keeps the answer)
        return _library_attribute if isinstance(info, TypeInfo) and info.has_base(MODULE_FULLNAME) else None
    return partial(_attribute, owner, name)


_PARAMETER_FULLNAME = "torch.nn.parameter.Parameter"

# Types mypy infers for an attribute that the plugin knows better: containers (their items) and parameters (axes).
_REFINED = frozenset({*_CONTAINERS, _PARAMETER_FULLNAME})

# The Any an attribute has when untyped code made it: an unchecked __init__, or arithmetic on an unannotated
# parameter in a checked one (`self.scale = dim_head ** -0.5` with `def __init__(self, dim_head=64) -> None`).
_LEFT_BY_UNTYPED_CODE = frozenset({TypeOfAny.unannotated, TypeOfAny.from_another_any})

# Module attributes that a call goes through (``module(x)`` looks up ``__call__``): never made Any.
_CALLS = frozenset({"__call__", "forward"})


def _inferred(typ: Type) -> bool:
    """Whether ``typ`` is an instance the plugin built from a constructor call."""
    proper = get_proper_type(typ)
    return isinstance(proper, Instance) and proper.extra_attrs is not None and _INFERRED in proper.extra_attrs.attrs


def _library_attribute(ctx: AttributeContext) -> Type:
    """An attribute a library declares (``Conv1d.bias``), on a module the plugin typed: ``Any``, as before.
    Methods keep their signatures (mypy asks this hook about them too)."""
    if ctx.is_lvalue or not _inferred(ctx.type) or isinstance(get_proper_type(ctx.default_attr_type), FunctionLike):
        return ctx.default_attr_type
    return _any()


def _attribute(owner: str, name: str, ctx: AttributeContext) -> Type:
    """``self.name`` with the type its assignments give it, where mypy left it ``Any``; a container inferred by
    mypy gets its items."""
    default = ctx.default_attr_type
    if ctx.is_lvalue:
        return default
    if _inferred(ctx.type):
        return _attribute_of_inferred(owner, name, ctx)
    proper = get_proper_type(default)
    if isinstance(proper, AnyType):
        if proper.type_of_any not in _LEFT_BY_UNTYPED_CODE:
            return default  # an explicit Any, an error: not what an unchecked assignment leaves
    elif not (isinstance(proper, Instance) and proper.type.fullname in _REFINED and proper.extra_attrs is None):
        return default  # the common case: a type mypy knows
    return _attribute_found(owner, name, ctx, proper)


def _attribute_of_inferred(owner: str, name: str, ctx: AttributeContext) -> Type:
    """An attribute of a module the plugin typed: one of a class of the module being checked is read as any
    other; one declared elsewhere is ``Any``, as the module itself was before."""
    receiver = get_proper_type(ctx.type)
    symbol = receiver.type.get(name) if isinstance(receiver, Instance) else None
    var = None if symbol is None else symbol.node
    if not isinstance(var, Var):
        return ctx.default_attr_type  # a method, a property (mypy asks this hook about them too)
    if var.info.module_name != _checked_module(ctx.api):
        return _any()
    proper = get_proper_type(ctx.default_attr_type)
    if isinstance(proper, AnyType) and proper.type_of_any not in _LEFT_BY_UNTYPED_CODE:
        return ctx.default_attr_type
    if isinstance(proper, Instance) and not (proper.type.fullname in _REFINED and proper.extra_attrs is None):
        return ctx.default_attr_type
    if not isinstance(proper, (AnyType, Instance)):
        return ctx.default_attr_type
    return _attribute_found(owner, name, ctx, proper)


def _attribute_found(owner: str, name: str, ctx: AttributeContext, proper: AnyType | Instance) -> Type:
    default = ctx.default_attr_type
    receiver = get_proper_type(ctx.type)
    if not isinstance(receiver, Instance):
        return default
    symbol = receiver.type.get(name)
    var = None if symbol is None else symbol.node
    if not isinstance(var, Var) or var.info.fullname != owner:
        return default
    if isinstance(proper, Instance) and (var.explicit_self_type or not var.is_inferred):
        return default  # annotated by the user (self.h: nn.ModuleList = ..., or in the class body): kept
    module = _checked_module(ctx.api)
    if module is None or var.info.module_name != module or not var.info.has_base(MODULE_FULLNAME):
        return default
    chain = receiver.type.mro[: receiver.type.mro.index(var.info) + 1] if var.info in receiver.type.mro else []
    if not chain or any(info.module_name != module for info in chain):
        return default
    found = _chain_type(chain, name, ctx.api)
    if found is None:
        return default
    if isinstance(proper, AnyType):
        return found
    if proper.type.fullname == _PARAMETER_FULLNAME:  # mypy's `Parameter`: the plugin's has the axes
        return found if isinstance(found, Instance) and found.type.fullname == TENSOR_FULLNAME else default
    return found if isinstance(found, Instance) and found.type is proper.type else default


def _checked_module(api: object) -> str | None:
    """The module being checked (mypy's checker keeps it as ``tree``; None if that ever changes)."""
    tree = getattr(api, "tree", None)
    return tree.fullname if isinstance(tree, MypyFile) else None


def _chain_type(chain: Sequence[TypeInfo], name: str, api: Any) -> Type | None:
    """The type of ``self.name`` on an instance of ``chain[0]``, declared by ``chain[-1]``, from the assignments
    of every class from the one to the other."""
    found = [a for a in (_class_body(info).assigned.get(name) for info in chain) if a is not None]
    return _assigned_type(found, api) if found else None


def _assigned_type(records: list[_Assigned], api: Any) -> Type | None:
    values = [value for record in records for value in record.values]
    if len(values) == 1:
        parameter = _parameter(values[0], api)
        if parameter is not None:
            return parameter
    numbers = {_number(value) for value in values}
    number = numbers.pop() if len(numbers) == 1 else None
    if values and number is not None:
        found: Instance = api.named_generic_type(number, [])  # self.scale = dim_head ** -0.5: a float
        return found
    classes = {_module_class(value) for value in values}
    if not values or len(classes) != 1:
        return None  # no assignment read, one that is not a module call, or two classes: unknown
    info = classes.pop()
    if info is None:
        return None
    if info.fullname not in _CONTAINERS:
        return _built(info)
    if len(values) != 1 or any(record.reshaped for record in records):
        return None
    added = [item for record in records for item in record.added]
    call = values[0]
    assert isinstance(call, CallExpr)
    return _container(info, call, added, api)


_FLOAT_FUNCTIONS = frozenset({"math.sqrt", "math.log", "math.exp", "math.pow"})


def _number(expression: Expression | None) -> str | None:
    """``builtins.float`` or ``builtins.int`` for arithmetic on a number literal (``dim_head ** -0.5``,
    ``1.0 / math.sqrt(d)``, ``2 * n``); None for anything else (``config.n_head`` may be anything).

    Such an attribute left ``Any`` would make ``x * self.scale`` ``Any`` too: mypy gives up on an operation
    with an ``Any`` operand, and the tensor's neural type would be lost."""
    if isinstance(expression, FloatExpr):
        return "builtins.float"
    if isinstance(expression, IntExpr):
        return "builtins.int"
    if isinstance(expression, UnaryExpr) and expression.op in "-+":
        return _number(expression.expr)
    if isinstance(expression, CallExpr) and isinstance(expression.callee, RefExpr):
        return "builtins.float" if expression.callee.fullname in _FLOAT_FUNCTIONS else None
    if isinstance(expression, OpExpr) and expression.op in ("+", "-", "*", "/", "//", "**", "%"):
        sides = [_number(expression.left), _number(expression.right)]
        if sides == [None, None]:
            return None
        if "builtins.float" in sides or expression.op == "/" or (expression.op == "**" and sides[1] != "builtins.int"):
            return "builtins.float"
        if expression.op == "**" and isinstance(expression.right, UnaryExpr):
            return "builtins.float"
        return "builtins.int" if None not in sides else None
    return None


# ---------------------------------------------------------------------------------------------------------------
# Containers: their items, from the constructor call.


def _item_type(expression: Expression | None, api: Any) -> ProperType:
    """The type of a module built by ``expression`` (a container with its items); ``Any`` when unknown."""
    info = _module_class(expression)
    if info is None:
        return _any()
    if info.fullname in _CONTAINERS:
        assert isinstance(expression, CallExpr)
        return _container(info, expression, [], api) or _any()
    return _built(info)


_FACTORIES = frozenset({"randn", "rand", "zeros", "ones", "empty"})


def _parameter(value: Expression | None, api: Any) -> Instance | None:
    """``nn.Parameter(torch.randn(1, dim))``: a parameter with axes of those sizes (of no known kind)."""
    if not isinstance(value, CallExpr) or not isinstance(value.callee, RefExpr) or not value.args:
        return None
    info = value.callee.node
    made = value.args[0]
    if not isinstance(info, TypeInfo) or info.fullname != _PARAMETER_FULLNAME or not isinstance(made, CallExpr):
        return None
    if not isinstance(made.callee, (NameExpr, MemberExpr)) or made.callee.name not in _FACTORIES:
        return None
    sizes = [arg for arg, kind in zip(made.args, made.arg_kinds, strict=True) if kind == ARG_POS]
    if len(sizes) == 1 and isinstance(sizes[0], (TupleExpr, ListExpr)):
        sizes = list(sizes[0].items)
    if not sizes:
        return None
    untyped = _any()
    tokens = [render(UNKNOWN_AXIS, size_of(size, untyped, lambda _: untyped)) for size in sizes]
    tensor = next((base for base in info.mro if base.fullname == TENSOR_FULLNAME), None)
    if tensor is None:
        return None
    str_type = api.named_generic_type("builtins.str", [])
    # typed as the tensor it is: the axes ride on a `Tensor` (a subclass's instance is read through its base)
    return build_tensor(tensor, str_type, " ".join(tokens), None, None, keyed=False)


def _built(info: TypeInfo) -> ProperType:
    """An instance of ``info`` (type arguments ``Any``), marked as built by the plugin."""
    filled = fill_typevars_with_any(info)
    if not isinstance(filled, Instance):
        return _any()
    return Instance(info, filled.args, extra_attrs=ExtraAttrs({_INFERRED: _UNKNOWN}, {_INFERRED}))


def _container(info: TypeInfo, call: CallExpr, added: list[Expression | None], api: Any) -> Instance | None:
    """The container built by ``call`` (then given ``added`` items), with the items known; None if none is."""
    positional = [arg for arg, kind in zip(call.args, call.arg_kinds, strict=True) if kind == ARG_POS]
    if len(positional) != len(call.args):
        if info.fullname == SEQUENTIAL_FULLNAME or len(call.args) != 1 or call.arg_names[0] != "modules":
            return None  # *layers, **kwargs: unknown
        positional = list(call.args)
    if info.fullname == SEQUENTIAL_FULLNAME:
        return None if added else _sequential(info, positional, api)
    if info.fullname == MODULE_DICT_FULLNAME:
        return None if added else _module_dict(info, positional, api)
    items: list[Expression | None] | None = []
    fixed = True
    if positional:
        items = _listed(positional[0]) if len(positional) == 1 else None
        fixed = isinstance(positional[0], (ListExpr, TupleExpr))
    if items is None:
        return None
    if added:
        items, fixed = [*items, *added], False
    types = [_item_type(item, api) for item in items]
    if fixed:
        return _with_items(info, {_ITEMS: _tuple(types, api)}) if _some_known(types) else None
    uniform = _uniform(types)
    return None if uniform is None else _with_items(info, {_ITEM: uniform})


def _sequential(info: TypeInfo, args: list[Expression], api: Any) -> Instance | None:
    named = _ordered_dict_items(args[0]) if len(args) == 1 else None
    if named is not None:
        types = [_item_type(value, api) for _, value in named]
        entries = {_ENTRY + key: typ for (key, _), typ in zip(named, types, strict=True)}
        return _with_items(info, {_ITEMS: _tuple(types, api), **entries}) if _some_known(types) else None
    types = [_item_type(arg, api) for arg in args]  # nn.Sequential() is filled later (add_module): unknown
    return _with_items(info, {_ITEMS: _tuple(types, api)}) if _some_known(types) else None


def _ordered_dict_items(expression: Expression) -> list[tuple[str, Expression]] | None:
    """``OrderedDict([("fc", nn.Linear(...)), ...])``: the names and item expressions, in order."""
    if not (
        isinstance(expression, CallExpr)
        and isinstance(expression.callee, RefExpr)
        and expression.callee.fullname in ("collections.OrderedDict", "typing.OrderedDict")
        and len(expression.args) == 1
        and isinstance(expression.args[0], (ListExpr, TupleExpr))
    ):
        return None
    items = []
    for pair in expression.args[0].items:
        if not (isinstance(pair, TupleExpr) and len(pair.items) == 2 and isinstance(pair.items[0], StrExpr)):
            return None
        items.append((pair.items[0].value, pair.items[1]))
    return items


def _module_dict(info: TypeInfo, args: list[Expression], api: Any) -> Instance | None:
    entries: list[tuple[str, Expression]] = []
    if len(args) > 1:
        return None
    if args:
        source = args[0]
        if isinstance(source, DictExpr) and all(isinstance(key, StrExpr) for key, _ in source.items):
            entries = [(key.value, value) for key, value in source.items if isinstance(key, StrExpr)]
        elif (
            isinstance(source, CallExpr)
            and isinstance(source.callee, RefExpr)
            and source.callee.fullname == "builtins.dict"
            and all(kind == ARG_NAMED for kind in source.arg_kinds)
        ):
            entries = [(key, value) for key, value in zip(source.arg_names, source.args, strict=True) if key]
        else:
            return None
    types = {_ENTRY + key: _item_type(value, api) for key, value in entries}
    return _with_items(info, types) if _some_known(types.values()) else None


def _some_known(types: Iterable[ProperType]) -> bool:
    return any(not isinstance(typ, AnyType) for typ in types)


def _uniform(types: Sequence[Type]) -> Type | None:
    """The one type of all items (a class; a container with the same items); None when they differ or one is
    unknown."""
    proper = [get_proper_type(typ) for typ in types]
    first = proper[0] if proper else None
    if not isinstance(first, Instance) or any(typ != first for typ in proper):
        return None
    return first


def _tuple(types: list[ProperType], api: Any) -> TupleType:
    return TupleType(list(types), api.named_generic_type("builtins.tuple", [_any()]))


def _with_items(info: TypeInfo, attrs: Mapping[str, Type]) -> Instance:
    extra = {_INFERRED: _UNKNOWN, _MARK: _UNKNOWN, **attrs}
    return Instance(info, [], extra_attrs=ExtraAttrs(extra, set(extra)))


def _items_of(typ: Type) -> dict[str, Type] | None:
    """The plugin's record of a container's items, if ``typ`` is a container whose items it knows."""
    proper = get_proper_type(typ)
    if not isinstance(proper, Instance) or proper.extra_attrs is None or _MARK not in proper.extra_attrs.attrs:
        return None
    return proper.extra_attrs.attrs


def _fixed(attrs: dict[str, Type]) -> list[Type] | None:
    items = get_proper_type(attrs.get(_ITEMS))
    return list(items.items) if isinstance(items, TupleType) else None


def _each_item(attrs: dict[str, Type]) -> Type:
    """The type of any one item: the same class for all, else ``Any``."""
    fixed = _fixed(attrs)
    if fixed is None:
        return _as_item(attrs.get(_ITEM, _any()))
    uniform = _uniform(fixed)
    return _any() if uniform is None else _as_item(uniform)


def _as_item(typ: Type) -> Type:
    """An item as iterating or indexing gives it. An inner ``ModuleList`` of a literal list is a tuple of its
    items that is otherwise the ``ModuleList`` (its fallback), so that ``for attn, ff in self.layers`` types
    both names and ``layer.parameters()`` still works."""
    proper = get_proper_type(typ)
    attrs = _items_of(proper)
    if attrs is None or not isinstance(proper, Instance) or proper.type.fullname != MODULE_LIST_FULLNAME:
        return typ
    fixed = _fixed(attrs)
    return typ if fixed is None else TupleType([_as_item(item) for item in fixed], proper)


def _with_uniform(typ: Instance, attrs: dict[str, Type]) -> Instance:
    return _with_items(typ.type, {_ITEM: _each_item(attrs)})


def _entry(name: str, ctx: AttributeContext) -> Type:
    """``self.transformer.wte`` on a ``ModuleDict`` (or a named item of a ``Sequential``) the plugin knows:
    the entry's type; ``Any`` for a name it does not know."""
    if ctx.is_lvalue:
        return ctx.default_attr_type
    attrs = _items_of(ctx.type)
    if attrs is None:  # an attribute nn.Module does not declare, of a module the plugin typed: Any, as before
        return _any() if _inferred(ctx.type) else ctx.default_attr_type
    return attrs.get(_ENTRY + name, _any())


def container_method_hook(
    fullname: str, method_hook: Callable[[str], Callable[[MethodContext], Type] | None]
) -> Callable[[MethodContext], Type] | None:
    """The hook for a method of a container: iterating and indexing; calling a ``Sequential``, whose items'
    calls are found with ``method_hook`` (the checker's, which gives the rule or the checked call of
    ``<item class>.__call__``)."""
    owner, _, method = fullname.rpartition(".")
    if owner not in _CONTAINERS:
        return None
    if method == "__call__" and owner == SEQUENTIAL_FULLNAME:
        return partial(_call_sequential, method_hook)
    if method == "__iter__" and owner in _LISTS:
        return _iterate
    if method == "__getitem__":
        return _index_dict if owner == MODULE_DICT_FULLNAME else _index_list
    return None


def _iterate(ctx: MethodContext) -> Type:
    attrs = _items_of(ctx.type)
    default = get_proper_type(ctx.default_return_type)
    if attrs is None or not isinstance(default, Instance) or len(default.args) != 1:
        return ctx.default_return_type
    return default.copy_modified(args=[_each_item(attrs)])


def _index_list(ctx: MethodContext) -> Type:
    attrs = _items_of(ctx.type)
    receiver = get_proper_type(ctx.type)
    if attrs is None or not isinstance(receiver, Instance) or len(ctx.args) != 1 or len(ctx.args[0]) != 1:
        return ctx.default_return_type
    index = ctx.args[0][0]
    fixed = _fixed(attrs)
    if isinstance(index, SliceExpr):
        start = None if index.begin_index is None else int_literal(index.begin_index)
        stop = None if index.end_index is None else int_literal(index.end_index)
        literal = (start is None) == (index.begin_index is None) and (stop is None) == (index.end_index is None)
        if fixed is not None and index.stride is None and literal:
            items = [get_proper_type(item) for item in fixed[start:stop]]
            return _with_items(receiver.type, {_ITEMS: _tuple(items, ctx.api)})
        return _with_uniform(receiver, attrs)
    position = int_literal(index)
    if fixed is not None and position is not None and -len(fixed) <= position < len(fixed):
        return _as_item(fixed[position])
    index_type = get_proper_type(ctx.arg_types[0][0]) if ctx.arg_types and ctx.arg_types[0] else None
    if isinstance(index_type, Instance) and index_type.type.fullname == "builtins.slice":
        return _with_uniform(receiver, attrs)
    return _each_item(attrs)


def _index_dict(ctx: MethodContext) -> Type:
    attrs = _items_of(ctx.type)
    if attrs is None or len(ctx.args) != 1 or len(ctx.args[0]) != 1:
        return ctx.default_return_type
    key = ctx.args[0][0]
    if isinstance(key, StrExpr):
        return attrs.get(_ENTRY + key.value, _any())
    key_type = get_proper_type(ctx.arg_types[0][0]) if ctx.arg_types and ctx.arg_types[0] else None
    if isinstance(key_type, Instance) and key_type.last_known_value is not None:
        key_type = key_type.last_known_value
    if isinstance(key_type, LiteralType) and isinstance(key_type.value, str):
        return attrs.get(_ENTRY + key_type.value, _any())
    return _any()


# ---------------------------------------------------------------------------------------------------------------
# Calling a Sequential: each item called on the previous result.


class _ItemMessages:
    """The checker's API, naming the item in the messages of its call: ``"forward" of "Block" (item 2 of "net")``."""

    def __init__(self, api: Any, where: str, construction: CallExpr | None = None) -> None:
        self._api = api
        self._where = where
        self.construction = construction  # the call that built the item: rules of layers read their arguments

    def fail(self, msg: str, context: Any, *, code: Any = None) -> Any:
        named = msg.replace(" has incompatible ", f" ({self._where}) has incompatible ", 1)
        return self._api.fail(named, context, code=code)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._api, name)


def _call_sequential(method_hook: Callable[[str], Callable[[MethodContext], Type] | None], ctx: MethodContext) -> Type:
    attrs = _items_of(ctx.type)
    fixed = None if attrs is None else _fixed(attrs)
    # one positional argument (mypy groups the arguments by the formals of __call__: *args, **kwargs)
    if fixed is None or sum(map(len, ctx.arg_types)) != 1 or not ctx.arg_kinds or ctx.arg_kinds[0] != [ARG_POS]:
        return ctx.default_return_type
    label = _label(ctx.context)
    current: Type = ctx.arg_types[0][0]
    built = _item_constructions(ctx, len(fixed))
    for index, item in enumerate(fixed):
        where = f'item {index} of "{label}"'
        current = _call_item(method_hook, item, current, ctx, where, built[index])
    view = tensor_view(current)
    return current if view is not None and view.known else ctx.default_return_type


def _item_constructions(ctx: MethodContext, count: int) -> list[CallExpr | None]:
    """The calls that built each item of the ``nn.Sequential`` called (``self.net(x)``), when its construction
    lists them: rules of layers built with arguments (``Rearrange("b c h w -> b (h w) c")``) read them."""
    context = ctx.context
    callee = context.callee if isinstance(context, CallExpr) else None
    found: list[CallExpr | None] = [None] * count
    if not isinstance(callee, MemberExpr):
        return found
    owner = get_proper_type(ctx.api.get_expression_type(callee.expr))
    built = constructor_call(owner.type, callee.name) if isinstance(owner, Instance) else None
    if built is None or any(kind != ARG_POS for kind in built.arg_kinds) or len(built.args) != count:
        return found
    return [arg if isinstance(arg, CallExpr) else None for arg in built.args]


def _label(context: Any) -> str:
    callee = context.callee if isinstance(context, CallExpr) else None
    return callee.name if isinstance(callee, (NameExpr, MemberExpr)) else "Sequential"


def _call_item(
    method_hook: Callable[[str], Callable[[MethodContext], Type] | None],
    item: Type,
    source: Type,
    ctx: MethodContext,
    where: str,
    built: CallExpr | None = None,
) -> Type:
    proper = get_proper_type(item)
    if not isinstance(proper, Instance):
        return _any()
    declared = _declared_return(proper.type)
    hook = method_hook(f"{proper.type.fullname}.__call__")
    if hook is None:
        return declared
    call = ctx._replace(
        type=proper,
        arg_types=[[source]],
        arg_kinds=[[ARG_POS]],
        callee_arg_names=[None],
        arg_names=[[None]],
        args=[[TempNode(source, context=ctx.context)]],  # the previous item's result, as an expression
        default_return_type=declared,
        api=cast(CheckerPluginInterface, _ItemMessages(ctx.api, where, built)),
    )
    return hook(call)


def _declared_return(info: TypeInfo) -> Type:
    """What calling a module of class ``info`` returns, as its ``forward`` declares (``Any`` if it does not)."""
    owner = next((base for base in info.mro if "forward" in base.names), None)
    signature = None if owner is None else signature_of(owner.names["forward"].node)
    if signature is None or has_type_vars(signature.ret_type):
        return _any()
    return signature.ret_type


# ---------------------------------------------------------------------------------------------------------------
# zip(self.a, self.b) and enumerate(self.h): mypy infers their items from the declared __iter__, not its hook.


def container_function_hook(fullname: str) -> Callable[[FunctionContext], Type] | None:
    if fullname == "builtins.zip":
        return _zip
    if fullname == "builtins.enumerate":
        return _enumerate
    return None


def _zip(ctx: FunctionContext) -> Type:
    default = get_proper_type(ctx.default_return_type)
    if not isinstance(default, Instance) or len(default.args) != 1:
        return ctx.default_return_type
    items = get_proper_type(default.args[0])
    if not isinstance(items, TupleType) or len(items.items) > len(ctx.arg_types):
        return ctx.default_return_type
    changed = list(items.items)
    for index in range(len(changed)):
        item = _iterated(ctx, index)
        if item is not None:
            changed[index] = item
    if changed == items.items:
        return ctx.default_return_type
    return default.copy_modified(args=[items.copy_modified(items=changed)])


def _enumerate(ctx: FunctionContext) -> Type:
    default = get_proper_type(ctx.default_return_type)
    item = _iterated(ctx, 0)
    if item is None or not isinstance(default, Instance) or len(default.args) != 1:
        return ctx.default_return_type
    return default.copy_modified(args=[item])


def _iterated(ctx: FunctionContext, index: int) -> Type | None:
    """The item of a ``ModuleList`` or ``Sequential`` the plugin knows, passed as positional argument ``index``."""
    if index >= len(ctx.arg_types) or len(ctx.arg_types[index]) != 1 or ctx.arg_kinds[index] != [ARG_POS]:
        return None
    typ = get_proper_type(ctx.arg_types[index][0])
    attrs = _items_of(typ)
    if attrs is None or not isinstance(typ, Instance) or typ.type.fullname not in _LISTS:
        return None
    return _each_item(attrs)
