"""The rule vocabulary: each transform's name in the rule files, and the function that performs it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from neuraltypes.core import AxisKind, axis_kind_of_name

from . import _contractions, _einops, _reshapes
from ._carrier import TensorView
from ._rules import Rule
from ._shapes import kind_name
from ._transforms import MEANING_KEPT, Call, Result, Violation, apply_basic, finish, known_tokens

_EXTENDED: dict[str, Callable[[Any, Call], Result]] = {
    "Rearrange": _einops.rearrange,
    "EinopsRepeat": _einops.repeat,
    "EinopsReduce": _einops.reduce,
    "Sizes": _reshapes.sizes,
    "View": _reshapes.view,
    "Flatten": _reshapes.flatten,
    "Unflatten": _reshapes.unflatten,
    "Split": _reshapes.split,
    "Chunk": _reshapes.chunk,
    "Unsqueeze": _reshapes.unsqueeze,
    "Squeeze": _reshapes.squeeze,
    "Expand": _reshapes.expand,
    "Repeat": _reshapes.repeat,
    "Index": _reshapes.index,
    "Matmul": _contractions.matmul,
    "RMatmul": _contractions.reflected_matmul,
    "Attention": _contractions.attention,
    "MultiheadAttention": _contractions.multihead_attention,
    "CtcLoss": _contractions.ctc_loss,
    "Glu": _contractions.glu,
    "MaskedFill": _contractions.masked_fill,
    "Convolution": _contractions.convolution,
    "Concat": _contractions.concat,
    "Linear": _contractions.linear,
    "Embedding": _contractions.embedding,
    "Arange": _contractions.arange,
    "Factory": _contractions.factory,
    "Broadcast": _contractions.broadcast,
    "RBroadcast": _contractions.reflected_broadcast,
    "Compare": _contractions.compare,
    "Einsum": _contractions.einsum,
    "CrossEntropy": _contractions.cross_entropy,
    "NllLoss": _contractions.nll_loss,
    "TopK": _contractions.top_k,
    "Sample": _contractions.sample,
    "Sort": _contractions.sort,
}

# Transforms that read their meaning from the rule's element type themselves (results in a tuple, or indices).
_OWN_ELEMENTS = frozenset({"TopK", "Sort", "Sample", "MultiheadAttention"})


# Operations that normalize over an axis or pick along it: over the batch axis they mix the examples of a batch.
_OVER_AN_AXIS = frozenset({"softmax", "log_softmax", "argmax", "argmin"})


def _check_batch_axis(rule: Rule, call: Call) -> None:
    name = rule.target.rpartition(".")[2]
    tokens = known_tokens(call.source) if name in _OVER_AN_AXIS else None
    dim = call.argument("dim") if tokens is not None else None
    if tokens is None or isinstance(dim, bool) or not isinstance(dim, int) or not -len(tokens) <= dim < len(tokens):
        return
    token = tokens[dim]
    kind = kind_name(token)
    if kind is not None and axis_kind_of_name(kind) is AxisKind.Batch:
        raise Violation(
            f'{name} over axis {dim} ("{token}") of "{" ".join(tokens)}" runs across the examples of a batch; '
            "name the axis of the classes (dim=-1)"
        )


def apply(rule: Rule, call: Call) -> Result:
    """The result of one call under its rule; raises ``Violation`` for a call that is wrong for every size.

    When the transform cannot tell the axes, a transform that keeps meaning keeps the element type, and a rule
    that sets one (``softmax`` gives ``ProbsType``) sets it: the meaning is known even where the axes are not.
    """
    _check_batch_axis(rule, call)
    transform = _EXTENDED.get(rule.transform)
    result = apply_basic(rule, call) if transform is None else transform(rule, call)
    if result is None:
        kept = call.source.element if rule.transform in MEANING_KEPT else None
        dtype = call.source.dtype if rule.transform in MEANING_KEPT else None
        if kept is None and call.element is None and rule.dtype is None:
            return None
        result = TensorView(call.source.info, None, kept, dtype)
        if rule.transform in _OWN_ELEMENTS:
            return result
    if isinstance(result, TensorView) and rule.transform not in _OWN_ELEMENTS:
        return finish(rule, call, result)
    return result
