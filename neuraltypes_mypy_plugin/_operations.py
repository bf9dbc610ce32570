"""Operations typed by rules: finding the rule for a hooked name, and applying it to one call."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from mypy.nodes import (
    Expression,
    IntExpr,
    ListExpr,
    NameExpr,
    StrExpr,
    TupleExpr,
    TypeInfo,
    UnaryExpr,
)
from mypy.plugin import AttributeContext, FunctionContext, MethodContext
from mypy.types import Instance, TupleType, Type, get_proper_type

from ._carrier import TensorView, build_tensor, tensor_view
from ._lookup import Lookup
from ._rules import Rule
from ._transforms import ArgumentValue, Call, apply


class RuleIndex:
    """The rules by the names mypy asks about: a rule's public name (``torch.softmax``) is resolved to the
    name of what it refers to (``torch._C._VariableFunctions.softmax``) when the plugin is asked about it."""

    def __init__(self, rules: dict[str, Rule]) -> None:
        self._by_last_name: dict[str, list[Rule]] = {}
        for rule in rules.values():
            self._by_last_name.setdefault(rule.target.rpartition(".")[2], []).append(rule)

    def function_rule(self, fullname: str, lookup: Lookup) -> Rule | None:
        for rule in self._by_last_name.get(fullname.rpartition(".")[2], ()):
            if rule.is_method or rule.target.endswith(".__call__"):
                continue
            node = lookup(rule.target)
            if node is not None and node.fullname == fullname:
                return rule
        return None

    def member_rule(self, fullname: str, lookup: Lookup) -> Rule | None:
        """The rule for a method, attribute or module call on an instance of the class in ``fullname``."""
        owner_name, _, member = fullname.rpartition(".")
        candidates = self._by_last_name.get(member)
        owner = lookup(owner_name) if candidates else None
        if not isinstance(owner, TypeInfo):
            return None
        for rule in candidates or ():
            if _applies_to(rule, owner, lookup(rule.target.rpartition(".")[0])):
                return rule
        return None


def _applies_to(rule: Rule, owner: TypeInfo, rule_owner: object) -> bool:
    """A class's rule covers its subclasses; a module's ``__call__`` rule, only those that keep its forward."""
    if not isinstance(rule_owner, TypeInfo):
        return False
    if rule.is_attribute:  # mypy names an attribute after the class that declares it (torch's TensorBase)
        return owner.has_base(rule_owner.fullname) or rule_owner.has_base(owner.fullname)
    if not owner.has_base(rule_owner.fullname):
        return False
    return not rule.target.endswith(".__call__") or _forward_is_inherited_from(owner, rule_owner)


def _forward_is_inherited_from(owner: TypeInfo, base: TypeInfo) -> bool:
    for info in owner.mro:
        if info is base or info.fullname == base.fullname:
            return True
        if "forward" in info.names:
            return False
    return False


def function_result(rule: Rule, lookup: Lookup, ctx: FunctionContext) -> Type:
    return _result(rule, lookup, ctx, _first_argument(ctx.arg_types), _item_types(ctx))


def method_result(rule: Rule, lookup: Lookup, ctx: MethodContext) -> Type:
    source = ctx.type if rule.is_method else _first_argument(ctx.arg_types)
    return _result(rule, lookup, ctx, source, None if rule.is_method else _item_types(ctx))


def attribute_result(rule: Rule, lookup: Lookup, ctx: AttributeContext) -> Type:
    view = tensor_view(ctx.type)
    if view is None or not view.known:
        return ctx.default_attr_type
    call = Call(view, (view,), lambda name: name if isinstance(name, int) else None, _element(rule, lookup))
    result = apply(rule, call)
    return ctx.default_attr_type if result is None else _build(result, ctx.api.named_generic_type("builtins.str", []))


def _first_argument(arg_types: list[list[Type]]) -> Type | None:
    return arg_types[0][0] if arg_types and arg_types[0] else None


def _item_types(ctx: FunctionContext | MethodContext) -> list[Type] | None:
    """The types of the items of a literal list or tuple first argument (``torch.cat([a, b])``).

    mypy infers the list itself against torch's parameter type, ``list[Tensor]``, which forgets the items'
    neural types; their own types are asked for again here.
    """
    first = ctx.args[0] if ctx.args else []
    if len(first) != 1 or not isinstance(first[0], (ListExpr, TupleExpr)):
        return None
    return [ctx.api.get_expression_type(item) for item in first[0].items]


def _result(
    rule: Rule,
    lookup: Lookup,
    ctx: FunctionContext | MethodContext,
    source: Type | None,
    items: list[Type] | None,
) -> Type:
    sources = _tensors_in(source) if items is None else [v for v in map(tensor_view, items) if v is not None]
    if not sources or not any(view.known for view in sources):
        return ctx.default_return_type
    call = Call(sources[0], tuple(sources), _arguments(rule, ctx), _element(rule, lookup))
    result = apply(rule, call)
    if result is None:
        return ctx.default_return_type
    if items is None and result == sources[0]:
        proper = get_proper_type(source)
        if isinstance(proper, Instance) and proper.type is result.info:
            return proper  # the source's own type, unchanged (an element-wise operation): nothing to build
    return _build(result, ctx.api.named_generic_type("builtins.str", []))


def _tensors_in(source: Type | None) -> list[TensorView]:
    """The source tensor, or the tensors of a tuple or list of them (``torch.cat``)."""
    if source is None:
        return []
    view = tensor_view(source)
    if view is not None:
        return [view]
    proper = get_proper_type(source)
    items: Sequence[Type] = []
    if isinstance(proper, TupleType):
        items = proper.items
    elif isinstance(proper, Instance) and len(proper.args) == 1:
        items = [proper.args[0]]
    views = [tensor_view(item) for item in items]
    return [view for view in views if view is not None] if all(v is not None for v in views) else []


def _element(rule: Rule, lookup: Lookup) -> Instance | None:
    node = lookup(rule.element) if rule.element is not None else None
    return Instance(node, []) if isinstance(node, TypeInfo) else None


def _build(view: TensorView, str_type: Instance) -> Type:
    return build_tensor(view.info, str_type, view.axes, view.element, view.dtype)


def _arguments(rule: Rule, ctx: FunctionContext | MethodContext) -> Callable[[str | int], ArgumentValue]:
    """The call's literal arguments by parameter name (the callee's names, as torch spells them)."""
    names, args, kinds = ctx.callee_arg_names, ctx.args, ctx.arg_kinds

    def argument(name: str | int) -> ArgumentValue:
        if isinstance(name, int):
            return name
        if name not in names:
            return None
        index = names.index(name)
        expressions, expression_kinds = args[index], kinds[index]
        if not expressions:
            return None  # not passed: the operation's default (argmax without dim flattens: unknown)
        if not expression_kinds[0].is_star():
            return literal(expressions[0])
        values = [literal(expression) for expression in expressions]
        return tuple(v for v in values if isinstance(v, int)) if all(isinstance(v, int) for v in values) else None

    return argument


def literal(expression: Expression) -> ArgumentValue:
    """The value of a literal argument: ``1``, ``-1``, ``(0, 2, 1)``, ``"b t c -> b c t"``, ``True``."""
    if isinstance(expression, IntExpr):
        return expression.value
    if isinstance(expression, UnaryExpr) and expression.op == "-" and isinstance(expression.expr, IntExpr):
        return -expression.expr.value
    if isinstance(expression, StrExpr):
        return expression.value
    if isinstance(expression, NameExpr) and expression.fullname in ("builtins.True", "builtins.False"):
        return expression.fullname == "builtins.True"
    if isinstance(expression, (TupleExpr, ListExpr)):
        values = [literal(item) for item in expression.items]
        if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            return tuple(v for v in values if isinstance(v, int))
    return None
