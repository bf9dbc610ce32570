"""The rule vocabulary: each transform's name in the rule files, and the function that performs it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from neuraltypes.core import AxisKind, axis_kind_of_name

from . import _broadcasting, _contractions, _einops, _layers, _losses, _reshapes
from ._carrier import TensorView
from ._messages import over_the_batch
from ._rules import Rule
from ._tokens import kind_name
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
    "CtcLoss": _losses.ctc_loss,
    "Glu": _layers.glu,
    "MaskedFill": _broadcasting.masked_fill,
    "Convolution": _layers.convolution,
    "Concat": _broadcasting.concat,
    "Linear": _layers.linear,
    "Embedding": _layers.embedding,
    "Arange": _layers.arange,
    "Factory": _layers.factory,
    "Broadcast": _broadcasting.broadcast,
    "RBroadcast": _broadcasting.reflected_broadcast,
    "Compare": _broadcasting.compare,
    "Einsum": _contractions.einsum,
    "CrossEntropy": _losses.cross_entropy,
    "NllLoss": _losses.nll_loss,
    "TopK": _losses.top_k,
    "Sample": _losses.sample,
    "Sort": _losses.sort,
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
    kind = kind_name(tokens[dim])
    if kind is not None and axis_kind_of_name(kind) is AxisKind.Batch:
        raise Violation(over_the_batch(name, dim, tokens))


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
