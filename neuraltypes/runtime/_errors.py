"""Building the ``NeuralTypeError`` (defined in the core, so that NeMo's import path works) of a failed check."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from ..core import NeuralTypeError

__all__ = ["NeuralTypeError", "neural_type_error"]


def neural_type_error(
    message: str,
    *,
    function: str,
    argument: str = "",
    bindings: Mapping[str, int | tuple[int, ...]] | None = None,
) -> NeuralTypeError:
    """A ``NeuralTypeError`` with its attributes set."""
    error = NeuralTypeError(message)
    error.function = function
    error.argument = argument
    error.bindings = MappingProxyType(dict(bindings or {}))
    return error
