"""The plugin's error code and the wording of its diagnostics, in one place."""

from __future__ import annotations

from mypy.errorcodes import ErrorCode

from neuraltypes.core import surprising_kinds

from ._carrier import TensorView

NEURAL_TYPE = ErrorCode("neural-type", "Check neural types of tensors (axes, element types, sizes)", "General")


def describe(view: TensorView) -> str:
    """A tensor type as the user wrote it: ``NT[Tensor, "B T C", EncodedRepresentation, "float"]``."""
    parts = ["Tensor", f'"{view.axes}"' if view.axes is not None else '"..."']
    if view.element is not None:
        parts.append(view.element.type.name)
    if view.dtype is not None:
        parts.append(f'"{view.dtype}"')
    return f"NT[{', '.join(parts)}]"


#: The reasons of a mismatch that the axes' kinds decide, where a name's surprising kind is worth showing.
_KIND_REASONS = frozenset({"axes differ", "axes transposed"})


def reason(why: str, declared: TensorView, found: TensorView) -> str:
    """``axes differ; axis kinds: N (Batch)``: the reason, with the kinds of names whose kind is not obvious
    (``N`` is Batch, ``H`` Height) where the axes' kinds decided it."""
    if why not in _KIND_REASONS:
        return why
    note = surprising_kinds(*(view.axes for view in (found, declared) if view.axes is not None))
    return f"{why}; axis kinds: {note}" if note else why


def kinds_differ(*tokens: str) -> str:
    """``their kinds differ``, for axes facing each other, with the surprising kinds of their names."""
    note = surprising_kinds(*tokens)
    return f"their kinds differ; axis kinds: {note}" if note else "their kinds differ"


def argument_mismatch(callee: str, argument: str, declared: TensorView, found: TensorView, why: str) -> str:
    return (
        f'Argument "{argument}" to {callee} has incompatible neural type {describe(found)}; '
        f"expected {describe(declared)} ({reason(why, declared, found)})"
    )


def size_clash(callee: str, argument: str, axis: str, found: str, earlier_argument: str, earlier: str) -> str:
    return (
        f'Argument "{argument}" to {callee} has incompatible size for axis "{axis}": '
        f'"{found}", but argument "{earlier_argument}" gave it "{earlier}"'
    )


def revealed(view: TensorView | None) -> str:
    """The note of ``reveal_neural_type(x)``: what the plugin knows of ``x``, as the user would write it."""
    if view is None:
        return "Neural type is not known: not a tensor"
    return f"Neural type is {describe(view)}" if view.known else "Neural type is unknown"
