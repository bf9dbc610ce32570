# ruff: noqa  (mypy test data: lines carry their expected reports; NT axes strings are not Python)
"""Without the plugin, mypy sees NT[Tensor, ...] as plain Tensor and reports nothing."""

from torch import Tensor

from neuraltypes.core import NT, EncodedRepresentation, LogitsType

Features = NT[Tensor, "B T C", EncodedRepresentation]


def transpose(x: Features) -> NT[Tensor, "B C T", LogitsType, "float"]:
    reveal_type(x)  # N: Revealed type is "torch._tensor.Tensor"
    return x.transpose(1, 2)


def caller(x: NT[Tensor, "B C T"]) -> Tensor:
    return transpose(x)
