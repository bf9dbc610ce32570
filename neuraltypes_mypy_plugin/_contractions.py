"""Transforms that combine tensors or read their meaning: products, attention, einsum, losses, sampling.

A contraction pairs an axis of one operand with an axis of another; the pair must agree in kind (both known)
and must not differ in size for every value of the symbols (``provably_different``), else it is a
``Violation``. Losses and sampling check what their inputs mean: ``cross_entropy`` takes logits,
``nll_loss`` log-probabilities, ``multinomial`` probabilities.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from mypy.nodes import Expression, ListExpr, MemberExpr, NameExpr, StrExpr, TupleExpr
from mypy.types import AnyType, Instance, TypeOfAny

from neuraltypes.core import Size, axis_kind_of_name, provably_different

from ._carrier import UNKNOWN_AXIS, TensorView
from ._messages import kinds_differ
from ._shapes import independent_axes, int_literal, is_unknown_kind, kind_name, render, size_of, token_size
from ._transforms import Call, Violation, constructor_argument, known_tokens, with_tokens

_ELEMENTS = "neuraltypes.core._elements."


def why_apart(first: str, second: str, independent: frozenset[str] = frozenset()) -> str | None:
    """Why two axes cannot be contracted with each other; None when they may be. ``independent``: the axis names
    of the function's signature, sizes free of each other (``B`` is not ``T``)."""
    kinds = kind_name(first), kind_name(second)
    if kinds[0] is not None and kinds[1] is not None:
        a, b = axis_kind_of_name(kinds[0]), axis_kind_of_name(kinds[1])
        if a != b and "any" not in (str(a), str(b)):
            return kinds_differ(first, second)
    sizes = token_size(first), token_size(second)
    if sizes[0] is not None and sizes[1] is not None and provably_different(sizes[0], sizes[1], independent):
        return "their sizes differ"
    return None


def _independent(call: Call) -> frozenset[str]:
    return independent_axes(call.args)


def _spelled(tokens: Sequence[str]) -> str:
    return f'"{" ".join(tokens)}"'


def _broadcast(first: Sequence[str], second: Sequence[str]) -> list[str]:
    """Batch axes of two operands, broadcast from the right: the first's token unless it is size 1 or unknown."""
    length = max(len(first), len(second))
    result: list[str] = []
    for offset in range(length, 0, -1):
        a = first[-offset] if offset <= len(first) else None
        b = second[-offset] if offset <= len(second) else None
        if a is None or (b is not None and (is_unknown_kind(a) or _is_one(a))):
            result.append(b if b is not None else UNKNOWN_AXIS)
        else:
            result.append(a)
    return result


def _is_one(token: str) -> bool:
    size = token_size(token)
    return size is not None and size.value == 1


def matmul(rule: object, call: Call) -> TensorView | None:
    """``a @ b``, ``matmul``, ``bmm``: ``[..., n, k] @ [..., k, m] -> [..., n, m]``."""
    other = None if call.args is None else call.args.tensor(0, "other") or call.args.tensor(0, "mat2")
    return _product(call.source, other, call)


def reflected_matmul(rule: object, call: Call) -> TensorView | None:
    """``a @ b`` typed through ``b.__rmatmul__(a)``, as mypy does when both operands are tensors."""
    other = None if call.args is None else call.args.tensor(0, "other")
    return None if other is None else _product(other, call.source, call)


def _product(first: TensorView, other: TensorView | None, call: Call) -> TensorView | None:
    a = known_tokens(first)
    b = None if other is None else known_tokens(other)
    if a is None or b is None or not a or not b:
        return None
    left = a[-1]
    right = b[0] if len(b) == 1 else b[-2]
    _refuse_unnormalized_sum(first, a, len(a) - 1)
    if other is not None and len(b) >= 2:
        _refuse_unnormalized_sum(other, b, len(b) - 2)
    why = why_apart(left, right, _independent(call))
    if why is not None:
        hint = ""
        if len(b) >= 2 and why_apart(left, b[-1], _independent(call)) is None:
            hint = " (transpose the second operand: .transpose(-2, -1))"
        raise Violation(
            f'Matrix product contracts axis "{left}" of {_spelled(a)} with axis "{right}" of {_spelled(b)}: {why}{hint}'
        )
    if len(a) == 1 and len(b) == 1:
        tokens: list[str] = []
    elif len(a) == 1:
        tokens = [*b[:-2], b[-1]]
    elif len(b) == 1:
        tokens = a[:-1]
    else:
        tokens = [*_broadcast(a[:-2], b[:-2]), a[-2], b[-1]]
    return TensorView(call.source.info, " ".join(tokens), None, _same_dtype(first, other))


