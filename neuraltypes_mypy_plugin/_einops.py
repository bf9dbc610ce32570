"""einops' ``rearrange``, ``repeat`` and ``reduce`` (and the ``Rearrange`` layer): axes follow their names.

A pattern's left side names the source's axes (``b n (h d)``: the last axis is ``h`` times ``d``); sizes come
from the source's axes, from the call's keywords (``h=self.heads``) and, for the one unknown name of a group,
from the group's size. The right side spells the result: a name that stands for a whole source axis keeps its
token; a split or merged axis is spelled from its size, with the kind of the source axis it came from.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from mypy.types import AnyType, TypeOfAny

from neuraltypes.core import Size

from ._carrier import TensorView
from ._function_sizes import FunctionSizes
from ._messages import interleaving_merge
from ._sizes import size_of
from ._tokens import kind_for, render, token_size
from ._transforms import Call, Violation, constructor_argument, known_tokens, with_tokens

_TOKEN = re.compile(r"\(|\)|\.\.\.|[A-Za-z_][A-Za-z0-9_]*|\d+")


class _Axis(NamedTuple):
    """One axis of a pattern side: the names (or unit ``1``s) it is made of, in order."""

    names: tuple[str, ...]


def _side(text: str) -> list[_Axis] | None:
    axes: list[_Axis] = []
    group: list[str] | None = None
    for token in _TOKEN.findall(text):
        if token == "(":
            if group is not None:
                return None
            group = []
        elif token == ")":
            if group is None:
                return None
            axes.append(_Axis(tuple(group)))
            group = None
        elif group is not None:
            group.append(token)
        else:
            axes.append(_Axis((token,)))
    return None if group is not None else axes


def _pattern(call: Call) -> tuple[list[_Axis], list[_Axis]] | None:
    if call.is_module:  # the Rearrange layer: the pattern is the construction's
        given = constructor_argument(call, 0, "pattern")
        text = getattr(given, "value", None)
    else:
        argument = None if call.args is None else call.args.get(0, "pattern")
        text = getattr(argument.expression, "value", None) if argument is not None else None
    if not isinstance(text, str) or text.count("->") != 1:
        return None
    left, right = (_side(part) for part in text.split("->"))
    return None if left is None or right is None else (left, right)


def _keywords(call: Call) -> dict[str, Size | None]:
    if call.is_module:
        built = call.constructor
        if built is None:
            return {}
        return {
            name: size_of(argument, AnyType(TypeOfAny.special_form))
            for argument, name in zip(built.args, built.arg_names, strict=False)
            if name is not None and name not in ("pattern", "reduction")
        }
    if call.args is None:
        return {}
    return {name: call.args.size(None, name) for name in call.args.keyword if name not in ("pattern", "reduction")}


def _bind(
    left: Sequence[_Axis], tokens: Sequence[str], given: Mapping[str, Size | None]
) -> tuple[dict[str, Size | None], dict[str, str], dict[str, list[str]]] | None:
    """Each name's size, the token of names that are whole source axes, and the tokens behind ``...``."""
    ellipsis = [i for i, axis in enumerate(left) if axis.names == ("...",)]
    if len(ellipsis) > 1 or (not ellipsis and len(left) != len(tokens)) or len(left) - len(ellipsis) > len(tokens):
        return None
    at = ellipsis[0] if ellipsis else len(left)
    rest = len(tokens) - (len(left) - 1) if ellipsis else 0
    sizes: dict[str, Size | None] = dict(given)
    whole: dict[str, str] = {}
    behind: dict[str, list[str]] = {"...": list(tokens[at : at + rest])} if ellipsis else {}
    position = 0
    for index, axis in enumerate(left):
        if index == at and ellipsis:
            position += rest
            continue
        token = tokens[position]
        position += 1
        total = token_size(token)
        names = [name for name in axis.names if not name.isdigit()]
        if len(axis.names) == 1 and names:
            whole[names[0]] = token
            sizes.setdefault(names[0], total)
            continue
        unknown = [name for name in names if sizes.get(name) is None]
        known = Size.constant(1)
        for name in axis.names:
            known = known * (Size.constant(int(name)) if name.isdigit() else (sizes.get(name) or Size.constant(1)))
        if len(unknown) == 1 and total is not None:
            sizes[unknown[0]] = total * known.inverse()
        for name in names:
            whole.setdefault(f"({name})", token)
    return sizes, whole, behind


