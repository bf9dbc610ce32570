"""``Typing``: input and output types read from ``forward``'s annotations, the same as NeMo's declarations."""

# The axes strings inside NT[...] are not forward references, whatever pyflakes assumes of annotations.

from __future__ import annotations

from typing import Annotated, NamedTuple

import pytest
import torch
from jaxtyping import Float
from torch import Tensor

from neuraltypes.core import (
    NT,
    AcousticEncodedRepresentation,
    AxisKind,
    AxisType,
    EncodedRepresentation,
    LengthsType,
    LogitsType,
    MelSpectrogramType,
    NeuralType,
    ProbsType,
)
from neuraltypes.nn import Ports, Typing, declares_types_by_properties, ports_of


class Annotated_(Typing):
    def forward(
        self,
        audio: NT[Tensor, "B D T", MelSpectrogramType],
        lengths: NT[Tensor, "B", LengthsType],
        scale: float = 1.0,
        mask: NT[Tensor, "B T", LengthsType] | None = None,
    ) -> NT[Tensor, "B D T", AcousticEncodedRepresentation]:
        return audio


class NemoStyle(Typing):
    """The same ports declared the NeMo way."""

    @property
    def input_types(self) -> dict[str, NeuralType]:
        return {
            "audio": NeuralType(("B", "D", "T"), MelSpectrogramType()),
            "lengths": NeuralType(tuple("B"), LengthsType()),
            "mask": NeuralType(("B", "T"), LengthsType(), optional=True),
        }

    @property
    def output_types(self) -> dict[str, NeuralType]:
        return {"output": NeuralType(("B", "D", "T"), AcousticEncodedRepresentation())}

    def forward(self, *, audio: Tensor, lengths: Tensor, mask: Tensor | None = None) -> Tensor:
        return audio


class Decoded(NamedTuple):
    logits: NT[Tensor, "B T C", LogitsType]
    lengths: NT[Tensor, "B", LengthsType]


class Decoder(Typing):
    def forward(self, encoded: NT[Tensor, "B T D", EncodedRepresentation]) -> Decoded:
        raise NotImplementedError


class Pair(Typing):
    def forward(
        self, x: Annotated[Tensor, NeuralType(("B", "T"), LogitsType())]
    ) -> tuple[NT[Tensor, "B T", ProbsType], int]:
        raise NotImplementedError


class Listed(Typing):
    def forward(self, chunks: list[NT[Tensor, "B T", LogitsType]], raw: Float[Tensor, "b 3"]) -> None:
        return None


class Untyped(Typing):
    def forward(self, x: Tensor, n: int) -> Tensor:
        return x


def test_annotation_types_equal_nemo_declared_types() -> None:
    assert Annotated_().input_types == NemoStyle().input_types
    assert Annotated_().output_types == NemoStyle().output_types


def test_only_typed_parameters_are_inputs_in_declaration_order() -> None:
    inputs = Annotated_().input_types
    assert inputs is not None and list(inputs) == ["audio", "lengths", "mask"]
    mask, audio = inputs["mask"], inputs["audio"]
    assert isinstance(mask, NeuralType) and isinstance(audio, NeuralType)
    assert mask.optional and not audio.optional


def test_named_tuple_fields_name_the_outputs() -> None:
    assert Decoder().output_types == {
        "logits": NeuralType(("B", "T", "C"), LogitsType()),
        "lengths": NeuralType(tuple("B"), LengthsType()),
    }


def test_tuple_outputs_are_numbered_and_untyped_members_left_out() -> None:
    assert Pair().input_types == {"x": NeuralType(("B", "T"), LogitsType())}
    assert Pair().output_types == {"output_0": NeuralType(("B", "T"), ProbsType())}


def test_lists_of_typed_tensors_are_nemo_containers_and_jaxtyping_is_read() -> None:
    inputs = Listed().input_types
    assert inputs is not None
    assert inputs["chunks"] == [NeuralType(("B", "T"), LogitsType())]
    raw = inputs["raw"]
    assert isinstance(raw, NeuralType) and raw.axes is not None
    assert [(axis.kind, axis.size) for axis in raw.axes] == [(AxisKind.Any, None), (AxisKind.Any, 3)]
    assert Listed().output_types is None


def test_a_forward_without_neural_types_declares_none_as_in_nemo() -> None:
    assert Untyped().input_types is None and Untyped().output_types is None


def test_a_class_without_forward_has_no_ports() -> None:
    assert ports_of(Typing) == Ports({}, {})
    assert Typing().input_types is None


def test_ports_are_read_once_and_kept_on_the_class() -> None:
    first = ports_of(Annotated_)
    assert ports_of(Annotated_) is first
    assert Annotated_.__dict__["_neuraltypes_ports"] is first
    with pytest.raises(TypeError):
        first.inputs["new"] = NeuralType()


def test_a_subclass_overriding_forward_has_its_own_ports() -> None:
    class Narrower(Annotated_):
        def forward(self, audio: NT[Tensor, "B D:80 T", MelSpectrogramType]) -> None:  # type: ignore[override]
            return None

    narrow = (AxisType("B", name="B"), AxisType("D", 80, name="D"), AxisType("T", name="T"))
    assert Narrower().input_types == {"audio": NeuralType(narrow, MelSpectrogramType())}
    assert list(Annotated_().input_types or {}) == ["audio", "lengths", "mask"]


def test_annotations_naming_later_definitions_are_read_on_first_use() -> None:
    class Early(Typing):
        def forward(self, x: NT[Tensor, "B T", LaterElement]) -> None:
            return None

    with pytest.raises(NameError, match="LaterElement"):
        Early().input_types  # noqa: B018


def test_nemo_style_declarations_are_told_apart() -> None:
    assert declares_types_by_properties(NemoStyle)
    assert not declares_types_by_properties(Annotated_)
    assert not declares_types_by_properties(Typing)
    getter = Typing.__dict__["input_types"].fget
    assert getter._neural_types_from_annotations is True


def test_the_returned_dicts_are_copies() -> None:
    module = Annotated_()
    types = module.input_types
    assert types is not None
    types.clear()
    assert module.input_types is not None and len(module.input_types) == 3


def test_typing_works_on_nn_modules() -> None:
    class Mixed(torch.nn.Module, Typing):
        def forward(self, x: NT[Tensor, "B T", LogitsType]) -> NT[Tensor, "B T", ProbsType]:
            return x.softmax(-1)

    assert Mixed().output_types == {"output": NeuralType(("B", "T"), ProbsType())}