def _refuse_unnormalized_sum(operand: TensorView, tokens: list[str], summed: int) -> None:
    """Weights from a softmax are summed by a product over the axis they sum to one along; any other axis (softmax
    over the queries, then ``attn @ v``) mixes values with weights that are not a distribution over them."""
    normalized = operand.normalized
    if normalized is None or normalized == summed or normalized >= len(tokens):
        return
    raise Violation(
        f'Matrix product sums {_spelled(tokens)} over axis {summed - len(tokens)} ("{tokens[summed]}"), but its '
        f'values were normalized over axis {normalized - len(tokens)} ("{tokens[normalized]}"): softmax over the '
        f"axis the product sums over (dim={summed - len(tokens)})"
    )


def _same_dtype(first: TensorView, second: TensorView | None) -> str | None:
    return first.dtype if second is not None and first.dtype == second.dtype else None


def attention(rule: object, call: Call) -> TensorView | None:
    """``F.scaled_dot_product_attention(q, k, v)``: ``q[..., L, E]``, ``k[..., S, E]``, ``v[..., S, Ev]``."""
    q = known_tokens(call.source)
    key = None if call.args is None else call.args.tensor(0, "key")
    value = None if call.args is None else call.args.tensor(1, "value")
    k = None if key is None else known_tokens(key)
    v = None if value is None else known_tokens(value)
    if q is None or k is None or v is None or len(q) < 2 or len(k) < 2 or len(v) < 2:
        return None
    why = why_apart(q[-1], k[-1], _independent(call))
    if why is not None:
        raise Violation(
            f'Attention compares axis "{q[-1]}" of the query {_spelled(q)} with axis "{k[-1]}" of the key '
            f"{_spelled(k)}: {why}"
        )
    why = why_apart(k[-2], v[-2], _independent(call))
    if why is not None:
        raise Violation(
            f'Attention pairs axis "{k[-2]}" of the key {_spelled(k)} with axis "{v[-2]}" of the value '
            f"{_spelled(v)}: {why}"
        )
    return TensorView(call.source.info, " ".join([*q[:-1], v[-1]]), None, call.source.dtype)


def einsum(rule: object, call: Call) -> TensorView | None:
    """``torch.einsum("bhqd,bhkd->bhqk", q, k)``: letters name axes; a letter's axes must agree."""
    if call.args is None or not call.args.positional:
        return None
    equation = call.args.positional[0].expression
    if not isinstance(equation, StrExpr) or "->" not in equation.value or "." in equation.value:
        return None
    inputs, output = equation.value.replace(" ", "").split("->")
    operands = [call.args.tensor(i) for i in range(1, len(call.args.positional))]
    letters = inputs.split(",")
    if len(operands) != len(letters) or any(view is None for view in operands):
        return None
    seen: dict[str, tuple[str, list[str]]] = {}
    for view, spec in zip(operands, letters, strict=True):
        tokens = None if view is None else known_tokens(view)
        if tokens is None or len(tokens) != len(spec):
            return None
        for letter, token in zip(spec, tokens, strict=True):
            if letter not in seen:
                seen[letter] = (token, tokens)
                continue
            earlier, earlier_tokens = seen[letter]
            why = why_apart(earlier, token, _independent(call))
            if why is not None:
                raise Violation(
                    f'einsum "{equation.value}" pairs axis "{earlier}" of {_spelled(earlier_tokens)} with axis '
                    f'"{token}" of {_spelled(tokens)} (both "{letter}"): {why}'
                )
    if any(letter not in seen for letter in output):
        return None
    return TensorView(call.source.info, " ".join(seen[letter][0] for letter in output), None, None)


