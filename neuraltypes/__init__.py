"""neuraltypes: tensor axes, dtypes and meanings, checked by mypy (with our plugin) and at run time.

The core types are imported eagerly and never import torch. The run-time and model layers are imported
on first use, so that ``import neuraltypes.core`` (what the mypy plugin does) stays torch-free.
"""

from __future__ import annotations

import importlib
from typing import Any

from .core import *  # noqa: F403  (the core's public names are the package's)
from .core import __all__ as _core_all

__version__ = "0.1.0"

# Public names of the upper layers: name -> module that defines it. Imported lazily by __getattr__.
_LAZY: dict[str, str] = {}

__all__ = [*_core_all, *_LAZY, "__version__"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'neuraltypes' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
