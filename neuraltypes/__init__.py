"""neuraltypes: tensor axes, dtypes and meanings, checked by mypy (with our plugin) and at run time.

The core types are imported eagerly and never import torch. The run-time and model layers are imported
on first use, so that ``import neuraltypes.core`` (what the mypy plugin does) stays torch-free, and so that
Lightning is imported only by those who use ``ModelPT``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .core import *  # noqa: F403  (the core's public names are the package's)
from .core import __all__ as __all__  # mypy reads the names of a star import from this form and the `+=` below
from .core import __version__ as __version__  # in core, read from the package metadata: lower floors import it there

if TYPE_CHECKING:
    from .archive import Archivable as Archivable
    from .archive import ArchiveError as ArchiveError
    from .config import ConfigOverrideError as ConfigOverrideError
    from .config import Serialization as Serialization
    from .config import UnsafeConfigError as UnsafeConfigError
    from .config import UnsafeTargetError as UnsafeTargetError
    from .config import apply_overrides as apply_overrides
    from .config import config_from_cli as config_from_cli
    from .config import instantiable as instantiable
    from .config import instantiate as instantiate
    from .config import resolve_target as resolve_target
    from .models import ModelPT as ModelPT
    from .models import TypedDataset as TypedDataset
    from .nn import NeuralModule as NeuralModule
    from .nn import Typing as Typing
    from .nn import ports_summary as ports_summary
    from .runtime import TypecheckConf as TypecheckConf
    from .runtime import checks_enabled as checks_enabled
    from .runtime import disable_checks as disable_checks
    from .runtime import disable_semantic_checks as disable_semantic_checks
    from .runtime import enable_checks as enable_checks
    from .runtime import enable_semantic_checks as enable_semantic_checks
    from .runtime import semantic_checks_enabled as semantic_checks_enabled
    from .runtime import set_tag as set_tag
    from .runtime import tag_of as tag_of
    from .runtime import typecheck as typecheck

if not TYPE_CHECKING:  # at run time only: static checkers need not follow the copy
    __all__ = list(__all__)  # a copy, so that the `+=` below leaves the core's own `__all__` as it is

# Spelled out, not computed from `_LAZY`: static checkers read a star import's names from this literal list.
__all__ += [
    "__version__",
    "typecheck", "TypecheckConf", "disable_checks", "disable_semantic_checks", "enable_checks",
    "enable_semantic_checks", "checks_enabled", "semantic_checks_enabled", "tag_of", "set_tag",
    "Serialization", "instantiate", "instantiable", "resolve_target", "apply_overrides", "config_from_cli",
    "UnsafeConfigError", "UnsafeTargetError", "ConfigOverrideError",
    "Archivable", "ArchiveError",
    "NeuralModule", "Typing", "ports_summary",
    "ModelPT", "TypedDataset",
]  # fmt: skip

# Public names of the upper layers: name -> module that defines it. Imported lazily by __getattr__.
_LAZY: dict[str, str] = {
    **dict.fromkeys(
        [
            "typecheck", "TypecheckConf", "disable_checks", "disable_semantic_checks", "enable_checks",
            "enable_semantic_checks", "checks_enabled", "semantic_checks_enabled", "tag_of", "set_tag",
        ],
        ".runtime",
    ),
    **dict.fromkeys(
        [
            "Serialization", "instantiate", "instantiable", "resolve_target", "apply_overrides", "config_from_cli",
            "UnsafeConfigError", "UnsafeTargetError", "ConfigOverrideError",
        ],
        ".config",
    ),
    **dict.fromkeys(["Archivable", "ArchiveError"], ".archive"),
    **dict.fromkeys(["NeuralModule", "Typing", "ports_summary"], ".nn"),
    **dict.fromkeys(["ModelPT", "TypedDataset"], ".models"),
}  # fmt: skip


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'neuraltypes' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
