"""Exceptions for neural-type mismatches (NeMo's names; ``NeuralTypeError`` is a ``TypeError`` here)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from ._grammar import surprising_kinds

__all__ = [
    "NeuralPortNameMismatchError",
    "NeuralPortNmTensorMismatchError",
    "NeuralTypeAnnotationError",
    "NeuralTypeError",
]


class NeuralTypeError(TypeError):
    """A value does not have the neural type its annotation declares; what every failed check raises.

    A ``TypeError``, so code that catches beartype's or Python's type errors catches it too (NeMo's is a
    bare ``Exception``). The message names the function, the argument, the axis (name and position), what
    was expected and what came, and the size bindings of the call so far.

    Attributes:
        function: the qualified name of the checked function.
        argument: ``"parameter 'x'"``, ``"the return value[1]"`` and so on (with the container path).
        bindings: the size variables bound before the failure, name -> size (a tuple for ``*variadic``).

    (No ``__init__`` of its own: torch.compile can then raise it from traced code with the message intact.)
    """

    __module__ = "neuraltypes"

    function: str = ""
    argument: str = ""
    bindings: Mapping[str, int | tuple[int, ...]] = MappingProxyType({})


class NeuralTypeAnnotationError(TypeError):
    """An annotation that cannot be checked (an axes string that does not parse, ``*b`` used also as one axis, a
    size expression no argument binds): raised when the function is decorated, not when it is called.

    A ``TypeError``, as Python's own errors in annotations are, and not a ``NeuralTypeError``: code that catches
    failed checks at call time does not catch a broken declaration.
    """

    __module__ = "neuraltypes"


class NeuralPortNameMismatchError(NeuralTypeError):
    """A module was called with a port name it does not declare."""

    def __init__(self, input_port_name: str) -> None:
        self.message = f"Wrong input port name: {input_port_name}"
        super().__init__(self.message)


class NeuralPortNmTensorMismatchError(NeuralTypeError):
    """A port was fed a tensor of an incompatible neural type."""

    def __init__(self, class_name: str, port_name: str, first_type: Any, second_type: Any, result: Any) -> None:
        kinds = _kinds_where_axes_differ(first_type, second_type)
        self.message = (
            f"In {class_name}, port {port_name!r} and the tensor fed to it have incompatible neural types:\n"
            f"  declared: {first_type}\n  incoming: {second_type}\n  comparison result: {result}"
            + (f"\n  axis kinds: {kinds}" if kinds else "")
        )
        super().__init__(self.message)


def _kinds_where_axes_differ(declared: Any, incoming: Any) -> str:
    """``H (Height)``: the surprising kinds of the two types' names, when their axes differ in kind."""
    axes = [getattr(neural_type, "axes", None) for neural_type in (declared, incoming)]
    if not all(isinstance(one, tuple) for one in axes):
        return ""
    if [axis.kind for axis in axes[0]] == [axis.kind for axis in axes[1]]:  # type: ignore[union-attr]
        return ""
    return surprising_kinds(incoming.axes_string, declared.axes_string)
