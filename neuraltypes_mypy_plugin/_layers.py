"""Transforms of layers whose construction sets sizes: ``nn.Linear``, ``nn.Embedding``, ``nn.Conv1d``/``2d``,
``nn.GLU``; and the factories that make a tensor from sizes alone (``torch.zeros``, ``torch.arange``).

The sizes are read from the call that built the layer (``nn.Linear(n_embd, 3 * n_embd)`` in ``__init__``); a
layer built with a symbol that meets an axis teaches the function what the symbol stands for.
"""

from __future__ import annotations

from mypy.nodes import Expression, ListExpr, MemberExpr, NameExpr, StrExpr, TupleExpr
from mypy.types import AnyType, TypeOfAny

from neuraltypes.core import Size

from ._carrier import UNKNOWN_AXIS, TensorView
from ._contractions import kind_of
from ._messages import channels_first_expected
from ._sizes import int_literal, size_of
from ._tokens import kind_name, render, token_size
from ._transforms import Call, Violation, constructor_argument, known_tokens, with_tokens


def convolution(rule: object, call: Call) -> TensorView | None:
    """``nn.Conv1d``/``nn.Conv2d``: channels first, ``(N, C, L)`` / ``(N, C, H, W)``; the channels and the
    convolved axes get new sizes (unknown here). A time or spatial axis where the channels go, with the channels
    last, is an error: the input is channels-last."""
    tokens = known_tokens(call.source)
    spatial = 1 if rule_name(rule) == "Conv1d" else 2
    if tokens is None or len(tokens) < spatial + 1:
        return None
    channels, last = kind_of(tokens[-spatial - 1]), kind_of(tokens[-1])
    if channels in ("time", "height", "width") and last == "dimension":
        raise Violation(channels_first_expected(rule_name(rule), spatial, tokens))
    out_channels = _constructed_size(call, 1, "out_channels")
    lead = tokens[: -spatial - 1]
    channel = render(kind_name(tokens[-spatial - 1]), out_channels) if out_channels is not None else "?"
    lengths = [_convolved(call, token, index) for index, token in enumerate(tokens[-spatial:])]
    return TensorView(call.source.info, " ".join([*lead, channel, *lengths]), None, call.source.dtype)


def _constructed_size(call: Call, position: int, name: str) -> Size | None:
    given = constructor_argument(call, position, name)
    if given is None:
        return None
    if isinstance(given, TupleExpr):
        return None
    return _constructor_size(call, given)


def _constructor_size(call: Call, given: Expression) -> Size | None:
    """The size a constructor argument stands for: written in ``__init__``, whose names (``inner_dim * 3``) mypy
    may not have typed, so every name in it is read as a size symbol."""
    aliases = None if call.args is None else call.args.aliases
    return size_of(given, _UNTYPED, lambda _: _UNTYPED, aliases)


_UNTYPED = AnyType(TypeOfAny.special_form)


def _per_axis(call: Call, position: int, name: str, index: int, default: int) -> Size | None:
    given = constructor_argument(call, position, name)
    if given is None:
        return Size.constant(default) if call.constructor is not None else None
    if isinstance(given, TupleExpr):
        given = given.items[index] if index < len(given.items) else None
        if given is None:
            return None
    if isinstance(given, StrExpr):
        return None
    return _constructor_size(call, given)


def _convolved(call: Call, token: str, index: int) -> str:
    """A convolved axis: ``(L + 2p - d(k - 1) - 1) // s + 1``, with the construction's sizes; its kind kept."""
    length = token_size(token)
    kernel = _per_axis(call, 2, "kernel_size", index, 1)
    stride = _per_axis(call, 3, "stride", index, 1)
    padding = _per_axis(call, 4, "padding", index, 0)
    dilation = _per_axis(call, 5, "dilation", index, 1)
    same = constructor_argument(call, 4, "padding")
    if isinstance(same, StrExpr) and same.value == "same" and length is not None:
        return token
    if None in (length, kernel, stride, padding, dilation):
        return "?"
    assert length is not None and kernel is not None and stride is not None and padding is not None
    assert dilation is not None
    one = Size.constant(1)
    reach = dilation * kernel.add(one, -1)
    spanned = length.add(Size.constant(2) * padding).add(reach, -1).add(one, -1)
    result = spanned if stride == one else spanned.divide(stride)
    result = result.add(one)
    if result == length:
        return token
    return render(kind_name(token), result)


