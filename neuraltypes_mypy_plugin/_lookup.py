"""Looking up a fully qualified name in the modules of the current build (``torch.softmax`` -> its node)."""

from __future__ import annotations

from collections.abc import Callable

from mypy.nodes import SymbolNode

Lookup = Callable[[str], SymbolNode | None]
