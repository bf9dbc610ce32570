# ruff: noqa  (mypy test data: lines carry their expected reports; NT axes strings are not Python)
"""``from neuraltypes import *`` shows mypy every public name: the core's, and those the package imports lazily."""

from torch import Tensor

from neuraltypes import *


class Encoder(NeuralModule):
    def forward(self, x: NT[Tensor, "B T C", EncodedRepresentation]) -> NT[Tensor, "B T vocab", LogitsType]: ...


def run(encoder: Encoder, x: NT[Tensor, "B C T", EncodedRepresentation]) -> None:
    reveal_type(encoder(x.transpose(1, 2)))  # N: Revealed type is "torch._tensor.Tensor[Any, Any]"
    encoder(x)  # E: Argument "x" to "forward" of "Encoder" has incompatible neural type NT[Tensor, "B C T", EncodedRepresentation]; expected NT[Tensor, "B T C", EncodedRepresentation] (axes transposed)  [neural-type-argument]


def layers(model: ModelPT) -> None:
    reveal_type(model)  # N: Revealed type is "neuraltypes.models._model.ModelPT"
    reveal_type(NeuralType("B T"))  # N: Revealed type is "neuraltypes.core._neural_type.NeuralType"
    reveal_type(checks_enabled())  # N: Revealed type is "bool"
    reveal_type(__version__)  # N: Revealed type is "str"
