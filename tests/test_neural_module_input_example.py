"""``input_example``: tensors built from the declared input types, accepted by the module's own check."""

# The axes strings inside NT[...] are not forward references, whatever pyflakes assumes of annotations.

import pytest
import torch
from torch import Tensor

from neuraltypes.core import (
    NT,
    EncodedRepresentation,
    LabelsType,
    LengthsType,
    MaskType,
    MelSpectrogramType,
    NeuralType,
)
from neuraltypes.nn import NeuralModule, example_inputs


class Encoder(NeuralModule):
    def __init__(self) -> None:
        super().__init__()
        self.proj = torch.nn.Linear(80, 8)

    def forward(
        self,
        audio: NT[Tensor, "B T D:80", MelSpectrogramType, "float"],
        lengths: NT[Tensor, "B", LengthsType, "int"],
        mask: NT[Tensor, "B T", MaskType],
        shifted: NT[Tensor, "B T-1", LabelsType],
    ) -> NT[Tensor, "B T H:8", EncodedRepresentation]:
        return self.proj(audio)


class NoInputs(NeuralModule):
    def forward(self) -> NT[Tensor, "B", LabelsType]:
        return torch.zeros(2, dtype=torch.int64)


def test_shapes_use_fixed_sizes_and_one_value_per_size_variable() -> None:
    audio, lengths, mask, shifted = Encoder().input_example()
    assert audio.shape == (2, 3, 80) and lengths.shape == (2,) and mask.shape == (2, 3) and shifted.shape == (2, 2)


def test_dtypes_and_values_follow_the_element_types() -> None:
    audio, lengths, mask, shifted = Encoder().input_example()
    assert (audio.dtype, lengths.dtype, mask.dtype, shifted.dtype) == (
        torch.float32,
        torch.int64,
        torch.bool,
        torch.int64,
    )
    assert lengths.tolist() == [3, 3]  # full-length sequences


def test_the_module_accepts_its_own_example() -> None:
    encoder = Encoder()
    assert encoder(*encoder.input_example()).shape == (2, 3, 8)


def test_sizes_can_be_chosen_by_name() -> None:
    audio, lengths, _, shifted = Encoder().input_example(sizes={"T": 16, "B": 4})
    assert audio.shape == (4, 16, 80) and shifted.shape == (4, 15) and lengths.tolist() == [16] * 4


def test_examples_are_reproducible_by_seed() -> None:
    assert torch.equal(Encoder().input_example()[0], Encoder().input_example()[0])
    assert not torch.equal(Encoder().input_example(seed=1)[0], Encoder().input_example()[0])


def test_distinct_variables_get_distinct_sizes() -> None:
    examples = example_inputs({"x": NeuralType(("B", "T", "D")), "y": NeuralType(("B", "D", "T"))})
    assert examples["x"].shape == (2, 3, 4)
    assert examples["y"].shape == (2, 4, 3)


def test_an_explicit_dtype_wins() -> None:
    examples = example_inputs({"x": NeuralType(("B",), LabelsType(), dtype="int32")})
    assert examples["x"].dtype == torch.int32


def test_a_module_without_typed_inputs_says_so() -> None:
    with pytest.raises(ValueError, match=r"^NoInputs declares no typed inputs to build an example from$"):
        NoInputs().input_example()


def test_an_impossible_shape_is_explained() -> None:
    with pytest.raises(
        ValueError,
        match=r"^cannot build an example for input 'y': axis 'T-9' comes to -6 with \{'B': 2, 'T': 3\}; "
        r"pass larger sizes$",
    ):
        example_inputs({"x": NeuralType(("B",)), "y": _parse("B T-9")})
    with pytest.raises(ValueError, match=r"^cannot build an example for input 'x': its type declares no axes$"):
        example_inputs({"x": NeuralType()})
    with pytest.raises(ValueError, match=r"^cannot build an example for input 'x': it is a list of tensors$"):
        example_inputs({"x": [NeuralType(("B",))]})


def _parse(axes: str) -> NeuralType:
    from neuraltypes.core import parse_axes

    return NeuralType(parse_axes(axes))


def test_the_example_exports_the_module() -> None:
    encoder = Encoder()
    example = encoder.input_example()
    exported = torch.export.export(encoder, example)
    assert torch.equal(exported.module()(*example), encoder(*example))
