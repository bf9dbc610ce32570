"""``NeuralType``: axes, element type and dtype of a tensor, and ``compare`` with NeMo's rules."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ._axes import AxisKind, AxisType
from ._comparison import NeuralTypeComparisonResult
from ._dtypes import meant_name, normalize_dtype
from ._elements import ElementType, VoidType, element_type_names
from ._grammar import format_axes, parse_axes
from ._layout import AxisLayout
from ._spelling import spell_type

__all__ = ["NeuralType"]

_Result = NeuralTypeComparisonResult


class NeuralType:
    """The neural type of a tensor: its axes, what its elements mean, and optionally its dtype.

    Args:
        axes: an axes string (``"B T D:80"``), a tuple of axis labels (``("B", "T", "D")``) or of
            ``AxisType``, or None when the axes are not declared.
        elements_type: an ``ElementType`` instance; ``VoidType()`` (anything) when None.
        optional: whether the port may be omitted (NeMo's optional ports).
        dtype: a dtype family or name (``"float"``, ``"int64"``, ``"float16|bfloat16"``) or None for any.

    Raises:
        ValueError: with NeMo's messages, for a class passed as ``elements_type``, mixed axis
            spellings, list axes after tensor axes, or an axis that is neither a string nor an AxisType; for an
            element type's name given as a string (``"LogitsType"``: write ``LogitsType()``), a misspelt dtype
            or axes that do not parse. The traceback ends at this call.
    """

    __slots__ = ("axes", "dtype", "elements_type", "optional")
    axes: tuple[AxisType, ...] | None
    elements_type: ElementType
    optional: bool
    dtype: str | None

    def __init__(
        self,
        axes: str | Sequence[str | AxisType] | None = None,
        elements_type: ElementType | None = None,
        optional: bool = False,
        *,
        dtype: str | Any | None = None,
    ) -> None:
        try:
            built = None if axes is None else _build_axes(axes)
            element = _element(elements_type)
            normal_dtype = normalize_dtype(dtype)
        except (ValueError, TypeError) as error:
            # The mistake is in the caller's arguments: end the traceback at this call, not in the parser.
            raise error.with_traceback(None)  # noqa: B904 (the same exception, re-raised)
        object.__setattr__(self, "elements_type", element)
        object.__setattr__(self, "axes", built)
        object.__setattr__(self, "optional", bool(optional))
        object.__setattr__(self, "dtype", normal_dtype)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("NeuralType is immutable")

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return (_make_neural_type, (self.axes, self.elements_type, self.optional, self.dtype))

    def __copy__(self) -> NeuralType:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> NeuralType:
        return self

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, NeuralType):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def _key(self) -> tuple[Any, ...]:
        return (self.axes, self.elements_type, self.optional, self.dtype)

    @property
    def axes_string(self) -> str | None:
        """The axes in the grammar's spelling, or None when not declared."""
        return None if self.axes is None else format_axes(self.axes)

    def __str__(self) -> str:
        """The type as an annotation writes it, the one spelling of every message:
        ``NT[Tensor, "B T D", LogitsType, "float"]``, with `` | None`` for an optional port."""
        element = None if isinstance(self.elements_type, VoidType) else str(self.elements_type)
        text = spell_type(self.axes_string, element, self.dtype)
        return f"{text} | None" if self.optional else text

    def __repr__(self) -> str:
        args = [repr(self.axes_string), f"{self.elements_type!r}"]
        if self.optional:
            args.append("optional=True")
        if self.dtype is not None:
            args.append(f"dtype={self.dtype!r}")
        return f"NeuralType({', '.join(args)})"

    def compare(self, second: NeuralType) -> NeuralTypeComparisonResult:
        """Compare this declared (consumer) type with an incoming one, with NeMo's results.

        NeMo's defect that an ``Any`` axis resets earlier mismatches is fixed: ``('T', 'Any')`` against
        ``('B', 'D')`` is INCOMPATIBLE.
        """
        if self.axes is None:
            if isinstance(self.elements_type, VoidType):
                return _Result.SAME
            if second.axes is None:
                return self.elements_type.compare(second.elements_type)
            return _Result.INCOMPATIBLE
        axes_result = _compare_axes(self.axes, second.axes)
        elements_result = self.elements_type.compare(second.elements_type)
        if axes_result is _AxesMatch.SAME:
            return elements_result
        if elements_result is not _Result.SAME:
            return _Result.INCOMPATIBLE
        if axes_result is _AxesMatch.TRANSPOSED:
            return _Result.TRANSPOSE_SAME
        if axes_result is _AxesMatch.SIZES_DIFFER:
            return _Result.DIM_INCOMPATIBLE
        return _Result.INCOMPATIBLE


def _make_neural_type(
    axes: tuple[AxisType, ...] | None, elements_type: ElementType, optional: bool, dtype: str | None
) -> NeuralType:
    return NeuralType(axes, elements_type, optional, dtype=dtype)


def _element(elements_type: object) -> ElementType:
    """The element type argument, checked; a class or a name given instead is named in the error."""
    if elements_type is None:
        return VoidType()
    if isinstance(elements_type, ElementType):
        return elements_type
    if isinstance(elements_type, str):
        meant = meant_name(elements_type)
        if meant is None or meant not in element_type_names():
            raise ValueError(
                f"elements_type of NeuralType must be an ElementType instance such as LogitsType(), not the string "
                f"{elements_type!r}"
            )
        advice = f"write {meant}()" if meant == elements_type else f"did you mean {meant}()?"
        raise ValueError(
            f"elements_type of NeuralType must be an ElementType instance, not the string {elements_type!r}: {advice}"
        )
    if isinstance(elements_type, type) and issubclass(elements_type, ElementType):
        raise ValueError(
            "elements_type of NeuralType must be an instance of a class derived from ElementType. "
            f"Did you pass a class instead? Write {elements_type.__name__}()"
        )
    raise ValueError(
        "elements_type of NeuralType must be an instance of a class derived from ElementType, "
        f"not {type(elements_type).__name__} {elements_type!r}"
    )


def _build_axes(axes: str | Sequence[str | AxisType]) -> tuple[AxisType, ...]:
    if isinstance(axes, str):
        return parse_axes(axes)
    items = list(axes)
    _check_sanity(items)
    built: list[AxisType] = []
    for axis in items:
        if isinstance(axis, str):
            parsed = parse_axes(axis)
            if len(parsed) != 1:
                raise ValueError(f"axis label {axis!r} must name exactly one axis")
            built.append(parsed[0])
        elif isinstance(axis, AxisType):
            built.append(axis)
        else:
            raise ValueError("axis type must be either str or AxisType instance")
    return tuple(built)


def _check_sanity(axes: Iterable[str | AxisType]) -> None:
    """NeMo's rules: no label string after an AxisType, and list axes before tensor axes."""
    are_strings = True
    saw_tensor_dim = False
    for axis in axes:
        if not isinstance(axis, str):
            are_strings = False
        elif not are_strings:
            raise ValueError("Either use full class names or all strings")
        if isinstance(axis, AxisType):
            if not axis.is_list:
                saw_tensor_dim = True
            elif saw_tensor_dim:
                raise ValueError(
                    "You have list dimension after Tensor dimension. All list dimensions must precede Tensor dimensions"
                )


class _AxesMatch:
    SAME = "same"
    TRANSPOSED = "transposed"
    SIZES_DIFFER = "sizes differ"
    DIFFERENT = "different"


def _axis_accepts(declared: AxisType, incoming: AxisType) -> bool:
    if declared.kind is AxisKind.Any:
        return declared.size is None or declared.size == incoming.size
    return (
        declared.kind == incoming.kind
        and declared.is_list == incoming.is_list
        and (declared.size is None or declared.size == incoming.size)
    )


def _compare_axes(declared: tuple[AxisType, ...], incoming: tuple[AxisType, ...] | None) -> str:
    if incoming is None:
        return _AxesMatch.DIFFERENT
    if any(a.variadic for a in declared) or any(b.variadic for b in incoming):
        return _compare_variadic(declared, incoming)
    if len(declared) != len(incoming):
        return _AxesMatch.DIFFERENT
    if all(_axis_accepts(a, b) for a, b in zip(declared, incoming, strict=True)):
        return _AxesMatch.SAME
    sizes_a = {a.kind: a.size for a in declared}
    sizes_b = {b.kind: b.size for b in incoming}
    if sizes_a.keys() != sizes_b.keys():
        return _AxesMatch.DIFFERENT
    if any(sizes_b[kind] != size for kind, size in sizes_a.items()):
        return _AxesMatch.SIZES_DIFFER
    return _AxesMatch.TRANSPOSED


def _compare_variadic(declared: tuple[AxisType, ...], incoming: tuple[AxisType, ...]) -> str:
    """Match the fixed axes before and after the variadic one(s); the variadic part absorbs the rest."""
    head_a, tail_a, var_a = _split_variadic(declared)
    head_b, tail_b, var_b = _split_variadic(incoming)
    if not var_b and len(incoming) < len(head_a) + len(tail_a):
        return _AxesMatch.DIFFERENT
    if not var_a and len(declared) < len(head_b) + len(tail_b):
        return _AxesMatch.DIFFERENT
    heads = zip(head_a, head_b if var_b else incoming, strict=False)
    tails = zip(reversed(tail_a), reversed(tail_b if var_b else incoming), strict=False)
    if not var_a:
        heads = zip(declared, head_b, strict=False)
        tails = zip(reversed(declared), reversed(tail_b), strict=False)
    if all(_axis_accepts(a, b) for a, b in (*heads, *tails)):
        return _AxesMatch.SAME
    return _AxesMatch.DIFFERENT


def _split_variadic(axes: tuple[AxisType, ...]) -> tuple[tuple[AxisType, ...], tuple[AxisType, ...], bool]:
    """The axes before and after the variadic one (the core's layout rule), and whether there is one."""
    at = AxisLayout.of(axes).variadic_at
    return (axes, (), False) if at is None else (axes[:at], axes[at + 1 :], True)
