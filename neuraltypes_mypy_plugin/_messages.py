"""The plugin's error code and the wording of its diagnostics, in one place."""

from __future__ import annotations

from mypy.errorcodes import ErrorCode
from mypy.types import Instance

from ._carrier import TensorView

NEURAL_TYPE = ErrorCode("neural-type", "Check neural types of tensors (axes, element types, sizes)", "General")


def describe(view: TensorView) -> str:
    """A tensor type as the user wrote it: ``NT[Tensor, "B T C", EncodedRepresentation, "float"]``."""
    parts = ["Tensor", f'"{view.axes}"' if view.axes is not None else '"..."']
    if view.element is not None:
        parts.append(element_name(view.element))
    if view.dtype is not None:
        parts.append(f'"{view.dtype}"')
    return f"NT[{', '.join(parts)}]"


def element_name(element: Instance) -> str:
    return element.type.name


def argument_mismatch(argument: str, callee: str, expected: TensorView, found: TensorView, why: str) -> str:
    return (
        f'Argument "{argument}" to "{callee}" has incompatible neural type: '
        f"expected {describe(expected)}, found {describe(found)} ({why})"
    )


def size_conflict(argument: str, callee: str, name: str, first: str, second: str) -> str:
    return (
        f'Argument "{argument}" to "{callee}" has incompatible size for axis "{name}": '
        f"bound to {first} by an earlier argument, found {second}"
    )
