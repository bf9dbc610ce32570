"""The transforms of the rule vocabulary: what an operation does to its source tensor's neural type.

Each transform takes the source's view (axes in the user's spelling, element type, dtype) and the call's
literal arguments, and returns the result's view, or None when the result cannot be known statically
(a dimension that is not a literal, axes with a variadic part, a pattern that does not fit): the result
is then a tensor of unknown neural type, never an error.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NamedTuple

from mypy.nodes import ARG_POS, CallExpr, Expression
from mypy.types import Instance

from neuraltypes.core import AxisType

from ._carrier import UNKNOWN_AXIS, TensorView, parse_spelling
from ._rules import Rule
from ._sizes import int_literal

if TYPE_CHECKING:
    from neuraltypes.core import Size

    from ._arguments import Arguments

ArgumentValue = int | str | bool | tuple[int, ...] | None


class Call(NamedTuple):
    """What a transform sees of one call: its source tensor(s), its literal arguments by parameter name, and
    (for the transforms that read sizes and other tensors) all its arguments, typed."""

    source: TensorView
    sources: tuple[TensorView, ...]
    argument: Callable[[str | int], ArgumentValue]
    element: Instance | None
    args: Arguments | None = None
    is_module: bool = False
    constructor: CallExpr | None = None


class Violation(Exception):
    """An operation applied in a way that is wrong for every size: reported as a ``neural-type`` error."""


class Ints(NamedTuple):
    """A transform's result that is sizes, not a tensor: ``x.size()`` (a tuple) or ``x.size(-1)`` (one int)."""

    sizes: tuple[Size | None, ...]
    single: bool


class Pieces(NamedTuple):
    """A tuple of tensors of one type whose number is not known (``x.split(n)`` of an axis of unknown size)."""

    piece: TensorView


Result = TensorView | Ints | Pieces | tuple["TensorView | None", ...] | None

# Transforms whose result means what the source meant: when they cannot tell the axes, the element type stays.
MEANING_KEPT = frozenset(
    {"Keep", "KeepAxes", "Normalize", "Swap", "Permute", "Reverse", "Drop", "Rearrange", "View", "Flatten", "Unflatten",
     "Unsqueeze", "Squeeze", "Expand", "Repeat", "Index", "EinopsRepeat", "EinopsReduce", "Broadcast", "RBroadcast",
     "Glu"}
)  # fmt: skip


def constructor_argument(call: Call, position: int, name: str) -> Expression | None:
    """An argument of the call that built the module (``nn.GLU(dim=1)``), by keyword or position."""
    built = call.constructor
    if built is None:
        return None
    for argument, argument_name in zip(built.args, built.arg_names, strict=False):
        if argument_name == name:
            return argument
    positional = [a for a, kind in zip(built.args, built.arg_kinds, strict=False) if kind == ARG_POS]
    return positional[position] if position < len(positional) else None


def position_in(value: ArgumentValue, rank: int) -> int | None:
    """An axis argument (``-1``, ``2``) as a position in ``rank`` axes; None when it is not one."""
    return _position(value, rank)


def known_tokens(view: TensorView) -> list[str] | None:
    """The source's axis tokens; None when unknown or variadic (positions would be ambiguous)."""
    return _tokens(view)


def with_tokens(view: TensorView, tokens: Sequence[str]) -> TensorView:
    return _with_axes(view, tokens)


def finish(rule: Rule, call: Call, result: TensorView) -> TensorView:
    """The rule's element type and dtype, set on a result."""
    if call.element is not None:
        result = result._replace(element=call.element)
    if rule.dtype is not None:
        result = result._replace(dtype=rule.dtype)
    return result


def apply_basic(rule: Rule, call: Call) -> TensorView | None:
    transform = _TRANSFORMS.get(rule.transform)
    return None if transform is None else transform(rule, call)


def _tokens(view: TensorView) -> list[str] | None:
    """The source's axes, one token each; None when unknown or variadic (positions would be ambiguous)."""
    if view.axes is None:
        return None
    axes = parse_spelling(view.axes)
    if any(axis.variadic for axis in axes):
        return None
    return view.axes.split()


def _with_axes(view: TensorView, tokens: Sequence[str], normalized: int | None = None) -> TensorView:
    """``view`` with new axes; which axis was normalized is kept only where the caller says where it went."""
    return view._replace(axes=" ".join(tokens), normalized=normalized)


def _moved(normalized: int | None, order: Sequence[int]) -> int | None:
    """The new position of the normalized axis once the axes are taken in ``order`` (old positions)."""
    return None if normalized is None or normalized not in order else list(order).index(normalized)


def _position(value: ArgumentValue, rank: int) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not -rank <= value < rank:
        return None
    return value % rank


def _keep(rule: Rule, call: Call) -> TensorView | None:
    return call.source


def _keep_axes(rule: Rule, call: Call) -> TensorView | None:
    return call.source._replace(dtype=None)


