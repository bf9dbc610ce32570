"""Checked calls: functions, methods (on an instance or through the class) and ``module(x)`` routed to ``forward``.

A two-step protocol with mypy: the signature hook relaxes every neural-typed parameter to a tensor of unknown
neural type (so that mypy's own nominal check does not report the tensors a second time, in its words), and
the return hook checks the arguments with neural-type rules and types the result with the call's sizes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import Enum
from typing import NamedTuple

from mypy.errorcodes import ErrorCode
from mypy.nodes import Decorator, FuncDef, SymbolNode, TypeInfo
from mypy.plugin import FunctionContext, FunctionSigContext, MethodContext, MethodSigContext
from mypy.types import (
    AnyType,
    CallableType,
    FunctionLike,
    Instance,
    Type,
    TypeType,
    UnionType,
    get_proper_type,
    has_type_vars,
)

from ._arguments import assigned_type
from ._carrier import TensorView, build_tensor, tensor_view, unknown_tensor
from ._codes import ARGUMENT, SIZE
from ._matching import CallBindings, Mismatch, check_argument, substitute
from ._messages import argument_mismatch, size_clash
from ._names import MODULE_FULLNAME


class CallTarget(NamedTuple):
    """A callable whose parameters carry neural types, read once per signature.

    Attributes:
        name: how messages name it: ``"forward" of "Encoder"``.
        signature: its signature, without ``self``.
        parameters: each parameter's neural type; None where it has none.
        relaxed: the signature with each neural-typed parameter a tensor of unknown neural type.
        result: the neural type of the result, when it is a tensor (not an Optional one); None otherwise.
        through_class: the target of an instance method called through its class (``Encoder.forward(e, x)``),
            whose first argument is ``self``; None where such a call binds as an instance's call does (functions,
            static and class methods).
    """

    name: str
    signature: CallableType
    parameters: tuple[TensorView | None, ...]
    relaxed: CallableType
    result: TensorView | None
    through_class: CallTarget | None = None


# Call targets by signature: ``id(signature) -> (signature, target)``. mypy's types are immutable, so a changed
# definition (under the daemon) is a new signature object; holding the signature keeps its id from being reused.
TargetMemo = dict[int, tuple[CallableType, "CallTarget | None"]]
_MEMO_LIMIT = 65536


def function_target(node: SymbolNode | None, memo: TargetMemo) -> CallTarget | None:
    signature = signature_of(node)
    if node is None or signature is None:
        return None
    return _memoized(memo, signature, f'"{node.name}"', _Binding.NOTHING)


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
    return _memoized(memo, signature, f'"{method}" of "{owner.name}"', _binding(node))


class _Binding(Enum):
    """What a call on an instance binds to a method's first parameter, and a call through its class."""

    NOTHING = "a function or static method: neither call binds a parameter"
    CLASS = "a class method: both calls bind cls"
    INSTANCE = "an instance method: a call on an instance binds self, a call through the class binds nothing"


def _binding(node: SymbolNode | None) -> _Binding:
    function = node.func if isinstance(node, Decorator) else node
    if isinstance(function, FuncDef) and function.is_static:
        return _Binding.NOTHING
    if isinstance(function, FuncDef) and function.is_class:
        return _Binding.CLASS
    return _Binding.INSTANCE


def _memoized(memo: TargetMemo, signature: CallableType, name: str, binding: _Binding) -> CallTarget | None:
    cached = memo.get(id(signature))
    if cached is not None and cached[0] is signature:
        return cached[1]
    if len(memo) >= _MEMO_LIMIT:
        memo.clear()  # a long daemon session: forget the definitions of earlier edits
    target = _target(name, signature, binding)
    memo[id(signature)] = (signature, target)
    return target


def _target(name: str, signature: CallableType, binding: _Binding) -> CallTarget | None:
    parameters = tuple(neural(arg) for arg in signature.arg_types)
    if all(view is None for view in parameters):
        return None
    if binding is _Binding.NOTHING:
        return _call_target(name, signature, parameters)
    bound = signature.copy_modified(
        arg_types=signature.arg_types[1:], arg_kinds=signature.arg_kinds[1:], arg_names=signature.arg_names[1:]
    )
    target = _call_target(name, bound, parameters[1:])
    if binding is _Binding.INSTANCE:
        target = target._replace(through_class=_call_target(name, signature, parameters))
    return target


