"""Operations typed by rules: finding the rule for a hooked name, and applying it to one call."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from mypy.nodes import (
    CallExpr,
    Expression,
    IntExpr,
    ListExpr,
    MemberExpr,
    NameExpr,
    OpExpr,
    StrExpr,
    TempNode,
    TupleExpr,
    TypeInfo,
    UnaryExpr,
)
from mypy.plugin import AttributeContext, CheckerPluginInterface, FunctionContext, MethodContext
from mypy.types import AnyType, Instance, TupleType, Type, TypeOfAny, get_proper_type

from ._arguments import Arguments, assigned_type, receiver_expression
from ._branches import check_branch
from ._carrier import TensorView, build_tensor, tensor_view, unknown_tensor
from ._class_bodies import constructor_call
from ._codes import OPERATION
from ._function_sizes import SizeAliases
from ._lookup import Lookup
from ._names import TENSOR_FULLNAME
from ._returns import check_returned
from ._rules import Rule
from ._sizes import size_int
from ._transforms import ArgumentValue, Call, Ints, Pieces, Result, Violation
from ._vocabulary import apply

TypeChecker = CheckerPluginInterface


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


def function_result(rule: Rule, lookup: Lookup, ctx: FunctionContext, aliases: SizeAliases | None = None) -> Type:
    return _result(rule, lookup, ctx, _first_argument(ctx), _item_types(ctx), aliases)


def function_result_of(lookup: Lookup, aliases: SizeAliases | None, rule: Rule, ctx: FunctionContext) -> Type:
    """``function_result`` with the rule second: the form ``map(lambda t: op(t), items)`` applies it in."""
    return function_result(rule, lookup, ctx, aliases)


def method_result(rule: Rule, lookup: Lookup, ctx: MethodContext, aliases: SizeAliases | None = None) -> Type:
    source: Type | None
    method = rule.target.rpartition(".")[2]
    if rule.is_method:
        receiver = receiver_expression(ctx.context, method)
        source = ctx.type if receiver is None else assigned_type(receiver, ctx.type, ctx.api)
    else:
        source = _first_argument(ctx)
    return _result(rule, lookup, ctx, source, None if rule.is_method else _item_types(ctx), aliases)


def attribute_result(rule: Rule, lookup: Lookup, ctx: AttributeContext) -> Type:
    view = tensor_view(ctx.type)
    if view is None or not view.known:
        return ctx.default_attr_type
    call = Call(view, (view,), lambda name: name if isinstance(name, int) else None, _element(rule, lookup))
    try:
        result = apply(rule, call)
    except Violation as violation:
        ctx.api.fail(str(violation), ctx.context, code=OPERATION)
        return ctx.default_attr_type
    return _typed(result, ctx.default_attr_type, ctx.api)


def _first_argument(ctx: FunctionContext | MethodContext) -> Type | None:
    if not ctx.arg_types or not ctx.arg_types[0]:
        return None
    return assigned_type(ctx.args[0][0], ctx.arg_types[0][0], ctx.api)


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
    aliases: SizeAliases | None = None,
) -> Type:
    if rule.transform == "Einsum":
        actuals = [t for ts in ctx.arg_types for t in ts][1:]
        source = next((t for t in actuals if tensor_view(t) is not None), None)
    sources = _tensors_in(source) if items is None else [v for v in map(tensor_view, items) if v is not None]
    fallback = _fallback(rule, lookup, ctx.default_return_type)
    if rule.transform in _FACTORIES:  # torch.zeros(B, T): no tensor goes in
        tensor = lookup(TENSOR_FULLNAME)
        sources = [TensorView(tensor, None, None, None)] if isinstance(tensor, TypeInfo) else []
    if not sources:
        return fallback
    element = _element(rule, lookup)
    unknown = not any(view.known for view in sources) and element is None and rule.dtype is None
    if unknown and rule.transform not in _FACTORIES:
        return fallback
    skip = 0 if rule.is_method or rule.transform == "Einsum" or rule.transform in _FACTORIES else 1
    table = None if aliases is None else aliases.of(ctx.api)
    arguments = Arguments(
        _operands(ctx), ctx.arg_kinds, ctx.arg_names, ctx.arg_types, skip, ctx.api.get_expression_type, ctx.api, table
    )
    is_module = rule.target.endswith(".__call__")
    constructor = module_constructor(ctx) if is_module else None
    call = Call(sources[0], tuple(sources), _arguments(rule, ctx), element, arguments, is_module, constructor)
    try:
        result = apply(rule, call)
    except Violation as violation:
        ctx.api.fail(str(violation), ctx.context, code=OPERATION)
        return fallback
    typed = _typed(result, fallback, ctx.api)
    if items is None and result == sources[0] and isinstance(result, TensorView):
        proper = get_proper_type(source)
        if isinstance(proper, Instance) and proper.type is result.info:
            typed = proper  # the source's own type, unchanged (an element-wise operation): nothing to build
    if table is not None:
        check_returned(table, typed, ctx)
        check_branch(table, typed, ctx)
    return typed


# Transforms that make a tensor from sizes alone.
_FACTORIES = frozenset({"Arange", "Factory"})

# Transforms whose result is not one tensor (sizes, tuples of tensors).
_NOT_A_TENSOR = frozenset({"Sizes", "Split", "Chunk", "TopK", "Sort", "MultiheadAttention"})


def _fallback(rule: Rule, lookup: Lookup, default: Type) -> Type:
    """The result type when the rule cannot tell the neural type: mypy's, except that a tensor operation mypy
    types ``Any`` (a layer called through ``Module.__call__``, torch's unannotated ``Tensor.split``) gives a
    tensor of unknown neural type. Assigned ``Any``, a variable would keep its earlier, stale type."""
    if rule.transform in _NOT_A_TENSOR or not isinstance(get_proper_type(default), AnyType):
        return default
    tensor = lookup(TENSOR_FULLNAME)
    return unknown_tensor(tensor) if isinstance(tensor, TypeInfo) else default


def module_constructor(ctx: FunctionContext | MethodContext) -> CallExpr | None:
    """The call that built the module being called: ``self.glu(x)`` -> ``nn.GLU(dim=1)`` from ``__init__``; for an
    item of an ``nn.Sequential``, the item's own construction, which the chain hands over with the API."""
    construction = getattr(ctx.api, "construction", None)  # an item of an nn.Sequential (see _container_hooks)
    if isinstance(construction, CallExpr):
        return construction
    context = ctx.context
    callee = context.callee if isinstance(context, CallExpr) else None
    if not isinstance(callee, MemberExpr):
        return None
    owner = get_proper_type(ctx.api.get_expression_type(callee.expr))
    return constructor_call(owner.type, callee.name) if isinstance(owner, Instance) else None


def _operands(ctx: FunctionContext | MethodContext) -> list[list[Expression]]:
    """The argument expressions, with the operand an operator stands for where mypy passes a placeholder
    (``a @ b`` typed as ``b.__rmatmul__(<a>)``), so that its variable's assigned type can be read."""
    context = ctx.context
    if not isinstance(context, OpExpr):
        return ctx.args
    return [
        [(context.left if e is not context.left and e is not context.right else e) if isinstance(e, TempNode) else e
         for e in formal]
        for formal in ctx.args
    ]  # fmt: skip


def _typed(result: Result, default: Type, api: TypeChecker) -> Type:
    """The mypy type of a transform's result: a tensor, a tuple of tensors, an int or a tuple of ints."""
    if result is None:
        return default
    str_type = api.named_generic_type("builtins.str", [])
    if isinstance(result, TensorView):
        return _build(result, str_type)
    int_type = api.named_generic_type("builtins.int", [])
    if isinstance(result, Ints):
        ints: list[Type] = [int_type if size is None else size_int(int_type, str_type, size) for size in result.sizes]
        if result.single:
            return ints[0]
        return TupleType(ints, _tuple_fallback(default, api))
    if isinstance(result, Pieces):
        return api.named_generic_type("builtins.tuple", [_build(result.piece, str_type)])
    tensors = [default if view is None else _build(view, str_type) for view in result]
    return TupleType(tensors, _tuple_fallback(default, api))


def _tuple_fallback(default: Type, api: TypeChecker) -> Instance:
    proper = get_proper_type(default)
    if isinstance(proper, Instance) and proper.type.has_base("builtins.tuple"):
        return proper
    if isinstance(proper, TupleType):
        return proper.partial_fallback
    return api.named_generic_type("builtins.tuple", [AnyType(TypeOfAny.special_form)])


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
    return build_tensor(
        view.info, str_type, view.axes, view.element, view.dtype, keyed=False, normalized=view.normalized
    )


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
        if len(expressions) == 1 and not expression_kinds[0].is_star():
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