def _swap(rule: Rule, call: Call) -> TensorView | None:
    tokens = _tokens(call.source)
    if tokens is None or len(rule.arguments) != 2:
        return None
    first, second = (_position(call.argument(arg), len(tokens)) for arg in rule.arguments)
    if first is None or second is None:
        return None
    order = list(range(len(tokens)))
    order[first], order[second] = order[second], order[first]
    return _with_axes(call.source, [tokens[i] for i in order], _moved(call.source.normalized, order))


def _reverse(rule: Rule, call: Call) -> TensorView | None:
    tokens = _tokens(call.source)
    return None if tokens is None else _with_axes(call.source, tokens[::-1])


def _permute(rule: Rule, call: Call) -> TensorView | None:
    tokens = _tokens(call.source)
    dims = call.argument(rule.arguments[0]) if tokens is not None and rule.arguments else None
    if tokens is None or not isinstance(dims, tuple) or len(dims) != len(tokens):
        return None
    positions = [_position(dim, len(tokens)) for dim in dims]
    order = [i for i in positions if i is not None]
    if len(order) != len(tokens) or len(set(order)) != len(order):
        return None
    return _with_axes(call.source, [tokens[i] for i in order], _moved(call.source.normalized, order))


def _normalize(rule: Rule, call: Call) -> TensorView | None:
    """``softmax(dim)``: the same axes, normalized over ``dim`` (the rule's element type is set by ``finish``)."""
    tokens = _tokens(call.source)
    name = rule.arguments[0] if rule.arguments else None
    dim: ArgumentValue = None
    if call.is_module and isinstance(name, str):
        written = constructor_argument(call, 0, name)
        dim = None if written is None else int_literal(written)
    elif name is not None:
        dim = call.argument(name)
    position = None if tokens is None else _position(dim, len(tokens))
    return call.source._replace(normalized=position)


def _drop(rule: Rule, call: Call) -> TensorView | None:
    tokens = _tokens(call.source)
    value = call.argument(rule.arguments[0]) if tokens is not None and rule.arguments else None
    if tokens is None or value is None:
        return None
    dims = value if isinstance(value, tuple) else (value,)
    positions = {_position(dim, len(tokens)) for dim in dims if isinstance(dim, int)}
    if None in positions or len(positions) != len(dims):
        return None
    if call.argument("keepdim") is True:
        axes = parse_spelling(call.source.axes or "")
        return _with_axes(call.source, [_sized_one(axes[i]) if i in positions else t for i, t in enumerate(tokens)])
    return _with_axes(call.source, [t for i, t in enumerate(tokens) if i not in positions])


def _sized_one(axis: AxisType) -> str:
    return f"{axis.name}:1" if axis.name is not None and axis.expr is None else "1"


def _resize(rule: Rule, call: Call) -> TensorView | None:
    tokens = _tokens(call.source)
    if tokens is None:
        return None
    positions = {_position(arg, len(tokens)) for arg in rule.arguments if isinstance(arg, int)}
    resized = [UNKNOWN_AXIS if i in positions else token for i, token in enumerate(tokens)]
    return TensorView(call.source.info, " ".join(resized), None, call.source.dtype)


def _append(rule: Rule, call: Call) -> TensorView | None:
    tokens = _tokens(call.source)
    if tokens is None:
        return None
    return TensorView(call.source.info, " ".join([*tokens, UNKNOWN_AXIS]), None, None)


def _stack(rule: Rule, call: Call) -> TensorView | None:
    joined = _common(call.sources)
    tokens = None if joined is None else _tokens(joined)
    dim = call.argument(rule.arguments[0]) if rule.arguments else None
    position = _position(0 if dim is None else dim, len(tokens) + 1) if tokens is not None else None
    if joined is None or tokens is None or position is None:
        return None
    return _with_axes(joined, [*tokens[:position], UNKNOWN_AXIS, *tokens[position:]])


def _common(views: Sequence[TensorView]) -> TensorView | None:
    """The one neural type of a sequence of tensors; None when unknown or they differ in axis kinds."""
    if not views or any(view.axes is None for view in views):
        return None
    first = views[0]
    kinds = [tuple(axis.kind for axis in parse_spelling(view.axes or "")) for view in views]
    if any(k != kinds[0] for k in kinds):
        return None
    elements = {None if view.element is None else view.element.type.fullname for view in views}
    return first if len(elements) == 1 else first._replace(element=None)


_TRANSFORMS: dict[str, Callable[[Rule, Call], TensorView | None]] = {
    "Keep": _keep,
    "KeepAxes": _keep_axes,
    "Normalize": _normalize,
    "Swap": _swap,
    "Reverse": _reverse,
    "Permute": _permute,
    "Drop": _drop,
    "Resize": _resize,
    "Append": _append,
    "Stack": _stack,
}
