"""One resolution of a config, ours: every interpolation evaluated once, into plain containers of data.

Hydra's ``instantiate`` resolves a config in place and then again on every access, so a string that only *looks*
like data after the first pass (``$${b}oc.env:X}`` with ``b: "{"`` becomes ``${oc.env:X}``) is evaluated on the
second. Here a config is resolved exactly once; what comes out is data and is never interpolated again. When it
must travel inside an OmegaConf config again (a ``cfg`` handed to a constructor), :func:`quote` escapes it so
that reading it gives back exactly that data.

For a config that is not trusted, resolution is ours: OmegaConf's grammar and visitor, with our own callbacks.
A node reference is looked up in the plain tree; a resolver call is decided at the moment resolution would call
it, so a resolver name that is computed, assembled from pieces or produced by another resolver is refused just
the same. Only :data:`PURE_RESOLVERS` run, implemented here over the plain tree (OmegaConf's own
``oc.dict.values`` builds interpolation strings from dict keys, which a crafted key could turn into a call).
A trusted config (``allow_resolvers=True``) is resolved by OmegaConf itself, once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Final

from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf._utils import split_key
from omegaconf.errors import (
    InterpolationKeyError,
    InterpolationResolutionError,
    InterpolationToMissingValueError,
)
from omegaconf.grammar.gen.OmegaConfGrammarParser import OmegaConfGrammarParser
from omegaconf.grammar_visitor import GrammarVisitor

from ._errors import ConfigLimitError, UnsafeConfigError
from ._interpolation import detached_container, parse_interpolation
from ._limits import DEFAULT_LIMITS, ConfigLimits, Measure

__all__ = ["PURE_RESOLVERS", "quote", "refuse_resolvers", "resolve_config", "resolver_calls", "standalone"]

#: Resolvers that only read other nodes of the config: evaluated (by us) in configs that are not trusted.
PURE_RESOLVERS: Final = frozenset({"oc.select", "oc.dict.keys", "oc.dict.values"})

_Path = tuple[str, ...]
_MISSING: Final = "???"
#: Interpolations that refer through more than this many others are refused (a chain, not a config).
MAX_REFERENCE_CHAIN: Final = 16
#: An interpolation's start, with the backslashes before it: ``\${`` escapes it, ``\\${`` escapes a backslash.
_INTERPOLATION_START = re.compile(r"(\\*)\$\{")


def _where(path: _Path) -> str:
    return ".".join(path) or "<root>"


def quote(tree: Any) -> Any:
    """``tree`` with every string escaped so that resolving it (once, by anyone) gives back exactly ``tree``.

    Strings without ``${`` are never interpolated and stay as they are; in the others each backslash before
    ``${`` is doubled and the ``${`` escaped. Keys and non-string values are unchanged.
    """
    if isinstance(tree, str):
        return _INTERPOLATION_START.sub(lambda m: m.group(1) * 2 + "\\${", tree) if "${" in tree else tree
    if isinstance(tree, dict):
        return {key: quote(value) for key, value in tree.items()}
    if isinstance(tree, list):
        return [quote(item) for item in tree]
    return tree


def resolver_calls(text: str, where: str = "") -> list[str]:
    """The names of the resolvers a config string calls, read from its parse tree (escapes are not calls).

    A computed name (``${${x}:...}``) is given as written, so it matches no resolver's name.

    Raises:
        ValueError: the string is not a valid interpolation.
    """
    if "${" not in text:
        return []
    tree = parse_interpolation(text, where)
    stack: list[Any] = [tree]
    names: list[str] = []
    while stack:
        node = stack.pop()
        if isinstance(node, OmegaConfGrammarParser.InterpolationResolverContext):
            names.append(node.getChild(1).getText())  # INTER_OPEN resolverName COLON ...
        stack.extend(getattr(node, "children", None) or ())
    return names


def refuse_resolvers(container: object) -> None:
    """Refuse a raw config whose strings call any resolver but :data:`PURE_RESOLVERS`, as written.

    A check of the text before it is read (a checkpoint's stored config); resolution itself refuses the calls it
    reaches, including those the text does not show, so this is not what keeps a config from running code.

    Raises:
        UnsafeConfigError: naming the key, the expression and the resolver.
    """
    stack: list[tuple[object, str]] = [(container, "")]
    while stack:
        node, where = stack.pop()
        if isinstance(node, Mapping):
            stack.extend((value, f"{where}.{key}" if where else str(key)) for key, value in node.items())
        elif isinstance(node, list):
            stack.extend((item, f"{where}[{index}]") for index, item in enumerate(node))
        elif isinstance(node, str):
            for name in resolver_calls(node, where):
                if name not in PURE_RESOLVERS:
                    raise UnsafeConfigError(
                        f"refusing to resolve {node!r} at {where!r}: resolver {name!r} is not evaluated in a "
                        "config that is not trusted (it may read the environment or run code)"
                    )


def standalone(config: object, limits: ConfigLimits = DEFAULT_LIMITS) -> Any:
    """The raw (unresolved) container of ``config``, detached from its root, measured before OmegaConf reads it."""
    if isinstance(config, Mapping | list) and not isinstance(config, DictConfig | ListConfig):
        limits.measure(config)  # OmegaConf recurses: a 5,000-deep mapping must be refused before it does
    return detached_container(config)


def resolve_config(config: object, *, allow_resolvers: bool = False, limits: ConfigLimits = DEFAULT_LIMITS) -> Any:
    """The value of ``config``: plain dicts and lists, every interpolation evaluated exactly once.

    Args:
        config: anything :func:`~neuraltypes.config.instantiate` takes (a node is detached from its root first).
        allow_resolvers: the caller trusts the config: OmegaConf resolves it, any registered resolver may run.
            Otherwise node references and :data:`PURE_RESOLVERS` are evaluated and any other resolver call is
            refused when resolution reaches it.
        limits: the size and depth a config may have, as written and as resolved.

    Raises:
        UnsafeConfigError: a resolver call that is not allowed, naming the key and the resolver.
        ConfigLimitError: the config, as written or as resolved, is deeper or larger than ``limits``.
        omegaconf.errors.InterpolationResolutionError: a reference to a key that does not exist or is missing
            (``???``), or a cycle.
    """
    raw = standalone(config, limits)
    limits.measure(raw)
    if allow_resolvers:
        created = OmegaConf.create(raw, flags={"allow_objects": True})
        resolved = OmegaConf.to_container(created, resolve=True)
        limits.measure(resolved, "the resolved config")
        return resolved
    return _Resolution(raw, Measure(limits, "the resolved config")).tree(raw, (), 0)


class _Resolution:
    """Resolves one raw tree; each interpolated string is evaluated once (memoized by its path)."""

    def __init__(self, raw: Any, measure: Measure) -> None:
        self.raw = raw
        self.measure = measure
        self.done: dict[_Path, Any] = {}
        self.active: list[_Path] = []

    def tree(self, node: Any, path: _Path, depth: int) -> Any:
        """A resolved copy of the raw sub-tree ``node`` found at ``path``, ``depth`` levels down the output."""
        self.measure.add(node, depth)
        if isinstance(node, dict):
            return {key: self.tree(value, (*path, str(key)), depth + 1) for key, value in node.items()}
        if isinstance(node, list):
            return [self.tree(item, (*path, str(index)), depth + 1) for index, item in enumerate(node)]
        if isinstance(node, str) and "${" in node:
            return self._copy(self.string(node, path), depth)
        return node

    def _copy(self, value: Any, depth: int) -> Any:
        """A fresh copy of a resolved value placed ``depth`` levels down, counted against the limits."""
        if isinstance(value, dict):
            self.measure.add(value, depth)
            return {key: self._copy(item, depth + 1) for key, item in value.items()}
        if isinstance(value, list):
            self.measure.add(value, depth)
            return [self._copy(item, depth + 1) for item in value]
        if isinstance(value, str):  # counted once more: concatenations can grow a string at every level
            self.measure.add(value, depth)
        return value

    def string(self, text: str, path: _Path) -> Any:
        """The value of the interpolated string ``text`` stored at ``path``: evaluated once, then remembered."""
        if path in self.done:
            return self.done[path]
        if path in self.active:
            chain = " -> ".join(_where(p) for p in (*self.active[self.active.index(path) :], path))
            raise InterpolationResolutionError(f"interpolations form a cycle: {chain}")
        if len(self.active) >= MAX_REFERENCE_CHAIN:
            raise ConfigLimitError(
                f"the interpolation at {_where(path)!r} refers through more than {MAX_REFERENCE_CHAIN} others"
            )
        self.active.append(path)
        try:
            visitor = GrammarVisitor(
                node_interpolation_callback=lambda key, memo: self.reference(key, path),
                resolver_interpolation_callback=self._resolver_callback(text, path),
                memo=None,
            )
            value = visitor.visit(parse_interpolation(text, _where(path)))
        finally:
            self.active.pop()
        self.done[path] = value
        return value

    def _resolver_callback(self, text: str, path: _Path) -> Callable[..., Any]:
        def call(name: str, args: tuple[Any, ...], args_str: tuple[str, ...]) -> Any:
            if name not in PURE_RESOLVERS:
                raise UnsafeConfigError(
                    f"refusing to resolve {text!r} at {_where(path)!r}: resolver {name!r} is not evaluated in a "
                    "config being instantiated (it may read the environment or run code); resolve a trusted "
                    "config first, or pass allow_resolvers=True"
                )
            return self._pure(name, args, path)

        return call

    # -- node references ------------------------------------------------------------------------------

    def target_path(self, key: str, location: _Path) -> _Path:
        """The absolute path a reference ``key`` written at ``location`` points to (OmegaConf's rules)."""
        parts = split_key(key)
        dots = next((index for index, part in enumerate(parts) if part != ""), len(parts))
        keys = tuple(parts[dots:])
        if not dots:
            return keys
        base = location[:-1]
        up = dots - 1
        if up > len(base):
            raise InterpolationKeyError(f"interpolation '${{{key}}}' at {_where(location)!r} goes above the root")
        return (*base[: len(base) - up], *keys)

    def reference(self, key: str, location: _Path) -> Any:
        """The resolved value of ``${key}`` written at ``location``."""
        target = self.target_path(key, location)
        if location[: len(target)] == target:
            raise InterpolationResolutionError(
                f"interpolation '${{{key}}}' at {_where(location)!r} refers to a node that contains it"
            )
        return self.value_at(target, key)

    def value_at(self, target: _Path, key: str) -> Any:
        node = self.raw
        for index, part in enumerate(target):
            if isinstance(node, str) and "${" in node:  # walking through an interpolated node
                node = self.string(node, target[:index])
            node = _child(node, part)
            if node is _ABSENT:
                raise InterpolationKeyError(f"Interpolation key '{key}' not found")
        if node == _MISSING:
            raise InterpolationToMissingValueError(
                f"MissingMandatoryValue while resolving interpolation: Missing mandatory value: {_where(target)}"
            )
        return self.tree(node, target, 0)

    # -- the resolvers that only read the config --------------------------------------------------------

    def _pure(self, name: str, args: tuple[Any, ...], location: _Path) -> Any:
        if name == "oc.select":
            return self._select(args, location)
        if not (len(args) == 1 and isinstance(args[0], str)):
            raise InterpolationResolutionError(f"`{name}` requires one key (a string) as input, got {args!r}")
        found = self.reference(args[0], location)
        if not isinstance(found, dict):
            raise InterpolationResolutionError(f"`{name}` cannot be applied to {type(found).__name__} values")
        return list(found) if name == "oc.dict.keys" else list(found.values())

    def _select(self, args: tuple[Any, ...], location: _Path) -> Any:
        if not 1 <= len(args) <= 2 or not isinstance(args[0], str):
            raise InterpolationResolutionError(f"`oc.select` takes a key and an optional default, got {args!r}")
        try:
            return self.reference(args[0], location)
        except (InterpolationKeyError, InterpolationToMissingValueError):
            return args[1] if len(args) == 2 else None


_ABSENT: Final = object()


def _child(node: Any, key: str) -> Any:
    if isinstance(node, dict):
        if key in node:
            return node[key]
        if key.lstrip("-").isdigit() and int(key) in node:
            return node[int(key)]
        return _ABSENT
    if isinstance(node, list) and key.isdigit() and int(key) < len(node):
        return node[int(key)]
    return _ABSENT
