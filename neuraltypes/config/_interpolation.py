"""Interpolations in configs: making a sub-tree stand on its own.

A config node taken out of a larger config (``cfg.model``) may hold interpolations that reach outside it
(``${model.n_embed}``). Saving such a node as it is would store references that no longer resolve; so a node
is *detached*: references to places inside it become relative (``${..n_embed}``), references to places outside
it are replaced by what they point to (recursively, as written: a ``${oc.env:X}`` found there stays an
expression and is never evaluated). Relative references also keep a sub-tree valid when it is nested into a
parent's config.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterator, Mapping
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf, grammar_parser
from omegaconf.grammar.gen.OmegaConfGrammarParser import OmegaConfGrammarParser

__all__ = ["detached_container", "parse_interpolation", "relocatable"]

_Path = tuple[str, ...]
_MAX_INLINE_DEPTH = 32


def parse_interpolation(text: str, where: str) -> Any:
    """The parse tree of a config string, with OmegaConf's grammar.

    Raises:
        ValueError: the string is not a valid interpolation, naming it and its key.
    """
    try:
        return grammar_parser.parse(text, parser_rule="configValue")
    except Exception as error:  # GrammarParseError, or antlr's own errors on pathological input
        raise ValueError(f"invalid interpolation {text!r} at {where!r}: {error}") from None


def _contexts(tree: Any, kind: type, *, into_matches: bool = True) -> Iterator[Any]:
    """Parse-tree nodes of one kind, depth first; below a match only when ``into_matches``."""
    stack = [tree]
    while stack:
        node = stack.pop()
        matched = isinstance(node, kind)
        if matched:
            yield node
        if (into_matches or not matched) and hasattr(node, "getChildren"):
            stack.extend(reversed(list(node.getChildren())))


def _node_path(reference: Any, location: _Path, text: str) -> _Path:
    """The absolute path a node interpolation points to, for an interpolation stored at ``location``."""
    dots = 0
    keys: list[str] = []
    for child in reference.getChildren():
        if isinstance(child, OmegaConfGrammarParser.ConfigKeyContext):
            if "${" in child.getText():
                raise ValueError(f"cannot move {text!r} at {'.'.join(location)!r}: its key is itself interpolated")
            keys.append(child.getText().strip())
        elif not keys and child.getText() == ".":
            dots += 1
    if dots > len(location):
        raise ValueError(f"interpolation {text!r} at {'.'.join(location)!r} goes above the root")
    return (*location[: len(location) - dots], *keys) if dots else tuple(keys)


def _lookup(container: object, path: _Path, text: str) -> object:
    node = container
    for key in path:
        try:
            if isinstance(node, Mapping):
                node = node[key]
            elif isinstance(node, list):
                node = node[int(key)]
            else:
                raise KeyError(key)
        except (KeyError, IndexError, ValueError):
            raise ValueError(f"interpolation {text!r} points to {'.'.join(path)!r}, which does not exist") from None
    return node


def _relative(place: _Path, target: _Path, text: str) -> str:
    common = 0
    while common < min(len(place), len(target)) and place[common] == target[common]:
        common += 1
    if common == len(target):
        raise ValueError(f"interpolation {text!r} refers to a node that contains it")
    return "${" + "." * (len(place) - common) + ".".join(target[common:]) + "}"


@dataclasses.dataclass(frozen=True)
class _Rebase:
    """Rewrites the interpolations of the sub-tree at ``prefix`` of ``root`` so that it stands alone."""

    root: object
    prefix: _Path

    def value(self, value: object, origin: _Path, place: _Path, depth: int) -> object:
        """``value`` found at ``origin`` (in root), to be stored at ``place`` (in the sub-tree)."""
        if depth > _MAX_INLINE_DEPTH:
            raise ValueError(f"interpolations nest too deeply (a cycle?) at {'.'.join(origin)!r}")
        if isinstance(value, Mapping):
            return {k: self.value(v, (*origin, str(k)), (*place, str(k)), depth) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v, (*origin, str(i)), (*place, str(i)), depth) for i, v in enumerate(value)]
        if isinstance(value, str) and "${" in value:
            return self.string(value, origin, place, depth)
        return value

    def string(self, text: str, origin: _Path, place: _Path, depth: int) -> object:
        tree = parse_interpolation(text, ".".join(origin))
        references = list(_contexts(tree, OmegaConfGrammarParser.InterpolationNodeContext, into_matches=False))
        pieces: list[tuple[int, int, str]] = []
        for reference in references:
            target = _node_path(reference, origin, text)
            start, stop = reference.start.start, reference.stop.stop + 1
            if target[: len(self.prefix)] == self.prefix:
                pieces.append((start, stop, _relative(place, target[len(self.prefix) :], text)))
                continue
            inlined = self.value(copy.deepcopy(_lookup(self.root, target, text)), target, place, depth + 1)
            if (start, stop) == (0, len(text)):
                return inlined
            if isinstance(inlined, str | int | float | bool) and not (isinstance(inlined, str) and "${" in inlined):
                pieces.append((start, stop, str(inlined)))
                continue
            raise ValueError(
                f"cannot move {text!r} at {'.'.join(origin)!r} out of its config: it embeds {'.'.join(target)!r}, "
                "which is outside the sub-tree and not a plain value; reference it as a whole value instead"
            )
        for start, stop, replacement in sorted(pieces, reverse=True):
            text = text[:start] + replacement + text[stop:]
        return text


def _root_and_path(node: DictConfig | ListConfig) -> tuple[DictConfig | ListConfig, _Path]:
    keys: list[str] = []
    current: Any = node
    while (parent := current._get_parent()) is not None:
        keys.append(str(current._key()))
        current = parent
    return current, tuple(reversed(keys))


def relocatable(container: object) -> object:
    """A raw container with every interpolation into itself made relative, so it can be nested anywhere."""
    return _Rebase(container, ()).value(container, (), (), 0)


def detached_container(config: object) -> Any:
    """A raw (unresolved) container of ``config`` that resolves on its own.

    ``config`` is a ``DictConfig``/``ListConfig`` (possibly a node of a larger config), a mapping or list, or a
    structured-config dataclass (class or instance). Interpolations are kept, never evaluated.
    """
    if isinstance(config, DictConfig | ListConfig):
        root, prefix = _root_and_path(config)
        if prefix:
            whole = OmegaConf.to_container(root, resolve=False)
            return _Rebase(whole, prefix).value(_lookup(whole, prefix, "<node>"), prefix, (), 0)
        return OmegaConf.to_container(config, resolve=False)
    if dataclasses.is_dataclass(config):
        return OmegaConf.to_container(OmegaConf.structured(config), resolve=False)
    if isinstance(config, Mapping | list):
        created = OmegaConf.create(
            dict(config) if isinstance(config, Mapping) else config, flags={"allow_objects": True}
        )
        return OmegaConf.to_container(created, resolve=False)
    raise TypeError(
        f"a config must be a mapping, a list, a DictConfig/ListConfig or a dataclass config, not "
        f"{type(config).__name__}"
    )