def _is(element: Instance | None, name: str) -> bool:
    return element is not None and element.type.has_base(_ELEMENTS + name)


def _refuse(operation: str, element: Instance | None, refused: tuple[str, ...], wanted: str, fix: str) -> None:
    """A ``Violation`` when ``element`` is one an operation cannot take: ``nll_loss`` given logits."""
    if element is not None and any(_is(element, name) for name in refused):
        raise Violation(f"{operation} takes {wanted}; it got {element.type.name}: {fix}")


def cross_entropy(rule: object, call: Call) -> TensorView | None:
    """``F.cross_entropy(input, target)``: logits ``(N, C)`` or ``(N, C, d...)``, class labels ``(N, d...)``."""
    if _is(call.source.element, "ProbsType"):
        raise Violation(
            "cross_entropy takes logits and applies log_softmax itself; it got probabilities (ProbsType): "
            "pass the logits from before the softmax"
        )
    return _classification_loss("cross_entropy", call)


def nll_loss(rule: object, call: Call) -> TensorView | None:
    """``F.nll_loss(input, target)``: log-probabilities, as from ``log_softmax``."""
    refused = ("ProbsType", "LogitsType")
    _refuse("nll_loss", call.source.element, refused, "log-probabilities (LogprobsType)", "apply log_softmax first")
    tokens = known_tokens(call.source)
    if tokens is not None and len(tokens) >= 2:
        _refuse_normalized_elsewhere("nll_loss", call.source, tokens, 1)
    return _classification_loss("nll_loss", call)


def _refuse_normalized_elsewhere(name: str, source: TensorView, tokens: list[str], classes: int) -> None:
    """A loss reads the classes on one axis: log-probabilities normalized over another are not a distribution."""
    if source.normalized is None or source.normalized == classes or source.normalized >= len(tokens):
        return
    raise Violation(
        f'{name} reads the classes of {_spelled(tokens)} on axis {classes} ("{tokens[classes]}"), but the '
        f'log-probabilities were normalized over axis {source.normalized} ("{tokens[source.normalized]}"): '
        "log_softmax over the class axis"
    )


def _classification_loss(name: str, call: Call) -> TensorView | None:
    target = None if call.args is None else call.args.tensor(0, "target")
    logits = known_tokens(call.source)
    labels = None if target is None else known_tokens(target)
    if logits is not None and labels is not None and len(logits) >= 2 and len(labels) == len(logits) - 1:
        _check_labels(name, logits, labels)
    reduction = None if call.args is None else call.args.get(None, "reduction")
    if reduction is None and not call.is_module:
        return TensorView(call.source.info, "", None, None)
    if reduction is not None and isinstance(reduction.expression, StrExpr):
        if reduction.expression.value in ("mean", "sum"):
            return TensorView(call.source.info, "", None, None)
        if reduction.expression.value == "none" and labels is not None:
            return TensorView(call.source.info, " ".join(labels), None, None)
    return TensorView(call.source.info, None, None, None)


def _check_labels(name: str, logits: list[str], labels: list[str]) -> None:
    expected = [logits[0], *logits[2:]]
    problems = [(a, b) for a, b in zip(expected, labels, strict=True) if why_apart(a, b) is not None]
    # `(B, T, V)` logits with `(B, T)` labels, even where the class axis is unknown (`(B, T, ?)` from a head):
    # the labels are the logits' axes up to the last, which puts the classes last, not on axis 1.
    classes_last = len(logits) >= 3 and labels == logits[:-1] and not any(map(is_unknown_kind, labels))
    if not problems and not classes_last:
        return
    if classes_last or all(why_apart(a, b) is None for a, b in zip(logits[:-1], labels, strict=True)):
        raise Violation(
            f"{name} takes the classes on axis 1: logits {_spelled(logits)} with labels {_spelled(labels)} read "
            f'"{logits[1]}" as the classes; flatten both (logits.view(-1, logits.size(-1)), labels.view(-1)) '
            "or move the class axis (logits.transpose(1, 2))"
        )
    a, b = problems[0]
    raise Violation(
        f'{name}: labels {_spelled(labels)} do not fit logits {_spelled(logits)} (axis "{b}" faces "{a}"); '
        "labels have the logits' axes without the class axis (axis 1)"
    )


