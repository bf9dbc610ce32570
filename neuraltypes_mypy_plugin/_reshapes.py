"""Transforms that move elements between axes: sizes, ``view``/``reshape``, ``flatten``, ``split``, indexing ...

Each reads the source's axis tokens and the call's size arguments (``_arguments``) and gives the result's tokens;
the element type and dtype are kept (a reshape does not change what the numbers mean). The size arithmetic and
the reading of a reshape as runs of axes are the core's (``neuraltypes.core._sizes``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from mypy.nodes import EllipsisExpr, Expression, IntExpr, ListExpr, NameExpr, SliceExpr, TupleExpr, UnaryExpr
from mypy.types import Instance, Type, get_proper_type

from neuraltypes.core import Misordered, Size, infer_size, product, provably_different, reshape_groups

from ._arguments import Arguments
from ._carrier import UNKNOWN_AXIS, TensorView
from ._function_sizes import independent_axes
from ._messages import elements_not_kept, misordered_reshape
from ._sizes import INT_FULLNAME, size_of
from ._tokens import kind_for, kind_name, render, token_size
from ._transforms import Call, Ints, Pieces, Violation, known_tokens, position_in, with_tokens


def sizes(rule: object, call: Call) -> Ints | None:
    """``x.size()``, ``x.shape`` (all sizes) and ``x.size(d)`` (one)."""
    tokens = known_tokens(call.source)
    if tokens is None:
        return None
    every = tuple(token_size(token) for token in tokens)
    if call.args is None:
        return Ints(every, single=False)
    dim = call.args.integer(0, "dim")
    if call.args.get(0, "dim") is None:
        return Ints(every, single=False)
    position = position_in(dim, len(tokens))
    return None if position is None else Ints((every[position],), single=True)


def view(rule: object, call: Call) -> TensorView | None:
    tokens = known_tokens(call.source)
    target = None if call.args is None else call.args.sizes_from(0, "size") or call.args.sizes_from(0, "shape")
    if tokens is None or target is None:
        return None
    return reshaped(call.source, tokens, list(target), "view", independent_axes(call.args))


def reshaped(
    source: TensorView,
    tokens: list[str],
    target: list[Size | None],
    what: str,
    independent: frozenset[str] = frozenset(),
) -> TensorView | None:
    """The source reshaped to ``target`` sizes (``-1`` inferred), each axis spelled from what it was made of.

    Raises:
        Violation: the target holds another number of elements, or takes its axes out of order.
    """
    source_sizes = [token_size(token) for token in tokens]
    inferred = [i for i, size in enumerate(target) if size is not None and size.value == -1]
    if len(inferred) > 1:
        return None
    for at in inferred:
        target[at] = infer_size(source_sizes, [None if i == at else s for i, s in enumerate(target)], at)
    before, after = product(source_sizes), product(target)
    if before is not None and after is not None and provably_different(before, after, independent):
        raise Violation(elements_not_kept(what, tokens, target, before, after))
    groups = reshape_groups(source_sizes, target)
    if isinstance(groups, Misordered):
        raise Violation(misordered_reshape(what, tokens, target, groups))
    if groups is None:
        return with_tokens(source, [render(None, size) for size in target])
    result: list[str] = []
    for group in groups:
        pieces = [tokens[i] for i in group.source]
        if (
            len(group.source) == 1
            and len(group.target) == 1
            and source_sizes[group.source[0]] == target[group.target[0]]
        ):
            result.append(pieces[0])
            continue
        result.extend(render(kind_for(target[j], pieces), target[j]) for j in group.target)
    return with_tokens(source, result)


def flatten(rule: object, call: Call) -> TensorView | None:
    tokens = known_tokens(call.source)
    if tokens is None or call.args is None:
        return None
    start = position_in(call.args.integer(0, "start_dim", 0), len(tokens))
    end = position_in(call.args.integer(1, "end_dim", -1), len(tokens))
    if start is None or end is None or end < start:
        return None
    merged = tokens[start : end + 1]
    sizes_ = [token_size(token) for token in merged]
    total = product(sizes_)
    token = merged[0] if len(merged) == 1 else render(kind_for(total, merged), total)
    return with_tokens(call.source, [*tokens[:start], token, *tokens[end + 1 :]])


def unflatten(rule: object, call: Call) -> TensorView | None:
    tokens = known_tokens(call.source)
    if tokens is None or call.args is None:
        return None
    dim = position_in(call.args.integer(0, "dim"), len(tokens))
    parts = call.args.sizes_from(1, "sizes")
    if dim is None or parts is None:
        return None
    inner = reshaped(call.source, [tokens[dim]], list(parts), "unflatten")
    if inner is None or inner.axes is None:
        return None
    return with_tokens(call.source, [*tokens[:dim], *inner.axes.split(), *tokens[dim + 1 :]])


def split(rule: object, call: Call) -> tuple[TensorView, ...] | Pieces | None:
    """``split(size, dim)`` and ``split([sizes], dim)``: a tuple of pieces when their number is known."""
    tokens = known_tokens(call.source)
    if tokens is None or call.args is None:
        return None
    dim = position_in(call.args.integer(1, "dim", 0), len(tokens))
    if dim is None:
        return None
    whole = token_size(tokens[dim])
    sections = call.args.sizes_from(0, "split_size_or_sections")
    given = call.args.get(0, "split_size_or_sections") or call.args.get(0, "split_size")
    if given is None:
        return None
    if isinstance(given.expression, (ListExpr, TupleExpr)) and sections is not None:
        pieces = list(sections)
    else:
        size = size_of(given.expression, given.type, call.args.type_of, call.args.aliases)
        count = None if whole is None or size is None else (whole * size.inverse()).value
        if count is None:
            return Pieces(_piece(call.source, tokens, dim, size))
        if not 0 < count <= 64:
            return None
        pieces = [size] * count
    return tuple(_piece(call.source, tokens, dim, size) for size in pieces)


def chunk(rule: object, call: Call) -> tuple[TensorView, ...] | None:
    tokens = known_tokens(call.source)
    if tokens is None or call.args is None:
        return None
    count = call.args.integer(0, "chunks")
    dim = position_in(call.args.integer(1, "dim", 0), len(tokens))
    whole = None if dim is None else token_size(tokens[dim])
    if count is None or dim is None or not 0 < count <= 64:
        return None
    size = None if whole is None else whole.divide(Size.constant(count))
    return tuple(_piece(call.source, tokens, dim, size) for _ in range(count))


def _piece(source: TensorView, tokens: list[str], dim: int, size: Size | None) -> TensorView:
    return with_tokens(source, [*tokens[:dim], render(kind_name(tokens[dim]), size), *tokens[dim + 1 :]])


def unsqueeze(rule: object, call: Call) -> TensorView | None:
    tokens = known_tokens(call.source)
    dim = None if tokens is None or call.args is None else position_in(call.args.integer(0, "dim"), len(tokens) + 1)
    if tokens is None or dim is None:
        return None
    return with_tokens(call.source, [*tokens[:dim], render(None, Size.constant(1)), *tokens[dim:]])


def squeeze(rule: object, call: Call) -> TensorView | None:
    tokens = known_tokens(call.source)
    if tokens is None or call.args is None:
        return None
    dims = call.args.sizes_from(0, "dim")
    if dims is None:
        positions: Sequence[int] = range(len(tokens))
    else:
        found = [None if d is None or d.value is None else position_in(d.value, len(tokens)) for d in dims]
        if None in found:
            return None
        positions = range(0) if not found else [p for p in found if p is not None]
    kept: list[str] = []
    for index, token in enumerate(tokens):
        size = token_size(token)
        if index in positions and size is None:
            return None  # the axis may or may not be 1
        if index in positions and size is not None and size.value == 1:
            continue
        kept.append(token)
    return with_tokens(call.source, kept)


def expand(rule: object, call: Call) -> TensorView | None:
    """``x.expand(B, -1, C)``: ``-1`` keeps an axis, a size replaces it (a size-1 axis stretched); leading new axes."""

    def each(token: str, size: Size | None) -> str:
        keep = size is not None and (size.value == -1 or size == token_size(token))
        return token if keep else render(kind_name(token), size)

    return _per_axis(call, "size", each)


def repeat(rule: object, call: Call) -> TensorView | None:
    """``x.repeat(1, 2, 1)``: each axis times its count; leading new axes."""

    def each(token: str, count: Size | None) -> str:
        if count is not None and count.value == 1:
            return token
        size = token_size(token)
        return render(kind_name(token), None if size is None or count is None else size * count)

    return _per_axis(call, "repeats", each)


def _per_axis(call: Call, name: str, each: Callable[[str, Size | None], str]) -> TensorView | None:
    tokens = known_tokens(call.source)
    given = None if call.args is None else call.args.sizes_from(0, name)
    if tokens is None or given is None or len(given) < len(tokens):
        return None
    lead = len(given) - len(tokens)
    result = [render(None, size) for size in given[:lead]]
    result.extend(each(token, size) for token, size in zip(tokens, given[lead:], strict=True))
    return with_tokens(call.source, result)


def index(rule: object, call: Call) -> TensorView | None:
    """``x[:, -1]`` drops an axis, ``x[:, -1:]`` and ``x[:, [-1]]`` keep it with size 1, ``None`` adds one,
    ``...`` stands for the axes between; ``x[:, :T]`` has size ``T``. A tensor index: unknown."""
    tokens = known_tokens(call.source)
    argument = None if call.args is None else call.args.get(0, None)
    if tokens is None or argument is None or call.args is None:
        return None
    args = call.args
    items = argument.expression.items if isinstance(argument.expression, TupleExpr) else [argument.expression]
    item_types = _item_types(argument) if isinstance(argument.expression, TupleExpr) else [argument.type]
    if sum(isinstance(item, EllipsisExpr) for item in items) > 1:
        return None
    consuming = [item for item in items if not _adds_axis(item) and not isinstance(item, EllipsisExpr)]
    if len(consuming) > len(tokens):
        return None
    result: list[str] = []
    at = 0
    for position, item in enumerate(items):
        if isinstance(item, EllipsisExpr):
            skip = len(tokens) - len(consuming)
            result.extend(tokens[at : at + skip])
            at += skip
            continue
        if _adds_axis(item):
            result.append(render(None, Size.constant(1)))
            continue
        token = tokens[at]
        at += 1
        outcome = _indexed(token, item, item_types[position] if position < len(item_types) else None, args)
        if outcome is False:
            return None
        if isinstance(outcome, str):
            result.append(outcome)
    result.extend(tokens[at:])
    return with_tokens(call.source, result)


def _adds_axis(item: Expression) -> bool:
    return isinstance(item, NameExpr) and item.fullname == "builtins.None"


def _item_types(argument: object) -> list[object]:
    proper = get_proper_type(getattr(argument, "type", None))
    return list(getattr(proper, "items", [])) if proper is not None else []


def _indexed(token: str, item: Expression, typ: object, args: Arguments) -> str | bool | None:
    """The token an index leaves: None when the axis is dropped, False when the result cannot be told."""
    if isinstance(item, IntExpr) or (isinstance(item, UnaryExpr) and isinstance(item.expr, IntExpr)):
        return None
    if isinstance(item, SliceExpr):
        return _sliced(token, item, args)
    if isinstance(item, ListExpr):
        if all(isinstance(i, (IntExpr, UnaryExpr)) for i in item.items):
            return render(kind_name(token), Size.constant(len(item.items)))
        return False
    proper = get_proper_type(typ) if isinstance(typ, Type) else None
    if isinstance(proper, Instance) and proper.type.fullname == INT_FULLNAME:
        return None
    return False


def _sliced(token: str, item: SliceExpr, args: Arguments) -> str:
    begin, end, step = item.begin_index, item.end_index, item.stride
    if begin is None and end is None and step is None:
        return token
    kind = kind_name(token)
    if step is None and end is None and isinstance(begin, UnaryExpr) and isinstance(begin.expr, IntExpr):
        return render(kind, Size.constant(begin.expr.value))  # the last n: [-1:]
    if step is None and (begin is None or (isinstance(begin, IntExpr) and begin.value == 0)) and end is not None:
        bound = size_of(end, args.type_of(end), args.type_of, args.aliases)
        if bound is not None and (bound.value is None or bound.value >= 0):
            return render(kind, bound)
    return render(kind, None) if kind is None else UNKNOWN_AXIS
