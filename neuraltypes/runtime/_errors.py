"""``NeuralTypeError``: the exception every failed run-time check raises."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = ["NeuralTypeError", "neural_type_error"]


class NeuralTypeError(TypeError):
    """A value does not match its declared neural type (or ordinary type hint).

    A ``TypeError``, so code that catches NeMo's or beartype's type errors catches it too. The message names
    the function, the argument, the axis (name and position), what was expected and what came, and the size
    bindings of the call so far.

    Attributes:
        function: the qualified name of the checked function.
        argument: ``"parameter 'x'"``, ``"the return value[1]"`` and so on (with the container path).
        bindings: the size variables bound before the failure, name -> size (a tuple for ``*variadic``).

    (No ``__init__`` of its own: torch.compile can then raise it from traced code with the message intact.)
    """

    __module__ = "neuraltypes.runtime"

    function: str = ""
    argument: str = ""
    bindings: Mapping[str, int | tuple[int, ...]] = MappingProxyType({})


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
