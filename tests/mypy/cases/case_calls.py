# ruff: noqa  (mypy test data: lines carry their expected reports; NT axes strings are not Python)
"""Calls of functions with neural-typed parameters: axes, element types, dtypes and sizes are checked."""

from torch import Tensor

from neuraltypes.core import (
    NT,
    AcousticEncodedRepresentation,
    EncodedRepresentation,
    LengthsType,
    LogitsType,
    ProbsType,
    VoidType,
)


def encode(x: NT[Tensor, "B T C", EncodedRepresentation], lengths: NT[Tensor, "B", LengthsType]) -> NT[Tensor, "B C T", EncodedRepresentation]: ...
def needs_80(x: NT[Tensor, "B C:80 T"]) -> None: ...
def needs_64(x: NT[Tensor, "B C:64 T"]) -> None: ...
def anything(x: NT[Tensor, "B T", VoidType]) -> None: ...
def floats(x: NT[Tensor, "B T", "float"]) -> None: ...
def pair(x: NT[Tensor, "B T"], y: NT[Tensor, "B T"]) -> NT[Tensor, "T B"]: ...


def accepted(
    x: NT[Tensor, "B T C", EncodedRepresentation],
    acoustic: NT[Tensor, "batch time D:80", AcousticEncodedRepresentation],
    lengths: NT[Tensor, "B", LengthsType],
) -> None:
    encode(x, lengths)
    encode(acoustic, lengths)  # a subclass of the declared element type, other spellings of the same kinds
    encode(lengths=lengths, x=x)
    needs_80(encode(acoustic, lengths))  # the result is spelled with the caller's sizes: "batch D:80 time"


def rejected(
    x: NT[Tensor, "B T C", EncodedRepresentation],
    transposed: NT[Tensor, "B C T", EncodedRepresentation],
    logits: NT[Tensor, "B T C", LogitsType],
    acoustic: NT[Tensor, "B T D:80", AcousticEncodedRepresentation],
    lengths: NT[Tensor, "B", LengthsType],
    longs: NT[Tensor, "B T", "int64"],
    rank3: NT[Tensor, "B T C"],
) -> None:
    encode(transposed, lengths)  # E: Argument "x" to "encode" has incompatible neural type NT[Tensor, "B C T", EncodedRepresentation]; expected NT[Tensor, "B T C", EncodedRepresentation] (axes transposed)  [neural-type-argument]
    encode(logits, lengths)  # E: Argument "x" to "encode" has incompatible neural type NT[Tensor, "B T C", LogitsType]; expected NT[Tensor, "B T C", EncodedRepresentation] (elements are LogitsType, not EncodedRepresentation)  [neural-type-argument]
    encode(x, x)  # E: Argument "lengths" to "encode" has incompatible neural type NT[Tensor, "B T C", EncodedRepresentation]; expected NT[Tensor, "B", LengthsType] (elements are EncodedRepresentation, not LengthsType)  [neural-type-argument]
    encode(lengths=lengths, x=transposed)  # E: Argument "x" to "encode" has incompatible neural type NT[Tensor, "B C T", EncodedRepresentation]; expected NT[Tensor, "B T C", EncodedRepresentation] (axes transposed)  [neural-type-argument]
    needs_64(encode(acoustic, lengths))  # E: Argument "x" to "needs_64" has incompatible neural type NT[Tensor, "B D:80 T", EncodedRepresentation]; expected NT[Tensor, "B C:64 T"] (axis sizes differ)  [neural-type-argument]
    floats(longs)  # E: Argument "x" to "floats" has incompatible neural type NT[Tensor, "B T", "int64"]; expected NT[Tensor, "B T", "float"] (dtype is "int64", not "float")  [neural-type-argument]
    floats(rank3)  # E: Argument "x" to "floats" has incompatible neural type NT[Tensor, "B T C"]; expected NT[Tensor, "B T", "float"] (axes differ)  [neural-type-argument]
    encode(transposed, lengths)  # type: ignore[neural-type-argument]
    encode(transposed, lengths)  # type: ignore[neural-type]  # E: Unused "type: ignore" comment, use narrower [neural-type-argument] instead of [neural-type] code  [unused-ignore]


def sizes_unified(a: NT[Tensor, "B:4 T"], b: NT[Tensor, "B:8 T"], c: NT[Tensor, "B T"]) -> None:
    pair(a, a)
    pair(a, c)  # an unknown size is not a clash
    pair(a, b)  # E: Argument "y" to "pair" has incompatible size for axis "B": "B:8", but argument "x" gave it "B:4"  [neural-type-size]
    reveal_type(pair(a, c))  # N: Revealed type is "torch._tensor.Tensor[Any, Any]"


def void_accepts_anything(x: NT[Tensor, "B T", LogitsType], v: NT[Tensor, "B T", VoidType]) -> None:
    anything(x)
    encode(v, v)  # E: Argument "x" to "encode" has incompatible neural type NT[Tensor, "B T", VoidType]; expected NT[Tensor, "B T C", EncodedRepresentation] (elements are VoidType, not EncodedRepresentation)  [neural-type-argument]
