"""Transforms that line tensors up axis by axis: element-wise arithmetic and comparisons, masks, ``cat``.

Axes are lined up from the right (an axis of size 1 stretches); two that face each other must not differ in kind
or, for every value of the symbols, in size.
"""

from __future__ import annotations

from collections.abc import Sequence

from neuraltypes.core import Size, provably_different

from ._carrier import UNKNOWN_AXIS, TensorView
from ._contractions import broadcast_tokens, independent, is_one, kind_of, why_apart
from ._messages import joined_apart, kinds_differ, lined_up_apart
from ._tokens import is_unknown_kind, kind_name, render, token_size
from ._transforms import Call, Violation, known_tokens


def broadcast(rule: object, call: Call) -> TensorView | None:
    """``a + b``, ``a * b`` ...: axes broadcast from the right; two axes of known, different kinds facing each
    other (neither of size 1) are an error. The result means what ``a`` means."""
    return _broadcast_result(call, keep_element=True)


def _check_lined_up(what: str, a: Sequence[str], b: Sequence[str], independent: frozenset[str] = frozenset()) -> None:
    """Axes of two tensors lined up from the right must not differ in kind or size (an axis of size 1 stretches)."""
    for x, y in zip(reversed(a), reversed(b), strict=False):
        if is_one(x) or is_one(y):
            continue
        kinds = kind_of(x), kind_of(y)
        sizes = token_size(x), token_size(y)
        if None not in kinds and "any" not in kinds and kinds[0] != kinds[1]:
            why = kinds_differ(x, y)
        elif sizes[0] is not None and sizes[1] is not None and provably_different(sizes[0], sizes[1], independent):
            why = "their sizes differ"
        else:
            continue
        raise Violation(lined_up_apart(what, a, x, b, y, why))


def reflected_broadcast(rule: object, call: Call) -> TensorView | None:
    """``a + b`` typed as ``b.__radd__(a)``, as mypy does for two tensors: ``a`` comes first and lends meaning."""
    other = None if call.args is None else call.args.tensor(0, "other")
    if other is None:
        return _broadcast_result(call, keep_element=True)
    return _broadcast_result(call._replace(source=other), keep_element=True, other=call.source)


def compare(rule: object, call: Call) -> TensorView | None:
    """``a < b``, ``a == b`` ...: broadcast as arithmetic is; the result is a boolean mask."""
    result = _broadcast_result(call, keep_element=False)
    return None if result is None else result._replace(dtype="bool")


def _broadcast_result(call: Call, keep_element: bool, other: TensorView | None = None) -> TensorView | None:
    a = known_tokens(call.source)
    if other is None:
        other = None if call.args is None else call.args.tensor(0, "other")
    b = None if other is None else known_tokens(other)
    element = call.source.element if keep_element else None
    if a is None:
        return None
    if b is None:  # a number, or a tensor of unknown axes (taken to fit): the tensor's own axes
        return TensorView(call.source.info, call.source.axes, element, call.source.dtype if keep_element else None)
    _check_lined_up("Broadcasting", a, b, independent(call))
    tokens = broadcast_tokens(a, b) if len(a) >= len(b) else broadcast_tokens(b, a)
    return TensorView(call.source.info, " ".join(tokens), element, call.source.dtype if keep_element else None)


def masked_fill(rule: object, call: Call) -> TensorView | None:
    """``x.masked_fill(mask, value)``: the mask broadcasts to ``x``; the result is ``x``'s type."""
    a = known_tokens(call.source)
    mask = None if call.args is None else call.args.tensor(0, "mask")
    b = None if mask is None else known_tokens(mask)
    if a is not None and b is not None:
        _check_lined_up("Masking", a, b, independent(call))
    return call.source


def concat(rule: object, call: Call) -> TensorView | None:
    """``torch.cat(tensors, dim)``: every axis but ``dim`` must agree; ``dim`` adds up."""
    dim = call.argument("dim")
    position = 0 if dim is None else dim
    lists = [known_tokens(view) for view in call.sources]
    if not lists or any(tokens is None for tokens in lists) or not isinstance(position, int):
        return None
    known = [tokens for tokens in lists if tokens is not None]
    rank = len(known[0])
    if any(len(tokens) != rank for tokens in known) or not -rank <= position < rank:
        return None
    position %= rank
    first = known[0]
    for tokens in known[1:]:
        for index in range(rank):
            why = None if index == position else why_apart(first[index], tokens[index], independent(call))
            if why is not None:
                raise Violation(joined_apart(position, first, tokens, index, why))
    result = [next((t[i] for t in known if not is_unknown_kind(t[i])), first[i]) for i in range(rank)]
    total: Size | None = Size.constant(0)
    for tokens in known:
        size = token_size(tokens[position])
        total = None if total is None or size is None else total.add(size)
    kinds = {kind_name(tokens[position]) for tokens in known}
    result[position] = render(kinds.pop() if len(kinds) == 1 else UNKNOWN_AXIS, total)
    elements = {None if view.element is None else view.element.type.fullname for view in call.sources}
    element = call.source.element if len(elements) == 1 else None
    return TensorView(call.source.info, " ".join(result), element, call.source.dtype)
