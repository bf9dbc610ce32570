"""Using the containers the plugin typed: iterating, indexing, calling a ``Sequential``, ``zip`` and ``enumerate``.

``self.net(x)`` on an ``nn.Sequential`` chains its items' calls; iterating or indexing a ``ModuleList`` gives
the item's type, ``self.transformer["wte"]`` on an ``nn.ModuleDict`` the entry's type (see ``_containers``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, cast

from mypy.nodes import (
    ARG_POS,
    CallExpr,
    MemberExpr,
    NameExpr,
    SliceExpr,
    StrExpr,
    TempNode,
    TypeInfo,
)
from mypy.plugin import CheckerPluginInterface, FunctionContext, MethodContext
from mypy.types import (
    Instance,
    LiteralType,
    TupleType,
    Type,
    get_proper_type,
    has_type_vars,
)

from ._calls import signature_of
from ._carrier import tensor_view
from ._class_bodies import constructor_call
from ._containers import (
    CONTAINERS,
    ENTRY,
    ITEM,
    ITEMS,
    LISTS,
    MODULE_DICT_FULLNAME,
    SEQUENTIAL_FULLNAME,
    any_type,
    as_item,
    each_item,
    fixed_items,
    items_of,
    tuple_of,
    with_items,
)
from ._messages import naming_the_item, sequential_item
from ._sizes import int_literal


def container_method_hook(
    fullname: str, method_hook: Callable[[str], Callable[[MethodContext], Type] | None]
) -> Callable[[MethodContext], Type] | None:
    """The hook for a method of a container: iterating and indexing; calling a ``Sequential``, whose items'
    calls are found with ``method_hook`` (the checker's, which gives the rule or the checked call of
    ``<item class>.__call__``)."""
    owner, _, method = fullname.rpartition(".")
    if owner not in CONTAINERS:
        return None
    if method == "__call__" and owner == SEQUENTIAL_FULLNAME:
        return partial(_call_sequential, method_hook)
    if method == "__iter__" and owner in LISTS:
        return _iterate
    if method == "__getitem__":
        return _index_dict if owner == MODULE_DICT_FULLNAME else _index_list
    return None


def _iterate(ctx: MethodContext) -> Type:
    attrs = items_of(ctx.type)
    default = get_proper_type(ctx.default_return_type)
    if attrs is None or not isinstance(default, Instance) or len(default.args) != 1:
        return ctx.default_return_type
    return default.copy_modified(args=[each_item(attrs)])


def _index_list(ctx: MethodContext) -> Type:
    attrs = items_of(ctx.type)
    receiver = get_proper_type(ctx.type)
    if attrs is None or not isinstance(receiver, Instance) or len(ctx.args) != 1 or len(ctx.args[0]) != 1:
        return ctx.default_return_type
    index = ctx.args[0][0]
    fixed = fixed_items(attrs)
    if isinstance(index, SliceExpr):
        start = None if index.begin_index is None else int_literal(index.begin_index)
        stop = None if index.end_index is None else int_literal(index.end_index)
        literal = (start is None) == (index.begin_index is None) and (stop is None) == (index.end_index is None)
        if fixed is not None and index.stride is None and literal:
            items = [get_proper_type(item) for item in fixed[start:stop]]
            return with_items(receiver.type, {ITEMS: tuple_of(items, ctx.api)})
        return _with_uniform(receiver, attrs)
    position = int_literal(index)
    if fixed is not None and position is not None and -len(fixed) <= position < len(fixed):
        return as_item(fixed[position])
    index_type = get_proper_type(ctx.arg_types[0][0]) if ctx.arg_types and ctx.arg_types[0] else None
    if isinstance(index_type, Instance) and index_type.type.fullname == "builtins.slice":
        return _with_uniform(receiver, attrs)
    return each_item(attrs)


def _index_dict(ctx: MethodContext) -> Type:
    attrs = items_of(ctx.type)
    if attrs is None or len(ctx.args) != 1 or len(ctx.args[0]) != 1:
        return ctx.default_return_type
    key = ctx.args[0][0]
    if isinstance(key, StrExpr):
        return attrs.get(ENTRY + key.value, any_type())
    key_type = get_proper_type(ctx.arg_types[0][0]) if ctx.arg_types and ctx.arg_types[0] else None
    if isinstance(key_type, Instance) and key_type.last_known_value is not None:
        key_type = key_type.last_known_value
    if isinstance(key_type, LiteralType) and isinstance(key_type.value, str):
        return attrs.get(ENTRY + key_type.value, any_type())
    return any_type()


def _with_uniform(typ: Instance, attrs: dict[str, Type]) -> Instance:
    return with_items(typ.type, {ITEM: each_item(attrs)})


class _ItemMessages:
    """The checker's API, naming the item in the messages of its call: ``"forward" of "Block" (item 2 of "net")``."""

    def __init__(self, api: Any, where: str, construction: CallExpr | None = None) -> None:
        self._api = api
        self._where = where
        self.construction = construction  # the call that built the item: rules of layers read their arguments

    def fail(self, msg: str, context: Any, *, code: Any = None) -> Any:
        return self._api.fail(naming_the_item(msg, self._where), context, code=code)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._api, name)


def _call_sequential(method_hook: Callable[[str], Callable[[MethodContext], Type] | None], ctx: MethodContext) -> Type:
    attrs = items_of(ctx.type)
    fixed = None if attrs is None else fixed_items(attrs)
    # one positional argument (mypy groups the arguments by the formals of __call__: *args, **kwargs)
    if fixed is None or sum(map(len, ctx.arg_types)) != 1 or not ctx.arg_kinds or ctx.arg_kinds[0] != [ARG_POS]:
        return ctx.default_return_type
    label = _label(ctx.context)
    current: Type = ctx.arg_types[0][0]
    built = _item_constructions(ctx, len(fixed))
    for index, item in enumerate(fixed):
        where = sequential_item(index, label)
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
        return any_type()
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
        return any_type()
    return signature.ret_type


def container_function_hook(fullname: str) -> Callable[[FunctionContext], Type] | None:
    """The hook for ``zip(self.a, self.b)`` and ``enumerate(self.h)``: mypy infers their items from the declared
    ``__iter__`` of a container, not from its hook, so the items the plugin knows are put in here."""
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
    attrs = items_of(typ)
    if attrs is None or not isinstance(typ, Instance) or typ.type.fullname not in LISTS:
        return None
    return each_item(attrs)
