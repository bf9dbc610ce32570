"""How large a config may be: depth, nodes and string bytes, checked before OmegaConf or Hydra touch it.

OmegaConf walks a config recursively (a 5,000-deep one ends in ``RecursionError``), and interpolations can copy
a sub-tree many times over (``b: [${a}, ${a}]``, ``c: [${b}, ${b}]`` ... doubles at every level), so both the
config as written and the config as resolved are measured against these limits.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Final

from ._errors import ConfigLimitError

__all__ = ["DEFAULT_LIMITS", "ConfigLimits", "Measure"]


@dataclasses.dataclass(frozen=True)
class ConfigLimits:
    """The largest config that is read, resolved or instantiated; pass your own to raise a limit.

    Attributes:
        max_depth: mappings and lists nested inside each other (real model configs stay under 12).
        max_nodes: mappings, lists and values in the whole tree, after interpolations are resolved.
        max_string_bytes: the UTF-8 bytes of all strings (keys and values) after resolution.
    """

    max_depth: int = 32
    max_nodes: int = 1_000_000
    max_string_bytes: int = 64 << 20

    def measure(self, tree: object, what: str = "the config") -> None:
        """Check a plain tree of dicts and lists without recursion.

        Raises:
            ConfigLimitError: naming the limit that was passed and how to raise it.
        """
        measure = Measure(self, what)
        stack: list[tuple[object, int]] = [(tree, 0)]
        while stack:
            node, depth = stack.pop()
            measure.add(node, depth)
            if isinstance(node, Mapping):
                stack.extend((value, depth + 1) for value in node.values())
            elif isinstance(node, list | tuple):
                stack.extend((item, depth + 1) for item in node)


DEFAULT_LIMITS: Final = ConfigLimits()


class Measure:
    """Counts nodes and string bytes as a tree is read or built, and stops at the first limit passed."""

    def __init__(self, limits: ConfigLimits, what: str = "the config") -> None:
        self.limits = limits
        self.what = what
        self.nodes = 0
        self.string_bytes = 0

    def add(self, node: object, depth: int) -> None:
        """Count one node found ``depth`` levels down (its keys too, for a mapping)."""
        limits = self.limits
        if depth > limits.max_depth:
            self._refuse(f"nests deeper than {limits.max_depth} levels", "max_depth")
        self.nodes += 1
        if self.nodes > limits.max_nodes:
            self._refuse(f"has more than {limits.max_nodes} nodes (after interpolation)", "max_nodes")
        if isinstance(node, str):
            self._add_text(node)
        elif isinstance(node, Mapping):
            for key in node:
                if isinstance(key, str):
                    self._add_text(key)

    def _add_text(self, text: str) -> None:
        self.string_bytes += len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))
        if self.string_bytes > self.limits.max_string_bytes:
            self._refuse(f"holds more than {self.limits.max_string_bytes} bytes of text", "max_string_bytes")

    def _refuse(self, problem: str, field: str) -> None:
        raise ConfigLimitError(
            f"{self.what} {problem}; refusing it (an attack or a mistake, not a model config). If you trust it, "
            f"pass limits=ConfigLimits({field}=...) with a larger value"
        )
