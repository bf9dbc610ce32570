"""The ports table: one row per typed port of a module tree, readable at a glance."""

# The axes strings inside NT[...] are not forward references, whatever pyflakes assumes of annotations.

from typing import NamedTuple

import torch
from torch import Tensor

from neuraltypes.core import NT, EncodedRepresentation, LengthsType, LogitsType, MelSpectrogramType, NeuralType
from neuraltypes.nn import NeuralModule, ports_summary


class Encoder(NeuralModule):
    def __init__(self) -> None:
        super().__init__()
        self.proj = torch.nn.Linear(80, 16)

    def forward(
        self, audio: NT[Tensor, "B T D:80", MelSpectrogramType, "float"], lengths: NT[Tensor, "B", LengthsType, "int"]
    ) -> NT[Tensor, "B T H", EncodedRepresentation]:
        return self.proj(audio)


class Decoded(NamedTuple):
    logits: NT[Tensor, "B T C", LogitsType]
    lengths: NT[Tensor, "B", LengthsType] | None


class Recognizer(NeuralModule):
    def __init__(self) -> None:
        super().__init__()
        self.encoder = Encoder()
        self.norm = torch.nn.LayerNorm(16)
        self.head = torch.nn.Linear(16, 1000)

    def forward(
        self, audio: NT[Tensor, "B T D:80", MelSpectrogramType, "float"], lengths: NT[Tensor, "B", LengthsType, "int"]
    ) -> Decoded:
        return Decoded(self.head(self.norm(self.encoder(audio, lengths))), lengths)


EXPECTED = """\
Module   Class       Weights  Port         Axes      Elements                Dtype
-------  ----------  -------  -----------  --------  ----------------------  -----
(root)   Recognizer  18.3 K   in  audio    B T D:80  MelSpectrogramType      float
                              in  lengths  B         LengthsType             int
                              out logits   B T C     LogitsType              -
                              out lengths  B         LengthsType (optional)  -
encoder  Encoder     1.3 K    in  audio    B T D:80  MelSpectrogramType      float
                              in  lengths  B         LengthsType             int
                              out output   B T H     EncodedRepresentation   -"""


def test_the_table_lists_each_typed_port_of_the_tree() -> None:
    assert Recognizer().ports_summary() == EXPECTED


def test_untyped_submodules_are_left_out_but_an_untyped_root_is_shown() -> None:
    container = torch.nn.Sequential(torch.nn.Linear(2, 2))
    assert ports_summary(container).splitlines()[2:] == ["(root)  Sequential  6        -"]


def test_nemo_style_declarations_and_lists_are_shown() -> None:
    class Nemo(NeuralModule):
        @property
        def input_types(self) -> dict[str, object]:
            return {"chunks": [NeuralType(("B", "T"), LogitsType())], "anything": NeuralType()}

        def forward(self, *, chunks: list[Tensor], anything: Tensor) -> Tensor:
            return anything

    rows = ports_summary(Nemo()).splitlines()[2:]
    assert rows == [
        "(root)  Nemo   0        in  chunks    list[B T]  LogitsType  -",
        "                        in  anything  any        VoidType    -",
    ]