def top_k(rule: object, call: Call) -> tuple[TensorView, ...] | None:
    """``topk(k, dim=-1)``: values (meaning kept) and indices, ``k`` long on ``dim``."""
    tokens = known_tokens(call.source)
    if tokens is None or call.args is None:
        return None
    k = call.args.size(0, "k")
    dim = call.args.integer(1, "dim", -1)
    if dim is None or not -len(tokens) <= dim < len(tokens):
        return None
    dim %= len(tokens)
    resized = [*tokens[:dim], render(kind_name(tokens[dim]), k), *tokens[dim + 1 :]]
    values = with_tokens(call.source, resized)
    return values, TensorView(call.source.info, " ".join(resized), call.element, "int64")


def sort(rule: object, call: Call) -> tuple[TensorView, ...] | None:
    if call.source.axes is None and call.source.element is None:
        return None
    return call.source, TensorView(call.source.info, call.source.axes, call.element, "int64")


def sample(rule: object, call: Call) -> TensorView | None:
    """``torch.multinomial(probs, n)``: draws from probabilities; ``(N, C) -> (N, n)`` labels."""
    refused = ("LogitsType", "LogprobsType")
    _refuse("multinomial", call.source.element, refused, "probabilities (ProbsType)", "apply softmax first")
    tokens = known_tokens(call.source)
    count = None if call.args is None else call.args.size(0, "num_samples")
    if tokens is None or not 1 <= len(tokens) <= 2:
        return TensorView(call.source.info, None, call.element, "int64")
    return TensorView(call.source.info, " ".join([*tokens[:-1], render(None, count)]), call.element, "int64")


def multihead_attention(rule: object, call: Call) -> tuple[TensorView | None, ...] | None:
    """``nn.MultiheadAttention()(query, key, value)``: the output has the query's axes (batch first or not) and
    meaning; the attention weights are left unknown. The key and value must agree on their length axis."""
    key = None if call.args is None else call.args.tensor(0, "key")
    value = None if call.args is None else call.args.tensor(1, "value")
    k = None if key is None else known_tokens(key)
    v = None if value is None else known_tokens(value)
    if k is not None and v is not None and len(k) == len(v):
        for a, b in zip(k[:-1], v[:-1], strict=True):
            why = why_apart(a, b, _independent(call))
            if why is not None:
                raise Violation(
                    f'MultiheadAttention pairs axis "{a}" of the key {_spelled(k)} with axis "{b}" of the value '
                    f"{_spelled(v)}: {why}"
                )
    batch_first = constructor_argument(call, 99, "batch_first")
    q = known_tokens(call.source)
    built_batch_second = call.constructor is not None and not (
        isinstance(batch_first, NameExpr) and batch_first.fullname == "builtins.True"
    )
    if built_batch_second and q is not None and len(q) == 3 and _kind(q[0]) == "batch" and _kind(q[1]) != "batch":
        raise Violation(
            f"MultiheadAttention built without batch_first=True takes (T, B, D), sequence first; it got "
            f"{_spelled(q)}: build it with batch_first=True, or pass query.transpose(0, 1)"
        )
    if not call.source.known:
        return None
    return call.source, None


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


