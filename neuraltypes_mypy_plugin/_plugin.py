"""The plugin object: claims only the hooks it serves, and loads its checker the first time one is needed.

A run whose modules all come from mypy's cache asks for no hook, so it never imports the checker, the
neuraltypes core or the rules: the plugin then costs mypy its cache key, and little else.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, Any, NoReturn

from mypy.options import Options
from mypy.plugin import (
    AnalyzeTypeContext,
    AttributeContext,
    ClassDefContext,
    FunctionContext,
    FunctionSigContext,
    MethodContext,
    MethodSigContext,
    Plugin,
    ReportConfigContext,
)
from mypy.types import CallableType, Type

# The error codes, registered with mypy as the plugin loads: mypy checks the codes its configuration names then.
from . import _codes as _codes
from ._config import PluginConfigError, default_rule_dirs, rebinding_allowed, rule_files, user_rule_dirs
from ._names import NT_FULLNAME, TENSOR_FULLNAME
from ._version import PLUGIN_ALWAYS_TRUE, cache_key

if TYPE_CHECKING:
    from ._hooks import Checker
    from ._rules import Rule


# torch methods left unannotated by torch whose results the shipped rules type: with them a tensor's `split` is no
# longer `Any`, and `--disallow-untyped-calls` would report calls that it did not see before the plugin typed them.
_TYPED_BY_RULES = ("torch._tensor.Tensor.split", "torch._tensor.Tensor.unflatten")


def _stop(error: Exception) -> NoReturn:
    """A configuration error, reported as mypy reports its own: a message and exit status 2."""
    sys.stderr.write(f"neuraltypes_mypy_plugin: error: {error}\n")
    raise SystemExit(2) from None


class NeuralTypesPlugin(Plugin):
    """mypy plugin for neural types: ``NT[...]`` annotations, checked calls and typed operations."""

    def __init__(self, options: Options) -> None:
        if PLUGIN_ALWAYS_TRUE not in options.always_true:
            # A new list: mypy's daemon compares its options with a shallow snapshot taken before plugins load,
            # and appending to the list they share made every `dmypy run` restart ("configuration changed").
            options.always_true = [*options.always_true, PLUGIN_ALWAYS_TRUE]
        try:
            user_directories = user_rule_dirs(options.config_file)
            rebinding = rebinding_allowed(options.config_file)
        except PluginConfigError as error:
            _stop(error)
        if rebinding and not getattr(options, "allow_redefinition", False):
            # `x = x.transpose(1, 2)` rebinds `x` to another neural type: mypy's classic redefinition rule lets a
            # variable take the type of each assignment in its block, instead of keeping its first (stale) one.
            options.allow_redefinition_old = True
        missing = [method for method in _TYPED_BY_RULES if method not in options.untyped_calls_exclude]
        if missing:  # a new list, as always_true above: the daemon's snapshot shares the old one
            options.untyped_calls_exclude = [*options.untyped_calls_exclude, *missing]
        super().__init__(options)
        self._shipped_rules = default_rule_dirs()
        user_rules: dict[str, Rule] = {}
        if user_directories:  # read now, so that a malformed rule stops mypy whatever it goes on to check
            from ._rules import RuleSyntaxError, load_rules

            try:
                user_rules = load_rules(user_directories)
            except RuleSyntaxError as error:
                _stop(error)
        self._user_rules = user_rules
        self._cache_key = cache_key(rule_files(self._shipped_rules + user_directories))

    @cached_property
    def _checker(self) -> Checker:
        """The checker, imported and built the first time mypy asks for a hook this plugin serves."""
        from ._hooks import Checker

        return Checker(self._shipped_rules, self._user_rules, self.lookup_fully_qualified)

    def report_config_data(self, ctx: ReportConfigContext) -> dict[str, Any]:
        return self._cache_key

    def get_customize_class_mro_hook(self, fullname: str) -> Callable[[ClassDefContext], None] | None:
        return self._checker.tensor_class_hook if fullname == TENSOR_FULLNAME else None

    def get_type_analyze_hook(self, fullname: str) -> Callable[[AnalyzeTypeContext], Type] | None:
        return self._checker.nt_annotation_hook if fullname == NT_FULLNAME else None

    def get_base_class_hook(self, fullname: str) -> Callable[[ClassDefContext], None] | None:
        return self._checker.base_class_hook(fullname)

    def get_function_signature_hook(self, fullname: str) -> Callable[[FunctionSigContext], CallableType] | None:
        return self._checker.function_signature_hook(fullname)

    def get_function_hook(self, fullname: str) -> Callable[[FunctionContext], Type] | None:
        return self._checker.function_hook(fullname)

    def get_method_signature_hook(self, fullname: str) -> Callable[[MethodSigContext], CallableType] | None:
        return self._checker.method_signature_hook(fullname)

    def get_method_hook(self, fullname: str) -> Callable[[MethodContext], Type] | None:
        return self._checker.method_hook(fullname)

    def get_attribute_hook(self, fullname: str) -> Callable[[AttributeContext], Type] | None:
        return self._checker.attribute_hook(fullname)
