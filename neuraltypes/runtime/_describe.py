"""How the run-time messages show declared types and found values: the core's one spelling of a type."""

from __future__ import annotations

import typing
from typing import Any

import torch

from neuraltypes.core import NeuralType, VoidType, format_axes, spell_type

from ._provenance import TAG_ATTRIBUTE
from ._specs import TensorSpec

__all__ = ["describe_declared", "describe_value", "hint_text", "one_line", "shape_of", "size_text"]


def describe_declared(spec: TensorSpec) -> str:
    """``NT[Tensor, "B T C", ProbsType, "float"]``: the declared type as its annotation writes it."""
    nt = spec.neural_type
    axes = None if nt.axes is None else format_axes(spec.axes or ())
    element = None if isinstance(nt.elements_type, VoidType) else str(nt.elements_type)
    return spell_type(axes, element, nt.dtype, tensor=spec.tensor_class.__name__)


def describe_value(value: object) -> str:
    """``Tensor of shape (1, 3, 4), float32, tagged NT[Tensor, "B T D", LogitsType]`` or ``int 3``."""
    if isinstance(value, torch.Tensor):
        text = f"{type(value).__name__} of shape {shape_of(value)}, {str(value.dtype).removeprefix('torch.')}"
        tag = getattr(value, TAG_ATTRIBUTE, None)
        if isinstance(tag, NeuralType):
            text += f", tagged {tag}"
        return text
    return f"{type(value).__name__} {one_line(repr(value), 60)}"


def one_line(text: str, limit: int) -> str:
    """``text`` on one line (a tensor's repr spans several) and at most ``limit`` characters long: the message
    keeps its four lines."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def hint_text(hint: Any) -> str:
    """``int``, ``list[str]``, ``Optional[int]``: a hint as written, not as ``repr`` of a class shows it."""
    if isinstance(hint, type) and not typing.get_args(hint):
        return hint.__qualname__
    return repr(hint).replace("typing.", "")


def size_text(size: int | tuple[int, ...]) -> str:
    return str(tuple(size)) if isinstance(size, tuple) else str(size)


def shape_of(tensor: torch.Tensor) -> tuple[Any, ...]:
    """The sizes as numbers (under ``torch.jit.trace`` they are 0-d tensors); a size that has no number (the
    ragged dimension of a jagged nested tensor) stays as it is."""
    sizes: list[Any] = []
    for size in tensor.shape:
        try:
            sizes.append(int(size))
        except (TypeError, ValueError, AttributeError, RuntimeError):
            sizes.append(size)
    return tuple(sizes)
