# ruff: noqa  (mypy test data: lines carry their expected reports; NT axes strings are not Python)
"""NT annotations become typed tensors; annotations the plugin cannot read are reported as such."""

from torch import Tensor

from neuraltypes.core import NT, AcousticEncodedRepresentation, AudioSignal, EncodedRepresentation, LogitsType


def encoded(x: NT[Tensor, "B T C", EncodedRepresentation]) -> None:
    reveal_type(x)  # N: Revealed type is "torch._tensor.Tensor[Literal['B T D'], neuraltypes.core._elements.EncodedRepresentation]"


def axes_only(x: NT[Tensor, "batch time"]) -> None:
    reveal_type(x)  # N: Revealed type is "torch._tensor.Tensor[Literal['B T'], Any]"


def open_axes(x: NT[Tensor, "*batch D:80", LogitsType, "float"]) -> None:
    reveal_type(x)  # N: Revealed type is "torch._tensor.Tensor[Any, neuraltypes.core._elements.LogitsType]"


def user_kind(x: NT[Tensor, "B vocab"]) -> None:
    reveal_type(x)  # N: Revealed type is "torch._tensor.Tensor[Literal['B vocab'], Any]"


def optional(x: NT[Tensor, "B T", AcousticEncodedRepresentation] | None) -> None:
    reveal_type(x)  # N: Revealed type is "torch._tensor.Tensor[Literal['B T'], neuraltypes.core._elements.AcousticEncodedRepresentation] | None"


def plain(x: Tensor) -> None:
    reveal_type(x)  # N: Revealed type is "torch._tensor.Tensor[Any, Any]"


def not_an_element(x: NT[Tensor, "B T", int]) -> None:  # E: Cannot read neural type annotation: NT's extra arguments are an ElementType subclass and a dtype string: write NT[Tensor, "B T C", ElementType, "dtype"] (element type and dtype optional)  [neural-type-annotation]
    pass


def bad_axes(x: NT[Tensor, "B, T"]) -> None:  # E: Cannot read neural type annotation: invalid axes 'B, T': expected a space between axes (not a comma) at column 2, found ','  [neural-type-annotation]
    pass


def bad_dtype(x: NT[Tensor, "B T", "floaty"]) -> None:  # E: Cannot read neural type annotation: unknown dtype 'floaty': expected a family (bool, complex, float, int, number, sint, uint) or a name such as 'float32'; did you mean 'float'?  [neural-type-annotation]
    pass


def element_type_as_a_string(x: NT[Tensor, "B T", "LogitType"]) -> None:  # E: Cannot read neural type annotation: unknown dtype 'LogitType': did you mean the element type LogitsType? Write the class LogitsType, not a string  [neural-type-annotation]
    pass


def no_axes(x: NT[Tensor]) -> None:  # E: Cannot read neural type annotation: NT needs at least a tensor type and an axes string: write NT[Tensor, "B T C", ElementType, "dtype"] (element type and dtype optional)  [neural-type-annotation]
    pass


def not_a_tensor(x: NT[int, "B T"]) -> None:  # E: Cannot read neural type annotation: NT's first argument must be torch.Tensor: write NT[Tensor, "B T C", ElementType, "dtype"] (element type and dtype optional)  [neural-type-annotation]
    pass


def silenced(x: NT[Tensor, "B T", int]) -> None:  # type: ignore[neural-type-annotation]
    pass


def element_with_parameters(x: NT[Tensor, "B T", AudioSignal(16000)]) -> None:  # E: Cannot read neural type annotation: AudioSignal(...) is a call, which mypy erases: write the class, AudioSignal; its parameters are checked at run time  [neural-type-annotation]
    pass


def axes_not_a_string(x: NT[Tensor, 3]) -> None:  # E: Cannot read neural type annotation: NT's second argument must be an axes string: write NT[Tensor, "B T C", ElementType, "dtype"] (element type and dtype optional)  [neural-type-annotation]
    pass


def two_dtypes(x: NT[Tensor, "B", "float", "int"]) -> None:  # E: Cannot read neural type annotation: NT got two dtypes: "float" and "int"  [neural-type-annotation]
    pass


def two_elements(x: NT[Tensor, "B", LogitsType, EncodedRepresentation]) -> None:  # E: Cannot read neural type annotation: NT got two element types: LogitsType and EncodedRepresentation  [neural-type-annotation]
    pass


def scalar(x: NT[Tensor, "", LogitsType]) -> None:
    reveal_type(x)  # N: Revealed type is "torch._tensor.Tensor[Literal[''], neuraltypes.core._elements.LogitsType]"


def nested(x: list[NT[Tensor, "B T", LogitsType]] | None) -> None:
    reveal_type(x)  # N: Revealed type is "list[torch._tensor.Tensor[Literal['B T'], neuraltypes.core._elements.LogitsType]] | None"
