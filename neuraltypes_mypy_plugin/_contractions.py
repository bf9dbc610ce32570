"""Transforms that contract axes of two tensors: matrix products, attention, einsum.

A contraction pairs an axis of one operand with an axis of another; the pair must agree in kind (both known)
and must not differ in size for every value of the symbols (``provably_different``), else it is a
``Violation``. ``why_apart`` is that test, shared by every transform that lines up axes.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from mypy.nodes import NameExpr, StrExpr

from neuraltypes.core import axis_kind_of_name, provably_different

from ._carrier import UNKNOWN_AXIS, TensorView
from ._function_sizes import independent_axes
from ._messages import (
    batch_first_expected,
    einsum_apart,
    key_value_apart,
    kinds_differ,
    product_apart,
    query_key_apart,
    unnormalized_sum,
)
from ._tokens import is_unknown_kind, kind_name, token_size
from ._transforms import Call, Violation, constructor_argument, known_tokens


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


def independent(call: Call) -> frozenset[str]:
    return independent_axes(call.args)


def spelled(tokens: Sequence[str]) -> str:
    return f'"{" ".join(tokens)}"'


def broadcast_tokens(first: Sequence[str], second: Sequence[str]) -> list[str]:
    """Batch axes of two operands, broadcast from the right: the first's token unless it is size 1 or unknown."""
    length = max(len(first), len(second))
    result: list[str] = []
    for offset in range(length, 0, -1):
        a = first[-offset] if offset <= len(first) else None
        b = second[-offset] if offset <= len(second) else None
        if a is None or (b is not None and (is_unknown_kind(a) or is_one(a))):
            result.append(b if b is not None else UNKNOWN_AXIS)
        else:
            result.append(a)
    return result


def is_one(token: str) -> bool:
    size = token_size(token)
    return size is not None and size.value == 1


@lru_cache(maxsize=4096)
def kind_of(token: str) -> str | None:
    name = kind_name(token)
    return None if name is None else str(axis_kind_of_name(name))


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
    why = why_apart(left, right, independent(call))
    if why is not None:
        transposable = len(b) >= 2 and why_apart(left, b[-1], independent(call)) is None
        raise Violation(product_apart(a, left, b, right, why, transposable))
    if len(a) == 1 and len(b) == 1:
        tokens: list[str] = []
    elif len(a) == 1:
        tokens = [*b[:-2], b[-1]]
    elif len(b) == 1:
        tokens = a[:-1]
    else:
        tokens = [*broadcast_tokens(a[:-2], b[:-2]), a[-2], b[-1]]
    return TensorView(call.source.info, " ".join(tokens), None, _same_dtype(first, other))


def _refuse_unnormalized_sum(operand: TensorView, tokens: list[str], summed: int) -> None:
    """Weights from a softmax are summed by a product over the axis they sum to one along; any other axis (softmax
    over the queries, then ``attn @ v``) mixes values with weights that are not a distribution over them."""
    normalized = operand.normalized
    if normalized is None or normalized == summed or normalized >= len(tokens):
        return
    raise Violation(unnormalized_sum(tokens, summed, normalized))


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
    why = why_apart(q[-1], k[-1], independent(call))
    if why is not None:
        raise Violation(query_key_apart(q, k, why))
    why = why_apart(k[-2], v[-2], independent(call))
    if why is not None:
        raise Violation(key_value_apart("Attention", k, k[-2], v, v[-2], why))
    return TensorView(call.source.info, " ".join([*q[:-1], v[-1]]), None, call.source.dtype)


def multihead_attention(rule: object, call: Call) -> tuple[TensorView | None, ...] | None:
    """``nn.MultiheadAttention()(query, key, value)``: the output has the query's axes (batch first or not) and
    meaning; the attention weights are left unknown. The key and value must agree on their length axis."""
    key = None if call.args is None else call.args.tensor(0, "key")
    value = None if call.args is None else call.args.tensor(1, "value")
    k = None if key is None else known_tokens(key)
    v = None if value is None else known_tokens(value)
    if k is not None and v is not None and len(k) == len(v):
        for a, b in zip(k[:-1], v[:-1], strict=True):
            why = why_apart(a, b, independent(call))
            if why is not None:
                raise Violation(key_value_apart("MultiheadAttention", k, a, v, b, why))
    batch_first = constructor_argument(call, 99, "batch_first")
    q = known_tokens(call.source)
    built_batch_second = call.constructor is not None and not (
        isinstance(batch_first, NameExpr) and batch_first.fullname == "builtins.True"
    )
    if built_batch_second and q is not None and len(q) == 3 and kind_of(q[0]) == "batch" and kind_of(q[1]) != "batch":
        raise Violation(batch_first_expected(q))
    if not call.source.known:
        return None
    return call.source, None


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
            why = why_apart(earlier, token, independent(call))
            if why is not None:
                raise Violation(einsum_apart(equation.value, letter, earlier_tokens, earlier, tokens, token, why))
    if any(letter not in seen for letter in output):
        return None
    return TensorView(call.source.info, " ".join(seen[letter][0] for letter in output), None, None)
