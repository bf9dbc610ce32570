"""Module attributes that mypy leaves unknown, typed from what the class's methods assign to them.

Most model code leaves ``__init__`` unannotated. mypy does not check such a body (unless ``check_untyped_defs``)
and every attribute it assigns is ``Any`` (``TypeOfAny.unannotated``), so ``self.proj(x)`` in a typed
``forward`` reaches no rule and no checked call. For an attribute of an ``nn.Module`` subclass that mypy left
so, the attribute hook reads the class's methods (``_class_bodies``): when every ``self.<name> = ...`` there is a
call of one ``nn.Module`` class (``nn.Linear(...)``, ``Block(config)``), the attribute has that class's type; a
container has its items (``_containers``); ``self.transformer.wte`` on an ``nn.ModuleDict`` is the entry's type.

Only the module being checked is read; an attribute of a class of another module keeps the type mypy gives it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from mypy.nodes import (
    ARG_POS,
    CallExpr,
    Expression,
    FloatExpr,
    IntExpr,
    ListExpr,
    MemberExpr,
    MypyFile,
    NameExpr,
    OpExpr,
    RefExpr,
    TupleExpr,
    TypeInfo,
    UnaryExpr,
    Var,
)
from mypy.plugin import AttributeContext
from mypy.types import (
    AnyType,
    FunctionLike,
    Instance,
    Type,
    TypeOfAny,
    get_proper_type,
)

from ._carrier import UNKNOWN_AXIS, build_tensor
from ._class_bodies import Assigned, class_body, module_class
from ._containers import CONTAINERS, ENTRY, any_type, built, container, inferred, items_of
from ._lookup import Lookup
from ._names import MODULE_FULLNAME, TENSOR_FULLNAME
from ._sizes import size_of
from ._tokens import render


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
_REFINED = frozenset({*CONTAINERS, _PARAMETER_FULLNAME})


# The Any an attribute has when untyped code made it: an unchecked __init__, or arithmetic on an unannotated
# parameter in a checked one (`self.scale = dim_head ** -0.5` with `def __init__(self, dim_head=64) -> None`).
_LEFT_BY_UNTYPED_CODE = frozenset({TypeOfAny.unannotated, TypeOfAny.from_another_any})


# Module attributes that a call goes through (``module(x)`` looks up ``__call__``): never made Any.
_CALLS = frozenset({"__call__", "forward"})


def _library_attribute(ctx: AttributeContext) -> Type:
    """An attribute a library declares (``Conv1d.bias``), on a module the plugin typed: ``Any``, as before.
    Methods keep their signatures (mypy asks this hook about them too)."""
    if ctx.is_lvalue or not inferred(ctx.type) or isinstance(get_proper_type(ctx.default_attr_type), FunctionLike):
        return ctx.default_attr_type
    return any_type()


def _attribute(owner: str, name: str, ctx: AttributeContext) -> Type:
    """``self.name`` with the type its assignments give it, where mypy left it ``Any``; a container inferred by
    mypy gets its items."""
    default = ctx.default_attr_type
    if ctx.is_lvalue:
        return default
    if inferred(ctx.type):
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
        return any_type()
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
    found = [a for a in (class_body(info).assigned.get(name) for info in chain) if a is not None]
    return _assigned_type(found, api) if found else None


def _assigned_type(records: list[Assigned], api: Any) -> Type | None:
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
    classes = {module_class(value) for value in values}
    if not values or len(classes) != 1:
        return None  # no assignment read, one that is not a module call, or two classes: unknown
    info = classes.pop()
    if info is None:
        return None
    if info.fullname not in CONTAINERS:
        return built(info)
    if len(values) != 1 or any(record.reshaped for record in records):
        return None
    added = [item for record in records for item in record.added]
    call = values[0]
    assert isinstance(call, CallExpr)
    return container(info, call, added, api)


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
    untyped = any_type()
    tokens = [render(UNKNOWN_AXIS, size_of(size, untyped, lambda _: untyped)) for size in sizes]
    tensor = next((base for base in info.mro if base.fullname == TENSOR_FULLNAME), None)
    if tensor is None:
        return None
    str_type = api.named_generic_type("builtins.str", [])
    # typed as the tensor it is: the axes ride on a `Tensor` (a subclass's instance is read through its base)
    return build_tensor(tensor, str_type, " ".join(tokens), None, None, keyed=False)


def _entry(name: str, ctx: AttributeContext) -> Type:
    """``self.transformer.wte`` on a ``ModuleDict`` (or a named item of a ``Sequential``) the plugin knows:
    the entry's type; ``Any`` for a name it does not know."""
    if ctx.is_lvalue:
        return ctx.default_attr_type
    attrs = items_of(ctx.type)
    if attrs is None:  # an attribute nn.Module does not declare, of a module the plugin typed: Any, as before
        return any_type() if inferred(ctx.type) else ctx.default_attr_type
    return attrs.get(ENTRY + name, any_type())
