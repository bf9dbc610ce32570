"""Overrides of ``forward``: a subclass must accept every input its parent accepts and return nothing more.

Run for each class defined with an ``nn.Module`` ancestor (mypy's base-class hook). mypy's own override
check sees kinds and element types only through the carrier's parameters; this one applies the neural-type
rules (sizes, dtypes, spellings of the same kinds) and says what narrows or widens.
"""

from __future__ import annotations

from mypy.nodes import Context, FuncBase, SymbolNode, TypeInfo
from mypy.plugin import ClassDefContext
from mypy.types import CallableType, Type, UnboundType

from ._calls import neural, signature_of
from ._codes import OVERRIDE
from ._matching import CallBindings, check_argument
from ._messages import narrowed_input, widened_output
from ._names import MODULE_FULLNAME


def is_module_class(node: SymbolNode | None) -> bool:
    return isinstance(node, TypeInfo) and node.has_base(MODULE_FULLNAME)


def check_forward_override(ctx: ClassDefContext) -> None:
    """Report each parameter of ``forward`` that narrows, and a return type that widens, the parent's."""
    info = ctx.cls.info
    own = info.names.get("forward")
    parent = next((base for base in info.mro[1:] if "forward" in base.names), None)
    if own is None or parent is None:
        return
    child_signature = _analyzed(ctx, signature_of(own.node))
    parent_signature = _analyzed(ctx, signature_of(parent.names["forward"].node))
    if child_signature is None or parent_signature is None:
        return
    where: Context = own.node if isinstance(own.node, FuncBase) else ctx.cls
    for message in _narrowed_inputs(child_signature, parent_signature, parent.name):
        ctx.api.fail(message, where, code=OVERRIDE)
    widened = _widened_output(child_signature, parent_signature, parent.name)
    if widened is not None:
        ctx.api.fail(widened, where, code=OVERRIDE)


def _analyzed(ctx: ClassDefContext, signature: CallableType | None) -> CallableType | None:
    """The signature with its annotations analyzed: this hook runs before mypy analyzes methods' signatures.

    None when an annotation is not ready yet (mypy then analyzes the class again, and this hook with it).
    """
    if signature is None:
        return None
    types: list[Type] = []
    for typ in [*signature.arg_types, signature.ret_type]:
        analyzed: Type | None = typ
        if isinstance(typ, UnboundType):
            analyzed = ctx.api.anal_type(typ, allow_unbound_tvars=True, report_invalid_types=False)
        if analyzed is None:
            return None
        types.append(analyzed)
    return signature.copy_modified(arg_types=types[:-1], ret_type=types[-1])


def _narrowed_inputs(child: CallableType, parent: CallableType, parent_name: str) -> list[str]:
    messages = []
    for index, (name, parent_type) in enumerate(zip(parent.arg_names, parent.arg_types, strict=True)):
        parent_view = neural(parent_type)
        child_type = _parameter(child, name, index)
        child_view = None if child_type is None else neural(child_type)
        if parent_view is None or child_view is None:
            continue
        mismatch = check_argument(name or str(index), child_view, parent_view, CallBindings())
        if mismatch is not None:
            messages.append(narrowed_input(name, parent_name, child_view, parent_view, mismatch.why))
    return messages


def _parameter(signature: CallableType, name: str | None, index: int) -> Type | None:
    if name is not None and name in signature.arg_names:
        return signature.arg_types[signature.arg_names.index(name)]
    return signature.arg_types[index] if index < len(signature.arg_types) else None


def _widened_output(child: CallableType, parent: CallableType, parent_name: str) -> str | None:
    child_view, parent_view = neural(child.ret_type), neural(parent.ret_type)
    if child_view is None or parent_view is None:
        return None
    mismatch = check_argument("return", parent_view, child_view, CallBindings())
    if mismatch is None:
        return None
    return widened_output(parent_name, child_view, parent_view, mismatch.why)
