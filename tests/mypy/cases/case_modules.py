# ruff: noqa  (mypy test data: lines carry their expected reports; NT axes strings are not Python)
"""module(x) and self.encoder(x) are checked against forward's neural types; methods are checked too."""

from torch import Tensor, nn

from neuraltypes.core import NT, EncodedRepresentation, LogitsType, ProbsType


class Encoder(nn.Module):
    def forward(self, x: NT[Tensor, "B T C", EncodedRepresentation]) -> NT[Tensor, "B T vocab", LogitsType]: ...


class Decoder(nn.Module):
    def forward(self, logits: NT[Tensor, "B T vocab", LogitsType]) -> Tensor: ...

    def score(self, probs: NT[Tensor, "B T vocab", ProbsType]) -> None: ...

    @staticmethod
    def normalize(probs: NT[Tensor, "B T vocab", ProbsType]) -> None: ...


class Model(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.encoder = Encoder()
        self.decoder = Decoder()
        self.plain = nn.Sequential()

    def forward(self, x: NT[Tensor, "B C T", EncodedRepresentation]) -> Tensor:
        logits = self.encoder(x.transpose(1, 2))
        reveal_type(logits)  # N: Revealed type is "torch._tensor.Tensor[Any, Any]"
        self.decoder(logits)
        self.decoder.score(logits)  # E: Argument "probs" to "score" of "Decoder" has incompatible neural type NT[Tensor, "B T vocab", LogitsType]; expected NT[Tensor, "B T vocab", ProbsType] (elements are LogitsType, not ProbsType)  [neural-type-argument]
        self.encoder(x)  # E: Argument "x" to "forward" of "Encoder" has incompatible neural type NT[Tensor, "B C T", EncodedRepresentation]; expected NT[Tensor, "B T C", EncodedRepresentation] (axes transposed)  [neural-type-argument]
        self.encoder.forward(x)  # E: Argument "x" to "forward" of "Encoder" has incompatible neural type NT[Tensor, "B C T", EncodedRepresentation]; expected NT[Tensor, "B T C", EncodedRepresentation] (axes transposed)  [neural-type-argument]
        self.decoder(self.plain(x))
        Decoder.normalize(logits.softmax(-1))
        self.decoder.normalize(logits)  # E: Argument "probs" to "normalize" of "Decoder" has incompatible neural type NT[Tensor, "B T vocab", LogitsType]; expected NT[Tensor, "B T vocab", ProbsType] (elements are LogitsType, not ProbsType)  [neural-type-argument]
        return self.decoder(self.encoder(x=x))  # E: Argument "x" to "forward" of "Encoder" has incompatible neural type NT[Tensor, "B C T", EncodedRepresentation]; expected NT[Tensor, "B T C", EncodedRepresentation] (axes transposed)  [neural-type-argument]


class Wrapped(Encoder):
    """A subclass that keeps its parent's forward: calls are checked against the parent's types."""


def call_subclass(m: Wrapped, x: NT[Tensor, "B T C", LogitsType]) -> None:
    m(x)  # E: Argument "x" to "forward" of "Encoder" has incompatible neural type NT[Tensor, "B T C", LogitsType]; expected NT[Tensor, "B T C", EncodedRepresentation] (elements are LogitsType, not EncodedRepresentation)  [neural-type-argument]
    m(x, x)  # E: Too many arguments for "forward" of "Encoder"  [call-arg]  # E: Argument "x" to "forward" of "Encoder" has incompatible neural type NT[Tensor, "B T C", LogitsType]; expected NT[Tensor, "B T C", EncodedRepresentation] (elements are LogitsType, not EncodedRepresentation)  [neural-type-argument]
