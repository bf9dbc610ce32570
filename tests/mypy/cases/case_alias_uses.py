# ruff: noqa  (mypy test data: lines carry their expected reports; NT axes strings are not Python)
"""Aliases defined in another module keep their neural types."""

from case_alias_definitions import Features, Lengths, Logits


def use(x: Features, y: Logits, n: Lengths) -> None:
    reveal_type(x)  # N: Revealed type is "torch._tensor.Tensor[Literal['B T D'], neuraltypes.core._elements.EncodedRepresentation]"
    reveal_type(y)  # N: Revealed type is "torch._tensor.Tensor[Literal['B T vocab'], neuraltypes.core._elements.LogitsType]"
    reveal_type(n)  # N: Revealed type is "torch._tensor.Tensor[Literal['B'], Any]"


def returned(x: Features) -> Logits:
    return x  # E: Incompatible return value type (got "Tensor[Literal['B T D'], EncodedRepresentation]", expected "Tensor[Literal['B T vocab'], LogitsType]")  [return-value]
