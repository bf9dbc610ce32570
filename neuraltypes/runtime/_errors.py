"""The run-time check's exceptions (defined in the core, so that NeMo's import path works): ``NeuralTypeError``
for a failed check, built here with its attributes, and ``NeuralTypeAnnotationError`` for a broken declaration."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from neuraltypes.core import NeuralTypeAnnotationError, NeuralTypeError

__all__ = ["NeuralTypeAnnotationError", "NeuralTypeError", "neural_type_error"]


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
