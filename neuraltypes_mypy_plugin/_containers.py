"""What ``nn.Sequential``, ``nn.ModuleList`` and ``nn.ModuleDict`` hold, read from their constructor calls.

The type of ``self.h`` (``nn.ModuleList([Block(c) for _ in range(n)])``) carries, as extra attributes of the
instance (which mypy's subtype checks ignore), the types of its items: each item in order (a literal list), the
one type of all items (a comprehension, appends), or the entries by name (a ``ModuleDict``, an ``OrderedDict``
given to a ``Sequential``). The hooks that read them back are in ``_container_hooks``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from mypy.nodes import (
    ARG_NAMED,
    ARG_POS,
    CallExpr,
    DictExpr,
    Expression,
    ListExpr,
    RefExpr,
    StrExpr,
    TupleExpr,
    TypeInfo,
)
from mypy.types import (
    AnyType,
    ExtraAttrs,
    Instance,
    ProperType,
    TupleType,
    Type,
    TypeOfAny,
    get_proper_type,
)
from mypy.typevars import fill_typevars_with_any

from ._class_bodies import listed, module_class

SEQUENTIAL_FULLNAME = "torch.nn.modules.container.Sequential"


MODULE_LIST_FULLNAME = "torch.nn.modules.container.ModuleList"


MODULE_DICT_FULLNAME = "torch.nn.modules.container.ModuleDict"


CONTAINERS = frozenset({SEQUENTIAL_FULLNAME, MODULE_LIST_FULLNAME, MODULE_DICT_FULLNAME})


LISTS = frozenset({SEQUENTIAL_FULLNAME, MODULE_LIST_FULLNAME})


# Marks, as extra attributes of an instance type (mypy's subtype checks ignore them). An instance the plugin
# built from a constructor call: what it declares in other modules (torch's Conv1d.bias, Optional) reads as Any,
# as the whole attribute did before, so that typing the module adds no errors to the code that uses it.
_INFERRED = "__neural_inferred__"


# A container's items.
_MARK = "__neural_container__"  # present on every container whose items the plugin knows


ITEMS = "__neural_items__"  # a tuple type: each item, in order (a literal list of known length)


ITEM = "__neural_item__"  # the type of every item, their number unknown (a comprehension, appends)


ENTRY = "__neural_entry__."  # + a name: the entry of a ModuleDict, or a named item of a Sequential


_UNKNOWN = AnyType(TypeOfAny.special_form)


def any_type() -> AnyType:
    return AnyType(TypeOfAny.special_form)


def inferred(typ: Type) -> bool:
    """Whether ``typ`` is an instance the plugin built from a constructor call."""
    proper = get_proper_type(typ)
    return isinstance(proper, Instance) and proper.extra_attrs is not None and _INFERRED in proper.extra_attrs.attrs


def item_type(expression: Expression | None, api: Any) -> ProperType:
    """The type of a module built by ``expression`` (a container with its items); ``Any`` when unknown."""
    info = module_class(expression)
    if info is None:
        return any_type()
    if info.fullname in CONTAINERS:
        assert isinstance(expression, CallExpr)
        return container(info, expression, [], api) or any_type()
    return built(info)


def built(info: TypeInfo) -> ProperType:
    """An instance of ``info`` (type arguments ``Any``), marked as built by the plugin."""
    filled = fill_typevars_with_any(info)
    if not isinstance(filled, Instance):
        return any_type()
    return Instance(info, filled.args, extra_attrs=ExtraAttrs({_INFERRED: _UNKNOWN}, {_INFERRED}))


def container(info: TypeInfo, call: CallExpr, added: list[Expression | None], api: Any) -> Instance | None:
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
        items = listed(positional[0]) if len(positional) == 1 else None
        fixed = isinstance(positional[0], (ListExpr, TupleExpr))
    if items is None:
        return None
    if added:
        items, fixed = [*items, *added], False
    types = [item_type(item, api) for item in items]
    if fixed:
        return with_items(info, {ITEMS: tuple_of(types, api)}) if _some_known(types) else None
    uniform = _uniform(types)
    return None if uniform is None else with_items(info, {ITEM: uniform})


def _sequential(info: TypeInfo, args: list[Expression], api: Any) -> Instance | None:
    named = _ordered_dict_items(args[0]) if len(args) == 1 else None
    if named is not None:
        types = [item_type(value, api) for _, value in named]
        entries = {ENTRY + key: typ for (key, _), typ in zip(named, types, strict=True)}
        return with_items(info, {ITEMS: tuple_of(types, api), **entries}) if _some_known(types) else None
    types = [item_type(arg, api) for arg in args]  # nn.Sequential() is filled later (add_module): unknown
    return with_items(info, {ITEMS: tuple_of(types, api)}) if _some_known(types) else None


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
    types = {ENTRY + key: item_type(value, api) for key, value in entries}
    return with_items(info, types) if _some_known(types.values()) else None


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


def tuple_of(types: list[ProperType], api: Any) -> TupleType:
    return TupleType(list(types), api.named_generic_type("builtins.tuple", [any_type()]))


def with_items(info: TypeInfo, attrs: Mapping[str, Type]) -> Instance:
    extra = {_INFERRED: _UNKNOWN, _MARK: _UNKNOWN, **attrs}
    return Instance(info, [], extra_attrs=ExtraAttrs(extra, set(extra)))


def items_of(typ: Type) -> dict[str, Type] | None:
    """The plugin's record of a container's items, if ``typ`` is a container whose items it knows."""
    proper = get_proper_type(typ)
    if not isinstance(proper, Instance) or proper.extra_attrs is None or _MARK not in proper.extra_attrs.attrs:
        return None
    return proper.extra_attrs.attrs


def fixed_items(attrs: dict[str, Type]) -> list[Type] | None:
    items = get_proper_type(attrs.get(ITEMS))
    return list(items.items) if isinstance(items, TupleType) else None


def each_item(attrs: dict[str, Type]) -> Type:
    """The type of any one item: the same class for all, else ``Any``."""
    fixed = fixed_items(attrs)
    if fixed is None:
        return as_item(attrs.get(ITEM, any_type()))
    uniform = _uniform(fixed)
    return any_type() if uniform is None else as_item(uniform)


def as_item(typ: Type) -> Type:
    """An item as iterating or indexing gives it. An inner ``ModuleList`` of a literal list is a tuple of its
    items that is otherwise the ``ModuleList`` (its fallback), so that ``for attn, ff in self.layers`` types
    both names and ``layer.parameters()`` still works."""
    proper = get_proper_type(typ)
    attrs = items_of(proper)
    if attrs is None or not isinstance(proper, Instance) or proper.type.fullname != MODULE_LIST_FULLNAME:
        return typ
    fixed = fixed_items(attrs)
    return typ if fixed is None else TupleType([as_item(item) for item in fixed], proper)