def _spell(
    right: Sequence[_Axis], bound: tuple[dict[str, Size | None], dict[str, str], dict[str, list[str]]]
) -> list[str]:
    sizes, whole, behind = bound
    result: list[str] = []
    for axis in right:
        if axis.names == ("...",):
            result.extend(behind.get("...", []))
            continue
        if len(axis.names) == 1 and axis.names[0] in whole:
            result.append(whole[axis.names[0]])
            continue
        total: Size | None = Size.constant(1)
        sources: list[str] = []
        for name in axis.names:
            size = Size.constant(int(name)) if name.isdigit() else sizes.get(name)
            total = None if total is None or size is None else total * size
            sources.append(whole.get(name) or whole.get(f"({name})", "?"))
        result.append(render(kind_for(total, sources), total))
    return result


def rearrange(rule: object, call: Call) -> TensorView | None:
    return _apply(call, reduce_=False)


def repeat(rule: object, call: Call) -> TensorView | None:
    return _apply(call, reduce_=False)


def reduce(rule: object, call: Call) -> TensorView | None:
    return _apply(call, reduce_=True)


def _apply(call: Call, reduce_: bool) -> TensorView | None:
    tokens = known_tokens(call.source)
    pattern = _pattern(call)
    if tokens is None or pattern is None:
        return None
    left, right = pattern
    bound = _bind(left, tokens, _keywords(call))
    if bound is None:
        return None
    table = call.args.aliases if call.args is not None else None
    if isinstance(table, FunctionSizes) and call.args is not None and call.args.positional:
        # mypy may type one call more than once: a split is keyed by where its call is, and not held against it
        first = call.args.positional[0].expression
        site = (first.line, first.column)
        _check_merge_order(right, bound[0], {total: split for total, (split, at) in table.splits.items() if at != site})
        table.splits.update({total: (split, site) for total, split in _splits(left, bound[0]).items()})
    return with_tokens(call.source, _spell(right, bound))


def _pieces(axis: _Axis, sizes: Mapping[str, Size | None]) -> tuple[str, tuple[str, ...]] | None:
    """A group of two or more names with known sizes: its total's spelling and its pieces', in order."""
    if len(axis.names) < 2 or any(name.isdigit() or name == "..." for name in axis.names):
        return None
    pieces = [sizes.get(name) for name in axis.names]
    if any(piece is None for piece in pieces):
        return None
    total = Size.constant(1)
    for piece in pieces:
        assert piece is not None
        total = total * piece
    return str(total), tuple(str(piece) for piece in pieces)


def _splits(left: Sequence[_Axis], sizes: Mapping[str, Size | None]) -> dict[str, tuple[str, ...]]:
    found = (_pieces(axis, sizes) for axis in left)
    return dict(piece for piece in found if piece is not None)


def _check_merge_order(
    right: Sequence[_Axis], sizes: Mapping[str, Size | None], splits: Mapping[str, tuple[str, ...]]
) -> None:
    """Merging the pieces of an axis that an earlier call split, in another order, interleaves its elements:
    ``(h d)`` split, ``(d h)`` merged. (One call doing both is a deliberate shuffle, and is not checked.)"""
    for axis in right:
        merged = _pieces(axis, sizes)
        if merged is None or merged[0] not in splits:
            continue
        total, order = merged
        split = splits[total]
        if order != split and sorted(order) == sorted(split) and len(set(order)) == len(order):
            raise Violation(interleaving_merge(axis.names, order, total, split))