def rule_name(rule: object) -> str:
    target = getattr(rule, "target", "")
    return str(target).rpartition(".")[0].rpartition(".")[2]


def linear(rule: object, call: Call) -> TensorView | None:
    """``nn.Linear(in, out)(x)``: the last axis becomes ``out`` features, of unknown kind; meaning unknown."""
    tokens = known_tokens(call.source)
    if tokens is None:
        return None
    _learn(call, constructor_argument(call, 0, "in_features"), token_size(tokens[-1]))
    out = _constructed_size(call, 1, "out_features")
    return TensorView(call.source.info, " ".join([*tokens[:-1], render(UNKNOWN_AXIS, out)]), None, call.source.dtype)


def _learn(call: Call, built_with: object, size: Size | None) -> None:
    """A layer built with ``n_embd`` features met an axis of size ``C``: in this function, ``n_embd`` is ``C``."""
    table = None if call.args is None else call.args.aliases
    if table is None or size is None or not isinstance(built_with, (NameExpr, MemberExpr)):
        return
    name = built_with.name.lstrip("_")
    if name and name not in table and Size.symbol(name) != size and size.names.isdisjoint({name}):
        table[name] = size


def embedding(rule: object, call: Call) -> TensorView | None:
    """``nn.Embedding(n, dim)(ids)``: a new last axis of ``dim`` features; meaning unknown."""
    tokens = known_tokens(call.source)
    if tokens is None:
        return None
    dim = _constructed_size(call, 1, "embedding_dim")
    return TensorView(call.source.info, " ".join([*tokens, render(UNKNOWN_AXIS, dim)]), None, None)


def glu(rule: object, call: Call) -> TensorView | None:
    """``nn.GLU(dim)`` / ``F.glu(x, dim)``: the axis ``dim`` (default -1) is halved; meaning kept."""
    tokens = known_tokens(call.source)
    given = constructor_argument(call, 0, "dim") if call.is_module else None
    if call.is_module and given is None and call.constructor is None:
        return None  # built elsewhere: its dim is not known
    if call.is_module:
        dim = -1 if given is None else int_literal(given)
    else:
        dim = -1 if call.args is None else call.args.integer(0, "dim", -1)
    if tokens is None or dim is None or not -len(tokens) <= dim < len(tokens):
        return None
    dim %= len(tokens)
    size = token_size(tokens[dim])
    half = None if size is None else size.divide(Size.constant(2))
    return with_tokens(call.source, [*tokens[:dim], render(kind_name(tokens[dim]), half), *tokens[dim + 1 :]])


def arange(rule: object, call: Call) -> TensorView | None:
    """``torch.arange(end)``, ``torch.arange(start, end)``: one axis of ``end - start`` steps."""
    if call.args is None or call.args.starred or len(call.args.positional) not in (1, 2):
        return None
    if len(call.args.positional) == 1:
        size = call.args.size(0)
    else:
        start, end = call.args.size(0), call.args.size(1)
        size = None if start is None or end is None else end.add(start, -1)
    return TensorView(call.source.info, render(None, size), None, None)


def factory(rule: object, call: Call) -> TensorView | None:
    """``torch.zeros(B, T)``, ``torch.randn((B, T))``, ``torch.randint(low, high, (B, T))``: axes of those sizes."""
    if call.args is None or call.args.starred or not call.args.positional:
        return None
    shape = next((a for a in reversed(call.args.positional) if isinstance(a.expression, (TupleExpr, ListExpr))), None)
    if shape is not None:
        sizes = call.args.sizes_from(call.args.positional.index(shape), "size")
    elif getattr(rule, "target", "").endswith("randint"):
        return None
    else:
        sizes = call.args.sizes_from(0, "size")
    if sizes is None:
        return None
    return TensorView(call.source.info, " ".join(render(None, size) for size in sizes), None, None)
