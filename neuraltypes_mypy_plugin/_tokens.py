"""Axis tokens: the words of a spelling (``B``, ``D:80``, ``C//n_head``), their sizes and the names that give
them their kinds. ``?`` (unknown) and ``?:n_head`` (a size, kind unknown) are the plugin's own, made by rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from neuraltypes.core import AxisKind, Size, axis_kind_of_name, parse_axes, size_of_expr

from ._carrier import UNKNOWN_AXIS
from ._sizes import SYMBOL, size_of_text


def is_unknown_kind(token: str) -> bool:
    return token == UNKNOWN_AXIS or token.startswith(f"{UNKNOWN_AXIS}:")


@lru_cache(maxsize=4096)
def token_size(token: str) -> Size | None:
    """The size of one axis token: ``B`` is the symbol B, ``D:80`` 80, ``C//h`` and ``?:n`` their expressions."""
    if token == UNKNOWN_AXIS or token == "_" or token.startswith(("#", "*", "...")):
        return None
    if token.startswith(f"{UNKNOWN_AXIS}:"):
        return size_of_text(token[2:])
    try:
        axis = parse_axes(token)[0]
    except ValueError:
        return None
    if axis.variadic or axis.broadcast:
        return None
    if axis.size is not None:
        return Size.constant(axis.size)
    if axis.expr is not None:
        return size_of_expr(axis.expr)
    return None if axis.name is None else Size.symbol(axis.name)


@lru_cache(maxsize=4096)
def kind_name(token: str) -> str | None:
    """The name that gives a token its kind: ``C`` for ``C``, ``C:3*n`` and ``C//h``; None for unknown kinds."""
    if is_unknown_kind(token) or token == "_":
        return None
    try:
        axis = parse_axes(token)[0]
    except ValueError:
        return None
    if axis.name is not None:
        return axis.name
    if axis.expr is not None:
        return axis.expr.variables()[0]
    return None


def render(kind: str | None, size: Size | None) -> str:
    """The token of an axis of the kind named ``kind`` and ``size`` (None: unknown). Without a kind, a size
    computed from one of NeMo's axis names takes its kind (``C//n_head``); ``kind="?"`` says the axis has none."""
    if size is None:
        return UNKNOWN_AXIS
    text = str(size)
    if size.value is not None and size.value < 0:
        return UNKNOWN_AXIS
    if kind is None:
        kind = _nemo_kind_of(size)
    if kind is None or kind == UNKNOWN_AXIS:
        return f"{UNKNOWN_AXIS}:{text}"
    if text == kind:
        return kind
    try:
        axis = parse_axes(text)[0]
    except ValueError:
        return f"{UNKNOWN_AXIS}:{text}"
    if axis.expr is not None and axis.expr.variables()[0] == kind:
        return text
    return f"{kind}:{text}"


def _nemo_kind_of(size: Size) -> str | None:
    """The name that lends a size its kind when it is one of NeMo's (``C`` in ``C//n_head``): a size computed
    from a channel axis is a channel axis; ``n_head`` or ``n_embd`` say nothing of the kind."""
    first = next((name for name, power in size.factors if power > 0), None)
    if first is None or not SYMBOL.fullmatch(first) or (len(first) == 1 and first.islower()):
        return None  # `n`, `h`, `s` named in code are counts more often than NeMo's batch, height, singleton
    return first if isinstance(axis_kind_of_name(first), AxisKind) and first.lower() != "any" else None


def kind_for(size: Size | None, tokens: Sequence[str]) -> str | None:
    """The kind of an axis made from ``tokens``: theirs, when exactly one of them lends its name to ``size``."""
    if size is None:
        return None
    names = size.names
    kinds = {kind for kind in map(kind_name, tokens) if kind is not None and kind in names}
    if len(kinds) > 1:
        return UNKNOWN_AXIS  # made of axes of several kinds (``(h w)``, ``B*T``): of none of them
    return kinds.pop() if kinds else None
