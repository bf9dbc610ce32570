"""The one spelling of a neural type in every message: ``NT[Tensor, "B T C", EncodedRepresentation, "float"]``.

The form users write in their annotations, so a message can be compared with the code by eye. Run-time errors,
the mypy plugin's diagnostics and ``str(NeuralType)`` all spell types with :func:`spell_type`.
"""

from __future__ import annotations

__all__ = ["spell_type"]


def spell_type(
    axes: str | None, element: str | None = None, dtype: str | None = None, *, tensor: str = "Tensor"
) -> str:
    """A tensor type as its annotation writes it.

    Args:
        axes: the axes string, or None when the axes are not declared (spelt ``"..."``, any axes).
        element: the element type's name (with its parameters, if any), or None for any elements.
        dtype: the dtype family or name, or None for any dtype.
        tensor: the tensor class's name.
    """
    parts = [tensor, f'"{"..." if axes is None else axes}"']
    if element is not None:
        parts.append(element)
    if dtype is not None:
        parts.append(f'"{dtype}"')
    return f"NT[{', '.join(parts)}]"