def _call_target(name: str, signature: CallableType, parameters: tuple[TensorView | None, ...]) -> CallTarget:
    """The target of a call that binds none of the signature's parameters."""
    relaxed = signature.copy_modified(arg_types=[_relax(arg) for arg in signature.arg_types])
    # The result is typed with the call's sizes when it is a tensor; an Optional one keeps its declared type.
    result = neural(signature.ret_type) if isinstance(get_proper_type(signature.ret_type), Instance) else None
    return CallTarget(name, signature, parameters, relaxed, result)


def as_called_on(target: CallTarget, receiver: Type) -> CallTarget:
    """The target as a call on ``receiver`` binds it: through a class object, an instance method's ``self`` is
    an ordinary argument (``Encoder.forward(encoder, x)``, ``Encoder.__call__(encoder, x)``)."""
    if target.through_class is not None and _is_class_object(receiver):
        return target.through_class
    return target


def _is_class_object(typ: Type) -> bool:
    """Whether ``typ`` is a class object: ``Encoder`` itself, or a value of type ``type[Encoder]``."""
    proper = get_proper_type(typ)
    return isinstance(proper, TypeType) or (isinstance(proper, FunctionLike) and proper.is_type_obj())


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
    return as_called_on(target, ctx.type).relaxed


def check_function_call(target: CallTarget, ctx: FunctionContext) -> Type:
    return check_call(target, _argument_types(ctx), ctx.default_return_type, ctx)


def check_method_call(target: CallTarget, ctx: MethodContext) -> Type:
    return check_call(as_called_on(target, ctx.type), _argument_types(ctx), ctx.default_return_type, ctx)


def _argument_types(ctx: FunctionContext | MethodContext) -> list[list[Type]]:
    """The arguments' types, with the axes mypy's narrowing dropped restored and stale ones left unknown."""
    return [
        [assigned_type(expression, typ, ctx.api) for expression, typ in zip(expressions, types, strict=False)]
        for expressions, types in zip(ctx.args, ctx.arg_types, strict=False)
    ]


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
                message, code = _message(target, name, declared, found, mismatch)
                ctx.api.fail(message, ctx.context, code=code)
                return default_return
    return _result(target.result, default_return, bindings, ctx)


def _message(
    target: CallTarget, name: str, declared: TensorView, found: TensorView, mismatch: Mismatch
) -> tuple[str, ErrorCode]:
    """The message of an argument that does not fit, and its code: a size clash with an earlier argument, or a
    neural type that does not fit the parameter."""
    if mismatch.axis is not None and mismatch.first is not None and mismatch.second is not None:
        clash = size_clash(
            target.name,
            name,
            mismatch.axis,
            " ".join(mismatch.second.tokens),
            mismatch.first.argument,
            " ".join(mismatch.first.tokens),
        )
        return clash, SIZE
    return argument_mismatch(target.name, name, declared, found, mismatch.why), ARGUMENT


def _result(
    view: TensorView | None, default_return: Type, bindings: CallBindings, ctx: FunctionContext | MethodContext
) -> Type:
    if view is None:
        return default_return
    spelling = view.axes if view.axes is None or not bindings else substitute(view.axes, bindings)
    str_type = ctx.api.named_generic_type("builtins.str", [])
    # The result is the plugin's reading of the callee's declaration with the caller's axes: its uses are checked
    # by the plugin, and mypy's own checks (a return, an assignment) do not compare it, as they would not compare
    # `Any` (`if self.head is None: return x` in a forward declared to return the head's logits).
    return build_tensor(
        view.info, str_type, spelling, view.element, view.dtype, keyed=False, element_keyed=False, declared=True
    )


def forward_result(info: TypeInfo) -> Callable[[MethodContext], Type] | None:
    """``module(x)`` on a module whose ``forward`` is annotated but takes no neural types: its declared result.

    torch types ``Module.__call__`` as returning ``Any``; the annotated ``forward`` says more (``-> Tensor``), and
    a variable rebound to ``Any`` would become ``Any`` where the code has a tensor.
    """
    owner = next((base for base in info.mro if "forward" in base.names), None)
    if owner is None or owner.fullname.startswith("torch."):
        return None
    signature = signature_of(owner.names["forward"].node)
    if signature is None or signature.implicit or has_type_vars(signature.ret_type):
        return None
    declared = signature.ret_type
    return lambda ctx: (
        declared if isinstance(get_proper_type(ctx.default_return_type), AnyType) else ctx.default_return_type
    )
