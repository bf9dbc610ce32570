"""The checker behind the plugin's hooks: which hook serves a name mypy asks about, found once where it can be.

Imported by the plugin the first time mypy analyses or checks code, with the neuraltypes core and the rules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from mypy.nodes import SymbolNode, SymbolTableNode, TypeInfo
from mypy.plugin import (
    AnalyzeTypeContext,
    AttributeContext,
    ClassDefContext,
    FunctionContext,
    FunctionSigContext,
    MethodContext,
    MethodSigContext,
)
from mypy.types import AnyType, CallableType, Type, get_proper_type

from ._annotation import analyze_nt
from ._arguments import assigned_type
from ._attributes import member_attribute_hook
from ._calls import (
    CallTarget,
    TargetMemo,
    check_function_call,
    check_method_call,
    forward_result,
    function_target,
    method_target,
    relax_function,
    relax_method,
)
from ._carrier import TensorView, is_tensor_info, make_tensor_generic, tensor_view
from ._container_hooks import container_function_hook, container_method_hook
from ._function_sizes import SizeAliases
from ._idioms import map_result
from ._messages import UNKNOWN_TO_MYPY, revealed
from ._names import REVEAL_FULLNAME
from ._operations import RuleIndex, attribute_result, function_result, function_result_of, method_result
from ._overrides import check_forward_override, is_module_class
from ._rules import Rule, load_rules
from ._sizes import INT_OPERATORS, int_arithmetic

# Libraries whose functions and methods declare no neural types, and whose definitions do not change while mypy
# (or its daemon) runs. Most names mypy asks about are theirs (torch's stubs included): the checker answers "no
# target" for them without walking their signatures, and computes each of its answers for such a name once.
_LIBRARIES = ("torch.", "builtins.", "typing.", "typing_extensions.", "collections.", "numpy.", "einops.")

_Hook = TypeVar("_Hook")
_UNSEEN: Any = object()


class Checker:
    """The hooks for names mypy asks about, given the rules and a way to look names up in the build.

    Args:
        shipped_rules: the directories of the rules shipped with the plugin.
        user_rules: the rules of the user's directories, already read (they override shipped ones).
        lookup: mypy's lookup of a fully qualified name in the current build.
    """

    def __init__(
        self,
        shipped_rules: Iterable[Path],
        user_rules: dict[str, Rule],
        lookup: Callable[[str], SymbolTableNode | None],
    ) -> None:
        self.tensor_class_hook: Callable[[ClassDefContext], None] = make_tensor_generic
        self.nt_annotation_hook: Callable[[AnalyzeTypeContext], Type] = analyze_nt
        self._rules = RuleIndex({**load_rules(shipped_rules), **user_rules})
        self._lookup_symbol = lookup
        # The hook for each library name asked about so far, one table per kind of hook (see `_LIBRARIES`).
        self._library_hooks: dict[str, dict[str, Any]] = {
            kind: {} for kind in ("function signature", "function", "method signature", "method", "attribute")
        }
        self._targets: TargetMemo = {}
        self._aliases = SizeAliases()

    def base_class_hook(self, fullname: str) -> Callable[[ClassDefContext], None] | None:
        return check_forward_override if is_module_class(self._lookup(fullname)) else None

    def function_signature_hook(self, fullname: str) -> Callable[[FunctionSigContext], CallableType] | None:
        return self._once("function signature", fullname, self._function_signature_hook)

    def function_hook(self, fullname: str) -> Callable[[FunctionContext], Type] | None:
        return self._once("function", fullname, self._function_hook)

    def method_signature_hook(self, fullname: str) -> Callable[[MethodSigContext], CallableType] | None:
        return self._once("method signature", fullname, self._method_signature_hook)

    def method_hook(self, fullname: str) -> Callable[[MethodContext], Type] | None:
        return self._once("method", fullname, self._method_hook)

    def attribute_hook(self, fullname: str) -> Callable[[AttributeContext], Type] | None:
        return self._once("attribute", fullname, self._attribute_hook)

    def _once(self, kind: str, fullname: str, find: Callable[[str], _Hook]) -> _Hook:
        """``find(fullname)``, computed once per library name; a name of the project's is looked at every time,
        since its definition may change under mypy's daemon."""
        known = self._library_hooks[kind]
        hook: _Hook = known.get(fullname, _UNSEEN)
        if hook is _UNSEEN:
            hook = find(fullname)
            if fullname.startswith(_LIBRARIES):
                known[fullname] = hook
        return hook

    def _function_signature_hook(self, fullname: str) -> Callable[[FunctionSigContext], CallableType] | None:
        target = self._function_target(fullname)
        return None if target is None else partial(relax_function, target)

    def _function_hook(self, fullname: str) -> Callable[[FunctionContext], Type] | None:
        if fullname == REVEAL_FULLNAME:
            return reveal_neural_type
        target = self._function_target(fullname)
        if target is not None:
            return partial(check_function_call, target)
        rule = self._rules.function_rule(fullname, self._lookup)
        if rule is None:
            if fullname == "builtins.map":
                return partial(
                    map_result, self._function_rule, partial(function_result_of, self._lookup, self._aliases)
                )
            return container_function_hook(fullname)  # zip(self.a, self.b), enumerate(self.h): see _container_hooks
        return partial(function_result, rule, self._lookup, aliases=self._aliases)

    def _method_signature_hook(self, fullname: str) -> Callable[[MethodSigContext], CallableType] | None:
        target = self._method_target(fullname)
        return None if target is None else partial(relax_method, target)

    def _method_hook(self, fullname: str) -> Callable[[MethodContext], Type] | None:
        if fullname in INT_OPERATORS:
            return partial(int_arithmetic, INT_OPERATORS[fullname])
        target = self._method_target(fullname)
        if target is not None:
            return partial(check_method_call, target)
        rule = self._rules.member_rule(fullname, self._lookup)
        if rule is None:
            found = container_method_hook(fullname, self.method_hook)  # nn containers' items: see _container_hooks
            return found if found is not None else self._forward_result(fullname)
        return partial(method_result, rule, self._lookup, aliases=self._aliases)

    def _attribute_hook(self, fullname: str) -> Callable[[AttributeContext], Type] | None:
        rule = self._rules.member_rule(fullname, self._lookup)
        if rule is None or not rule.is_attribute:
            # module attributes left Any by an unchecked __init__, containers' items: see _attributes
            return member_attribute_hook(fullname, self._lookup, _LIBRARIES)
        return partial(attribute_result, rule, self._lookup)

    def _lookup(self, fullname: str) -> SymbolNode | None:
        symbol = self._lookup_symbol(fullname)
        return None if symbol is None else symbol.node

    def _function_target(self, fullname: str) -> CallTarget | None:
        if fullname.startswith(_LIBRARIES):
            return None  # torch's and the standard library's callables declare no neural types: skip the walk
        symbol = self._lookup_symbol(fullname)
        return None if symbol is None else function_target(symbol.node, self._targets)

    def _function_rule(self, fullname: str) -> Rule | None:
        return self._rules.function_rule(fullname, self._lookup)

    def _forward_result(self, fullname: str) -> Callable[[MethodContext], Type] | None:
        owner, _, method = fullname.rpartition(".")
        if method != "__call__" or owner.startswith(_LIBRARIES):
            return None
        symbol = self._lookup_symbol(owner)
        info = None if symbol is None else symbol.node
        return forward_result(info) if isinstance(info, TypeInfo) and is_module_class(info) else None

    def _method_target(self, fullname: str) -> CallTarget | None:
        owner, _, method = fullname.rpartition(".")
        if owner.startswith(_LIBRARIES) and method != "__call__":
            return None  # as above; `module(x)` on a torch class still reaches a user subclass's forward below
        symbol = self._lookup_symbol(owner) if owner else None
        if symbol is None or not isinstance(symbol.node, TypeInfo) or is_tensor_info(symbol.node):
            return None  # a tensor's own methods have no neural-typed parameters: the common case, kept fast
        return method_target(symbol.node, method, self._targets)


def reveal_neural_type(ctx: FunctionContext) -> Type:
    """``reveal_neural_type(x)``: a note with what the plugin knows of ``x``; the type of ``x`` is kept."""
    found = ctx.arg_types[0][0] if ctx.arg_types and ctx.arg_types[0] else None
    view = None if found is None else tensor_view(assigned_type(ctx.args[0][0], found, ctx.api))
    original = None if found is None else tensor_view(found)
    if view is None and original is not None:
        view = TensorView(original.info, None, None, None)  # a stale type, not trusted
    unknown = found is not None and isinstance(get_proper_type(found), AnyType)
    ctx.api.msg.note(UNKNOWN_TO_MYPY if unknown else revealed(view), ctx.context)
    return ctx.default_return_type if found is None else found
