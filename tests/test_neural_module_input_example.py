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
    # T is 4, not 3: T-1 would be 2, the batch's size, and a coincidence would look like a shared size.
    assert audio.shape == (2, 4, 80) and lengths.shape == (2,) and mask.shape == (2, 4) and shifted.shape == (2, 3)


def test_every_size_of_an_example_is_distinct_unless_the_types_share_it() -> None:
    examples = example_inputs({"x": _parse("B T U-1 2*T"), "y": _parse("B U T+1 T-1"), "z": _parse("B 5 W")})
    x, y, z = examples["x"].shape, examples["y"].shape, examples["z"].shape
    sizes = {x[0], x[1], x[2], x[3], y[1], y[2], y[3], z[2], 5}
    assert len(sizes) == 9  # B, T, U-1, 2*T, U, T+1, T-1, W and the fixed 5: nine sizes, nine values
    assert min(sizes) >= 2  # torch.export cannot keep a size of 0 or 1 dynamic
    assert (x[0], x[3], y[2], y[3], x[2]) == (y[0], 2 * x[1], x[1] + 1, x[1] - 1, y[1] - 1)


def test_max_batch_and_max_dim_are_nemo_positional_arguments() -> None:
    audio, lengths, mask, shifted = Encoder().input_example(3, 16)
    assert audio.shape == (3, 16, 80) and mask.shape == (3, 16) and shifted.shape == (3, 15)
    assert lengths.tolist() == [16, 16, 16]


def test_a_second_time_variable_counts_down_from_max_dim() -> None:
    examples = example_inputs({"x": _parse("B T_audio"), "y": _parse("B T_text")}, max_batch=4, max_dim=100)
    assert examples["x"].shape == (4, 100) and examples["y"].shape == (4, 99)


def test_sizes_win_over_max_batch_and_max_dim() -> None:
    audio, *_ = Encoder().input_example(3, 16, sizes={"T": 7, "B": 5})
    assert audio.shape == (5, 7, 80)


def test_dtypes_and_values_follow_the_element_types() -> None:
    audio, lengths, mask, shifted = Encoder().input_example()
    assert (audio.dtype, lengths.dtype, mask.dtype, shifted.dtype) == (
        torch.float32,
        torch.int64,
        torch.bool,
        torch.int64,
    )
    assert lengths.tolist() == [4, 4]  # full-length sequences


def test_the_module_accepts_its_own_example() -> None:
    encoder = Encoder()
    assert encoder(*encoder.input_example()).shape == (2, 4, 8)


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


def test_a_size_expression_gets_a_variable_large_enough() -> None:
    # T=11 would make T-9 the batch's 2: T is 12
    assert example_inputs({"y": _parse("B T-9")})["y"].shape == (2, 3)


def test_an_impossible_shape_is_explained() -> None:
    with pytest.raises(
        ValueError,
        match=r"^cannot build an example for input 'y': axis 'T-9' comes to -6 with \{'T': 3, 'B': 2\}; "
        r"pass larger sizes$",
    ):
        example_inputs({"x": NeuralType(("B",)), "y": _parse("B T-9")}, sizes={"T": 3})
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
