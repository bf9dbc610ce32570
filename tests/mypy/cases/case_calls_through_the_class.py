# ruff: noqa  (mypy test data: lines carry their expected reports; NT axes strings are not Python)
"""A method called through its class (``Encoder.forward(encoder, x)``) is an ordinary call: the first argument
is ``self``, the others are checked against the neural types and the result is typed. Calls on an instance
are checked as before."""

from torch import Tensor, nn

from neuraltypes.core import NT, EncodedRepresentation, LogitsType, ProbsType


class Encoder(nn.Module):
    def forward(self, x: NT[Tensor, "B T C", EncodedRepresentation]) -> NT[Tensor, "B T vocab", LogitsType]: ...

    def features_first(self, x: NT[Tensor, "B T C"]) -> NT[Tensor, "B C T"]: ...

    @classmethod
    def score(cls, probs: NT[Tensor, "B T vocab", ProbsType]) -> None: ...

    @staticmethod
    def normalize(probs: NT[Tensor, "B T vocab", ProbsType]) -> None: ...


class Wrapped(Encoder):
    """Keeps its parent's forward."""


class Refined(Encoder):
    def forward(self, x: NT[Tensor, "B T C", EncodedRepresentation]) -> NT[Tensor, "B T vocab", LogitsType]:
        return super().forward(x)


def through_the_class(
    encoder: Encoder,
    wrapped: Wrapped,
    x: NT[Tensor, "batch time D:80", EncodedRepresentation],
    transposed: NT[Tensor, "B C T", EncodedRepresentation],
    logits: NT[Tensor, "B T vocab", LogitsType],
    cls: type[Encoder],
) -> None:
    reveal_type(Encoder.forward(encoder, x))  # N: Revealed type is "torch._tensor.Tensor[Any, Any]"
    Encoder.forward(encoder, x=x)
    Encoder.forward(self=encoder, x=x)
    Encoder.forward(wrapped, x)
    Wrapped.forward(wrapped, x)
    cls.forward(encoder, x)
    Encoder.__call__(encoder, x)
    Encoder.forward(encoder, transposed)  # E: Argument "x" to "forward" of "Encoder" has incompatible neural type NT[Tensor, "B C T", EncodedRepresentation]; expected NT[Tensor, "B T C", EncodedRepresentation] (axes transposed)  [neural-type-argument]
    Encoder.forward(encoder, x=logits)  # E: Argument "x" to "forward" of "Encoder" has incompatible neural type NT[Tensor, "B T vocab", LogitsType]; expected NT[Tensor, "B T C", EncodedRepresentation] (elements are LogitsType, not EncodedRepresentation)  [neural-type-argument]
    Wrapped.forward(wrapped, transposed)  # E: Argument "x" to "forward" of "Encoder" has incompatible neural type NT[Tensor, "B C T", EncodedRepresentation]; expected NT[Tensor, "B T C", EncodedRepresentation] (axes transposed)  [neural-type-argument]
    cls.forward(encoder, transposed)  # E: Argument "x" to "forward" of "Encoder" has incompatible neural type NT[Tensor, "B C T", EncodedRepresentation]; expected NT[Tensor, "B T C", EncodedRepresentation] (axes transposed)  [neural-type-argument]
    Encoder.__call__(encoder, transposed)  # E: Argument "x" to "forward" of "Encoder" has incompatible neural type NT[Tensor, "B C T", EncodedRepresentation]; expected NT[Tensor, "B T C", EncodedRepresentation] (axes transposed)  [neural-type-argument]
    Encoder.forward(x, x)  # E: Argument 1 to "forward" of "Encoder" has incompatible type "Tensor[Literal['B T D'], EncodedRepresentation]"; expected "Encoder"  [arg-type]
    Encoder.forward(encoder)  # E: Missing positional argument "x" in call to "forward" of "Encoder"  [call-arg]
    Encoder.forward(encoder, x, x)  # E: Too many arguments for "forward" of "Encoder"  [call-arg]


def needs_64(x: NT[Tensor, "B C:64 T"]) -> None: ...


def results_are_spelled_with_the_call_sizes(encoder: Encoder, x: NT[Tensor, "B T D:80"]) -> None:
    needs_64(Encoder.features_first(encoder, x))  # E: Argument "x" to "needs_64" has incompatible neural type NT[Tensor, "B D:80 T"]; expected NT[Tensor, "B C:64 T"] (axis sizes differ)  [neural-type-argument]


def class_and_static_methods_bind_alike(encoder: Encoder, logits: NT[Tensor, "B T vocab", LogitsType]) -> None:
    Encoder.score(logits.softmax(-1))
    Encoder.normalize(logits.softmax(-1))
    Encoder.score(logits)  # E: Argument "probs" to "score" of "Encoder" has incompatible neural type NT[Tensor, "B T vocab", LogitsType]; expected NT[Tensor, "B T vocab", ProbsType] (elements are LogitsType, not ProbsType)  [neural-type-argument]
    encoder.score(logits)  # E: Argument "probs" to "score" of "Encoder" has incompatible neural type NT[Tensor, "B T vocab", LogitsType]; expected NT[Tensor, "B T vocab", ProbsType] (elements are LogitsType, not ProbsType)  [neural-type-argument]
    Encoder.normalize(logits)  # E: Argument "probs" to "normalize" of "Encoder" has incompatible neural type NT[Tensor, "B T vocab", LogitsType]; expected NT[Tensor, "B T vocab", ProbsType] (elements are LogitsType, not ProbsType)  [neural-type-argument]


def on_an_instance_as_before(
    encoder: Encoder, x: NT[Tensor, "batch time D:80", EncodedRepresentation], transposed: NT[Tensor, "B C T", EncodedRepresentation]
) -> None:
    reveal_type(encoder.forward(x))  # N: Revealed type is "torch._tensor.Tensor[Any, Any]"
    reveal_type(encoder(x))  # N: Revealed type is "torch._tensor.Tensor[Any, Any]"
    encoder.forward(transposed)  # E: Argument "x" to "forward" of "Encoder" has incompatible neural type NT[Tensor, "B C T", EncodedRepresentation]; expected NT[Tensor, "B T C", EncodedRepresentation] (axes transposed)  [neural-type-argument]
    encoder(transposed)  # E: Argument "x" to "forward" of "Encoder" has incompatible neural type NT[Tensor, "B C T", EncodedRepresentation]; expected NT[Tensor, "B T C", EncodedRepresentation] (axes transposed)  [neural-type-argument]
    encoder(encoder, x)  # E: Too many arguments for "forward" of "Encoder"  [call-arg]  # E: Argument 1 to "forward" of "Encoder" has incompatible type "Encoder"; expected "Tensor[Any, Any]"  [arg-type]


class Child(Encoder):
    def forward(self, x: NT[Tensor, "B T C", EncodedRepresentation]) -> NT[Tensor, "B T vocab", LogitsType]:
        # mypy has no plugin hook for calls through super(): it checks them itself, by the carrier's parameters:
        # element types, and kinds where the tensor's type came from an annotation (not from an operation).
        super().forward(x)
        super().forward(x.transpose(1, 2))  # not seen: the result of an operation leaves mypy its kinds unknown
        Encoder.forward(self, x.transpose(1, 2))  # E: Argument "x" to "forward" of "Encoder" has incompatible neural type NT[Tensor, "B C T", EncodedRepresentation]; expected NT[Tensor, "B T C", EncodedRepresentation] (axes transposed)  [neural-type-argument]
        return Encoder.forward(self, x)
