"""Checked calls: functions, methods and ``module(x)`` routed to ``forward``.

A two-step protocol with mypy: the signature hook relaxes every neural-typed parameter to a tensor of unknown
neural type (so that mypy's own nominal check does not report the tensors a second time, in its words), and
the return hook checks the arguments with neural-type rules and types the result with the call's sizes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from mypy.nodes import Decorator, FuncDef, SymbolNode, TypeInfo
from mypy.plugin import FunctionContext, FunctionSigContext, MethodContext, MethodSigContext
from mypy.types import CallableType, Instance, Type, UnionType, get_proper_type

from ._carrier import TensorView, build_tensor, tensor_view, unknown_tensor
from ._matching import CallBindings, Mismatch, check_argument, substitute
from ._messages import NEURAL_TYPE, argument_mismatch, size_clash
from ._names import MODULE_FULLNAME


class CallTarget(NamedTuple):
    """A callable whose parameters carry neural types, read once per signature.

    Attributes:
        name: how messages name it: ``"forward" of "Encoder"``.
        signature: its signature, without ``self``.
        parameters: each parameter's neural type; None where it has none.
        relaxed: the signature with each neural-typed parameter a tensor of unknown neural type.
        result: the neural type of the result, when it is a tensor (not an Optional one); None otherwise.
    """

    name: str
    signature: CallableType
    parameters: tuple[TensorView | None, ...]
    relaxed: CallableType
    result: TensorView | None


# Call targets by signature: ``id(signature) -> (signature, target)``. mypy's types are immutable, so a changed
# definition (under the daemon) is a new signature object; holding the signature keeps its id from being reused.
TargetMemo = dict[int, tuple[CallableType, "CallTarget | None"]]
_MEMO_LIMIT = 65536


def function_target(node: SymbolNode | None, memo: TargetMemo) -> CallTarget | None:
    signature = signature_of(node)
    if node is None or signature is None:
        return None
    return _memoized(memo, signature, f'"{node.name}"', drop_self=False)


def method_target(info: TypeInfo, method: str, memo: TargetMemo) -> CallTarget | None:
    """The target of ``obj.method(...)``; for ``module(...)`` on an ``nn.Module``, its ``forward``."""
    if method == "__call__" and info.has_base(MODULE_FULLNAME):
        method = "forward"
    owner = next((base for base in info.mro if method in base.names), None)
    if owner is None:
        return None
    node = owner.names[method].node
    signature = signature_of(node)
    if signature is None or not signature.arg_types:
        return None
    return _memoized(memo, signature, f'"{method}" of "{owner.name}"', drop_self=not _is_static(node))


def _memoized(memo: TargetMemo, signature: CallableType, name: str, drop_self: bool) -> CallTarget | None:
    cached = memo.get(id(signature))
    if cached is not None and cached[0] is signature:
        return cached[1]
    if len(memo) >= _MEMO_LIMIT:
        memo.clear()  # a long daemon session: forget the definitions of earlier edits
    target = _target(name, signature, drop_self)
    memo[id(signature)] = (signature, target)
    return target


def _target(name: str, signature: CallableType, drop_self: bool) -> CallTarget | None:
    parameters = tuple(neural(arg) for arg in signature.arg_types)
    if all(view is None for view in parameters):
        return None
    if drop_self:
        parameters = parameters[1:]
        signature = signature.copy_modified(
            arg_types=signature.arg_types[1:], arg_kinds=signature.arg_kinds[1:], arg_names=signature.arg_names[1:]
        )
    relaxed = signature.copy_modified(arg_types=[_relax(arg) for arg in signature.arg_types])
    # The result is typed with the call's sizes when it is a tensor; an Optional one keeps its declared type.
    result = neural(signature.ret_type) if isinstance(get_proper_type(signature.ret_type), Instance) else None
    return CallTarget(name, signature, parameters, relaxed, result)


def _is_static(node: SymbolNode | None) -> bool:
    function = node.func if isinstance(node, Decorator) else node
    return isinstance(function, FuncDef) and function.is_static


def signature_of(node: SymbolNode | None) -> CallableType | None:
    if isinstance(node, Decorator):
        decorated = get_proper_type(node.var.type)
        if isinstance(decorated, CallableType):
            return decorated
        node = node.func
    if isinstance(node, FuncDef):
        declared = get_proper_type(node.type)
        if isinstance(declared, CallableType):
            return declared
    return None


def neural(typ: Type) -> TensorView | None:
    view = tensor_view(typ)
    return view if view is not None and view.known else None


def _relax(typ: Type) -> Type:
    """A neural-typed tensor parameter made a tensor of unknown neural type: the signature hook gives mypy this,
    so that its own nominal check does not report the tensors a second time, in its words."""
    view = neural(typ)
    if view is None:
        return typ
    proper = get_proper_type(typ)
    if isinstance(proper, UnionType):
        return UnionType.make_union([_relax(item) for item in proper.items], proper.line, proper.column)
    return unknown_tensor(view.info)


def relax_function(target: CallTarget, ctx: FunctionSigContext) -> CallableType:
    return target.relaxed


def relax_method(target: CallTarget, ctx: MethodSigContext) -> CallableType:
    return target.relaxed


def check_function_call(target: CallTarget, ctx: FunctionContext) -> Type:
    return check_call(target, ctx.arg_types, ctx.default_return_type, ctx)


def check_method_call(target: CallTarget, ctx: MethodContext) -> Type:
    return check_call(target, ctx.arg_types, ctx.default_return_type, ctx)


def check_call(
    target: CallTarget,
    arg_types: Sequence[Sequence[Type]],
    default_return: Type,
    ctx: FunctionContext | MethodContext,
) -> Type:
    """Report arguments whose neural types do not fit; return the result type with the call's sizes."""
    bindings = CallBindings()
    signature = target.signature
    for index, (declared, actuals) in enumerate(zip(target.parameters, arg_types, strict=False)):
        if declared is None:
            continue
        name = signature.arg_names[index] or str(index + 1)
        for actual in actuals:
            found = tensor_view(actual)
            if found is None or not found.known:
                continue
            mismatch = check_argument(name, declared, found, bindings)
            if mismatch is not None:
                ctx.api.fail(_message(target, name, declared, found, mismatch), ctx.context, code=NEURAL_TYPE)
                return default_return
    return _result(target.result, default_return, bindings, ctx)


def _message(target: CallTarget, name: str, declared: TensorView, found: TensorView, mismatch: Mismatch) -> str:
    if mismatch.axis is not None and mismatch.first is not None and mismatch.second is not None:
        return size_clash(
            target.name,
            name,
            mismatch.axis,
            " ".join(mismatch.second.tokens),
            mismatch.first.argument,
            " ".join(mismatch.first.tokens),
        )
    return argument_mismatch(target.name, name, declared, found, mismatch.why)


def _result(
    view: TensorView | None, default_return: Type, bindings: CallBindings, ctx: FunctionContext | MethodContext
) -> Type:
    if view is None or view.axes is None or not bindings.bound:
        return default_return
    spelling = substitute(view.axes, bindings)
    str_type = ctx.api.named_generic_type("builtins.str", [])
    return build_tensor(view.info, str_type, spelling, view.element, view.dtype)