def ctc_loss(rule: object, call: Call) -> TensorView | None:
    """``F.ctc_loss(log_probs, targets, input_lengths, target_lengths)``: log-probabilities, time first."""
    refused = ("ProbsType", "LogitsType")
    _refuse("ctc_loss", call.source.element, refused, "log-probabilities (LogprobsType)", "apply log_softmax first")
    tokens = known_tokens(call.source)
    if tokens is not None and len(tokens) == 3 and _kind(tokens[0]) == "batch" and _kind(tokens[1]) == "time":
        raise Violation(
            f"ctc_loss takes log-probabilities (T, N, C), time first; it got {_spelled(tokens)}: "
            "pass log_probs.transpose(0, 1)"
        )
    if tokens is not None and len(tokens) == 3:
        _refuse_normalized_elsewhere("ctc_loss", call.source, tokens, 2)
    reduction = None if call.args is None else call.args.get(None, "reduction")
    if reduction is None and not call.is_module:
        return TensorView(call.source.info, "", None, None)
    return TensorView(call.source.info, None, None, None)


@lru_cache(maxsize=4096)
def _kind(token: str) -> str | None:
    name = kind_name(token)
    return None if name is None else str(axis_kind_of_name(name))


def broadcast(rule: object, call: Call) -> TensorView | None:
    """``a + b``, ``a * b`` ...: axes broadcast from the right; two axes of known, different kinds facing each
    other (neither of size 1) are an error. The result means what ``a`` means."""
    return _broadcast_result(call, keep_element=True)


def _check_lined_up(what: str, a: Sequence[str], b: Sequence[str], independent: frozenset[str] = frozenset()) -> None:
    """Axes of two tensors lined up from the right must not differ in kind or size (an axis of size 1 stretches)."""
    for x, y in zip(reversed(a), reversed(b), strict=False):
        if _is_one(x) or _is_one(y):
            continue
        kinds = _kind(x), _kind(y)
        sizes = token_size(x), token_size(y)
        if None not in kinds and "any" not in kinds and kinds[0] != kinds[1]:
            why = kinds_differ(x, y)
        elif sizes[0] is not None and sizes[1] is not None and provably_different(sizes[0], sizes[1], independent):
            why = "their sizes differ"
        else:
            continue
        raise Violation(
            f'{what} {_spelled(a)} with {_spelled(b)} lines up axis "{x}" with axis "{y}": {why} (add the missing '
            "axis with [..., None] or .unsqueeze(), or move the axes first)"
        )


def masked_fill(rule: object, call: Call) -> TensorView | None:
    """``x.masked_fill(mask, value)``: the mask broadcasts to ``x``; the result is ``x``'s type."""
    a = known_tokens(call.source)
    mask = None if call.args is None else call.args.tensor(0, "mask")
    b = None if mask is None else known_tokens(mask)
    if a is not None and b is not None:
        _check_lined_up("Masking", a, b, _independent(call))
    return call.source


def convolution(rule: object, call: Call) -> TensorView | None:
    """``nn.Conv1d``/``nn.Conv2d``: channels first, ``(N, C, L)`` / ``(N, C, H, W)``; the channels and the
    convolved axes get new sizes (unknown here). A time or spatial axis where the channels go, with the channels
    last, is an error: the input is channels-last."""
    tokens = known_tokens(call.source)
    spatial = 1 if rule_name(rule) == "Conv1d" else 2
    if tokens is None or len(tokens) < spatial + 1:
        return None
    channels, last = _kind(tokens[-spatial - 1]), _kind(tokens[-1])
    if channels in ("time", "height", "width") and last == "dimension":
        raise Violation(
            f"{rule_name(rule)} takes its channels first, ({'N, C, L' if spatial == 1 else 'N, C, H, W'}); it got "
            f"{_spelled(tokens)}, channels last: move the channels first (e.g. .transpose(1, 2))"
        )
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
    _check_lined_up("Broadcasting", a, b, _independent(call))
    tokens = _broadcast(a, b) if len(a) >= len(b) else _broadcast(b, a)
    return TensorView(call.source.info, " ".join(tokens), element, call.source.dtype if keep_element else None)


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
            why = None if index == position else why_apart(first[index], tokens[index], _independent(call))
            if why is not None:
                raise Violation(
                    f'cat along axis {position} joins {_spelled(first)} with {_spelled(tokens)}: axis {index} "'
                    f'{first[index]}" faces "{tokens[index]}": {why}; only the joined axis may differ'
                )
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
