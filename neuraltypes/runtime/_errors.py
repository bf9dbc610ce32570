"""``NeuralTypeError``: the exception every failed run-time check raises."""

from __future__ import annotations

__all__ = ["NeuralTypeError"]


class NeuralTypeError(TypeError):
    """A value does not match its declared neural type (or ordinary type hint).

    A ``TypeError``, so code that catches NeMo's or beartype's type errors catches it too. The message names
    the function, the argument, the axis (name and position), what was expected and what came, and the size
    bindings of the call so far.

    Attributes:
        function: the qualified name of the checked function.
        argument: ``"parameter 'x'"``, ``"return value"`` and so on, with the container path if any.
        bindings: the size variables bound before the failure, name -> size (a tuple for ``*variadic``).
    """

    def __init__(
        self,
        message: str,
        *,
        function: str = "",
        argument: str = "",
        bindings: dict[str, int | tuple[int, ...]] | None = None,
    ) -> None:
        super().__init__(message)
        self.function = function
        self.argument = argument
        self.bindings: dict[str, int | tuple[int, ...]] = dict(bindings or {})
