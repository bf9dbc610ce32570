"""NT annotations, reading neural types back from annotations, and the torch-free import of the core."""

import subprocess
import sys
import typing
from typing import Annotated, Optional

import pytest
import torch
from jaxtyping import Float, Int, Shaped
from torch import Tensor

from neuraltypes import (
    NT,
    AxisKind,
    EncodedRepresentation,
    LogitsType,
    NeuralType,
    neural_type_of,
)


def test_nt_is_annotated_tensor_carrying_a_neural_type() -> None:
    hint = NT[Tensor, "B T C", EncodedRepresentation]
    assert typing.get_origin(hint) is Annotated
    assert typing.get_args(hint)[0] is Tensor
    assert hint.__metadata__ == (NeuralType("B T C", EncodedRepresentation()),)


def test_element_type_is_optional_and_instances_are_accepted() -> None:
    assert neural_type_of(NT[Tensor, "B T"]) == NeuralType("B T")
    assert neural_type_of(NT[Tensor, "B T", LogitsType()]) == NeuralType("B T", LogitsType())


def test_dtype_as_family_name_or_torch_dtype_in_either_order() -> None:
    assert neural_type_of(NT[Tensor, "B", LogitsType, "float"]) == NeuralType("B", LogitsType(), dtype="float")
    assert neural_type_of(NT[Tensor, "B", "int64", LogitsType]) == NeuralType("B", LogitsType(), dtype="int64")
    assert neural_type_of(NT[Tensor, "B", torch.float16]) == NeuralType("B", dtype="float16")


def test_annotations_are_cached() -> None:
    assert NT[Tensor, "B T", LogitsType] is NT[Tensor, "B T", LogitsType]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ((Tensor,), "NT takes a tensor type and an axes string"),
        ((Tensor, 3), "NT takes a tensor type and an axes string"),
        (("Tensor", "B"), "NT's first argument must be a tensor class such as torch.Tensor, got 'Tensor'"),
        ((Tensor, "B", LogitsType, LogitsType), "NT got two element types: LogitsType and LogitsType"),
        ((Tensor, "B", "float", "int"), "NT got two dtypes: 'float' and 'int'"),
        ((Tensor, "B", 3.5), "NT's extra arguments are an ElementType (class or instance) and a dtype, got 3.5"),
    ],
)
def test_malformed_nt_is_a_type_error(params: tuple[object, ...], message: str) -> None:
    with pytest.raises(TypeError) as info:
        NT[params]  # type: ignore[misc]
    assert message in str(info.value)


def test_axes_syntax_errors_surface_at_annotation_time() -> None:
    with pytest.raises(ValueError, match="invalid axes 'B T-'"):
        NT[Tensor, "B T-"]


def test_nt_cannot_be_instantiated() -> None:
    with pytest.raises(TypeError, match="NT is an annotation"):
        NT()  # type: ignore[call-arg]


def test_hand_written_annotated_is_read() -> None:
    declared = NeuralType(("B", "T"), LogitsType())
    assert neural_type_of(Annotated[Tensor, "doc", declared]) is declared


def test_optional_marks_the_type_optional() -> None:
    for hint in (Optional[NT[Tensor, "B", LogitsType]], NT[Tensor, "B", LogitsType] | None):  # noqa: UP045
        assert neural_type_of(hint) == NeuralType("B", LogitsType(), optional=True)


def test_plain_annotations_have_no_neural_type() -> None:
    for hint in (
        Tensor,
        int,
        Optional[Tensor],  # noqa: UP045
        Annotated[Tensor, "doc"],
        list[Tensor],
        NT[Tensor, "B"] | int,
    ):
        assert neural_type_of(hint) is None


def test_jaxtyping_annotations_are_axes_and_dtype_only() -> None:
    declared = neural_type_of(Float[Tensor, "b *c 3"])
    assert declared is not None and declared.axes is not None
    assert [axis.kind for axis in declared.axes] == [AxisKind.Any] * 3
    assert [axis.name for axis in declared.axes] == ["b", "c", None]
    assert declared.dtype == "bfloat16|float16|float32|float64"
    int_type = neural_type_of(Int[Tensor, "b"])
    assert int_type is not None and int_type.dtype == "int8|int16|int32|int64"
    shaped = neural_type_of(Shaped[Tensor, "b"])
    assert shaped is not None and shaped.dtype is None


def test_nemo_names_are_importable_from_the_package() -> None:
    import neuraltypes

    for name in (
        "NeuralType", "AxisKind", "AxisKindAbstract", "AxisType", "NeuralTypeComparisonResult", "ElementType",
        "VoidType", "NeuralTypeError", "NeuralPortNameMismatchError", "NeuralPortNmTensorMismatchError",
    ):  # fmt: skip
        assert hasattr(neuraltypes, name), name


def test_core_import_does_not_import_torch() -> None:
    code = "import sys, neuraltypes.core, neuraltypes; neuraltypes.NT; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
