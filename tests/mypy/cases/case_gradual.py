# ruff: noqa  (mypy test data: lines carry their expected reports; NT axes strings are not Python)
"""Tensors of unknown neural type are accepted where typed ones are expected, and the other way round."""

import torch
from torch import Tensor

from neuraltypes.core import NT, EncodedRepresentation, LogitsType

Features = NT[Tensor, "B T C", EncodedRepresentation]


def typed(x: Features) -> Features: ...
def untyped(x: Tensor) -> Tensor: ...


def unknown_into_typed(x: Tensor) -> Features:
    y = typed(x)
    z = typed(torch.zeros(2, 3, 4))
    w: Features = untyped(y)
    return untyped(w) + z


def typed_into_unknown(x: Features) -> Tensor:
    items: list[Tensor] = [x, typed(x)]
    untyped(x)
    return untyped(items[0])


def op_results_are_unknown(x: Features) -> Features:
    return x.view(2, -1).reshape(x.shape)


def maybe(x: Features | None) -> None: ...


def optional_typed(x: Features | None, logits: NT[Tensor, "B T C", LogitsType]) -> None:
    maybe(x)
    maybe(None)
    maybe(logits)  # E: Argument "x" to "maybe" has incompatible neural type NT[Tensor, "B T C", LogitsType]; expected NT[Tensor, "B T C", EncodedRepresentation] (elements are LogitsType, not EncodedRepresentation)  [neural-type-argument]
