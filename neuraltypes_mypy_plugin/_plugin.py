"""The plugin object: claims only the hooks it serves, and hands each to a small named function."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mypy.options import Options
from mypy.plugin import AnalyzeTypeContext, ClassDefContext, Plugin, ReportConfigContext
from mypy.types import Type

from ._annotation import NT_FULLNAME, analyze_nt
from ._carrier import TENSOR_FULLNAME, make_tensor_generic
from ._version import PLUGIN_ALWAYS_TRUE, cache_key


class NeuralTypesPlugin(Plugin):
    """mypy plugin for neural types: ``NT[...]`` annotations, checked calls and typed operations."""

    def __init__(self, options: Options) -> None:
        if PLUGIN_ALWAYS_TRUE not in options.always_true:
            options.always_true.append(PLUGIN_ALWAYS_TRUE)
        super().__init__(options)
        self._cache_key = cache_key()

    def report_config_data(self, ctx: ReportConfigContext) -> dict[str, Any]:
        return self._cache_key

    def get_customize_class_mro_hook(self, fullname: str) -> Callable[[ClassDefContext], None] | None:
        return make_tensor_generic if fullname == TENSOR_FULLNAME else None

    def get_type_analyze_hook(self, fullname: str) -> Callable[[AnalyzeTypeContext], Type] | None:
        return analyze_nt if fullname == NT_FULLNAME else None
