"""Checked calls: functions, methods and ``module(x)`` routed to ``forward``.

A two-step protocol with mypy: the signature hook relaxes every neural-typed parameter to a tensor of unknown
neural type (so that mypy's own nominal check does not report the tensors a second time, in its words), and
the return hook checks the arguments with neural-type rules and types the result with the call's sizes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mypy.nodes import Decorator, FuncDef, SymbolNode, TypeInfo
from mypy.plugin import FunctionContext, FunctionSigContext, MethodContext, MethodSigContext
from mypy.types import CallableType, Instance, Type, UnionType, get_proper_type

from ._carrier import TensorView, build_tensor, tensor_view, unknown_tensor
from ._matching import CallBindings, Mismatch, check_argument, substitute
from ._messages import NEURAL_TYPE, argument_mismatch, size_clash

MODULE_FULLNAME = "torch.nn.modules.module.Module"


@dataclass(frozen=True)
class CallTarget:
    """A callable whose parameters carry neural types: how to name it, and its signature without ``self``."""

    name: str
    signature: CallableType


def function_target(node: SymbolNode | None) -> CallTarget | None:
    signature = signature_of(node)
    if node is None or signature is None or not _has_neural_parameters(signature):
        return None
    return CallTarget(f'"{node.name}"', signature)


def method_target(info: TypeInfo, method: str) -> CallTarget | None:
    """The target of ``obj.method(...)``; for ``module(...)`` on an ``nn.Module``, its ``forward``."""
    if method == "__call__" and info.has_base(MODULE_FULLNAME):
        method = "forward"
    owner = next((base for base in info.mro if method in base.names), None)
    if owner is None:
        return None
    node = owner.names[method].node
    signature = signature_of(node)
    if signature is None or not signature.arg_types or not _has_neural_parameters(signature):
        return None
    if _is_static(node):
        return CallTarget(f'"{method}" of "{owner.name}"', signature)
    without_self = signature.copy_modified(
        arg_types=signature.arg_types[1:], arg_kinds=signature.arg_kinds[1:], arg_names=signature.arg_names[1:]
    )
    return CallTarget(f'"{method}" of "{owner.name}"', without_self)


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


def _has_neural_parameters(signature: CallableType) -> bool:
    return any(neural(arg) is not None for arg in signature.arg_types)


def neural(typ: Type) -> TensorView | None:
    view = tensor_view(typ)
    return view if view is not None and view.known else None


def relaxed_signature(target: CallTarget) -> CallableType:
    """The signature with each neural-typed tensor parameter made a tensor of unknown neural type."""
    return target.signature.copy_modified(arg_types=[_relax(arg) for arg in target.signature.arg_types])


def _relax(typ: Type) -> Type:
    view = neural(typ)
    if view is None:
        return typ
    proper = get_proper_type(typ)
    if isinstance(proper, UnionType):
        return UnionType.make_union([_relax(item) for item in proper.items], proper.line, proper.column)
    return unknown_tensor(view.info)


def relax_function(target: CallTarget, ctx: FunctionSigContext) -> CallableType:
    return relaxed_signature(target)


def relax_method(target: CallTarget, ctx: MethodSigContext) -> CallableType:
    return relaxed_signature(target)


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
    for index, (declared_type, actuals) in enumerate(zip(signature.arg_types, arg_types, strict=False)):
        declared = neural(declared_type)
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
    return _result(signature.ret_type, default_return, bindings, ctx)


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


def _result(declared: Type, default_return: Type, bindings: CallBindings, ctx: FunctionContext | MethodContext) -> Type:
    view = neural(declared)
    proper = get_proper_type(declared)
    if view is None or view.axes is None or not bindings.bound or not isinstance(proper, Instance):
        return default_return
    spelling = substitute(view.axes, bindings)
    str_type = ctx.api.named_generic_type("builtins.str", [])
    return build_tensor(view.info, str_type, spelling, view.element, view.dtype)
