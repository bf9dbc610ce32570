"""Matching one call's tensor arguments against declared neural types, and typing its result.

Axes are compared with ``NeuralType.compare`` (the same rules as at run time: transposition, kinds, fixed
sizes); element types by subclass through mypy's view of the classes; dtypes by the names they admit. Each
named axis of a declared type is a size variable of the call: the first argument binds it to the caller's
axis, a later argument with a different known size is an error, and the result's axes are spelled with the
caller's axes substituted. Where declared axes face the caller's and how size variables bind are the core's
rules (``AxisLayout``, ``SizeBindings``), the ones the run-time check applies.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

from mypy.types import Instance

from neuraltypes.core import (
    AxisKind,
    AxisLayout,
    AxisType,
    NeuralType,
    NeuralTypeComparisonResult,
    SizeBindings,
    dtype_names,
    parse_axes,
)

from ._carrier import UNKNOWN_AXIS, VOID_TYPE_FULLNAME, TensorView, has_unknown_kind, parse_spelling

_WHY = {
    NeuralTypeComparisonResult.TRANSPOSE_SAME: "axes transposed",
    NeuralTypeComparisonResult.DIM_INCOMPATIBLE: "axis sizes differ",
    NeuralTypeComparisonResult.INCOMPATIBLE: "axes differ",
}


class Binding(NamedTuple):
    """A size variable bound by an argument: the caller's spelling of the axis (or axes, for ``*name``)."""

    tokens: tuple[str, ...]
    sizes: tuple[int | None, ...]
    argument: str


class CallBindings:
    """The size variables of one call, in the order the arguments bound them (the core's binding rule)."""

    __slots__ = ("sizes",)

    def __init__(self) -> None:
        self.sizes: SizeBindings[Binding] = SizeBindings()

    def get(self, name: str) -> Binding | None:
        """What ``name`` was bound to, by which argument; None while unbound."""
        binding = self.sizes.get(name)
        return None if binding is None else binding.origin

    def __bool__(self) -> bool:
        return bool(self.sizes)


class Mismatch(NamedTuple):
    """Why an argument does not fit: a reason for the message, or a size clash with an earlier argument."""

    why: str
    axis: str | None = None
    first: Binding | None = None
    second: Binding | None = None


def check_argument(argument: str, declared: TensorView, found: TensorView, bindings: CallBindings) -> Mismatch | None:
    """Check one argument; bind its size variables when it fits."""
    why = _element_mismatch(declared, found) or _dtype_mismatch(declared, found)
    if why is not None:
        return Mismatch(why)
    if declared.axes is None or found.axes is None:
        return None
    fit = _axes_fit(declared.axes, found.axes)
    if fit.result is not NeuralTypeComparisonResult.SAME:
        return Mismatch(_WHY.get(fit.result, "axes differ"))
    for name, tokens, sizes, broadcast in fit.variables:
        binding = Binding(tokens, sizes, argument)
        earlier = bindings.sizes.bind(name, sizes, binding, broadcast=broadcast)
        if earlier is not None:
            return Mismatch("size clash", name, earlier.origin, binding)
    return None


class _Fit(NamedTuple):
    """How found axes fit declared ones: the comparison, and what each size variable stands for (its name,
    the caller's tokens, their sizes, whether the declared axis broadcasts) when they fit."""

    result: NeuralTypeComparisonResult
    variables: tuple[tuple[str, tuple[str, ...], tuple[int | None, ...], bool], ...]


@lru_cache(maxsize=4096)
def _axes_fit(declared_spelling: str, found_spelling: str) -> _Fit:
    """A pure function of the two spellings, so computed once per pair: a project repeats the same few."""
    declared = parse_axes(declared_spelling)
    tokens = found_spelling.split()
    found = _known_where_unknown(parse_spelling(found_spelling), tokens, declared)
    result = NeuralType(declared).compare(NeuralType(found))
    if result is not NeuralTypeComparisonResult.SAME or any(axis.variadic for axis in found):
        return _Fit(result, ())  # a mismatch, or the caller's own axes are open: nothing definite to bind
    variables = tuple(
        (
            axis.name,
            tuple(tokens[i] for i in span),
            tuple(None if tokens[i] == UNKNOWN_AXIS else found[i].size for i in span),
            axis.broadcast,
        )
        for _, axis, span in AxisLayout.of(declared).spans(len(found))
        if axis.name is not None and axis.expr is None
    )
    return _Fit(result, variables)


def _element_mismatch(declared: TensorView, found: TensorView) -> str | None:
    if declared.element is None or found.element is None or element_accepts(declared.element, found.element):
        return None
    return f"elements are {found.element.type.name}, not {declared.element.type.name}"


def _dtype_mismatch(declared: TensorView, found: TensorView) -> str | None:
    if declared.dtype is None or found.dtype is None or dtype_names(found.dtype) <= dtype_names(declared.dtype):
        return None
    return f'dtype is "{found.dtype}", not "{declared.dtype}"'


def _known_where_unknown(
    found: tuple[AxisType, ...], tokens: list[str], declared: tuple[AxisType, ...]
) -> tuple[AxisType, ...]:
    """The found axes with each unknown axis (``?``) taken to be the declared axis it faces: gradual typing
    per axis. Facing a variadic part, an unknown axis is anonymous, which the variadic part absorbs."""
    if not has_unknown_kind(" ".join(tokens)):
        return found
    layout = AxisLayout.of(declared)
    filled = list(found)
    for index, token in enumerate(tokens):
        facing = layout.facing(index, len(tokens)) if has_unknown_kind(token) else None
        if facing is not None and not declared[facing].variadic:
            filled[index] = declared[facing]
    return tuple(filled)


def element_accepts(declared: Instance, found: Instance) -> bool:
    """NeMo's element rule: a subclass is accepted; ``VoidType`` declared accepts anything."""
    return declared.type.fullname == VOID_TYPE_FULLNAME or found.type.has_base(declared.type.fullname)


def substitute(declared_axes: str, bindings: CallBindings) -> str:
    """The declared axes spelled with the caller's axes for every bound size variable. A caller's axis of unknown
    kind (``?:n``) takes the kind the declaration gives it (``seq`` bound to ``?:n`` is ``seq:n``): the callee
    says what the axis is."""
    tokens: list[str] = []
    for token, axis in zip(declared_axes.split(), parse_axes(declared_axes), strict=True):
        bound = bindings.get(axis.name) if axis.name is not None and axis.expr is None else None
        if bound is None:
            tokens.append(token)
        elif len(bound.tokens) == 1 and axis.kind is not AxisKind.Any and _sized_unknown(bound.tokens[0]):
            size = bound.tokens[0].partition(":")[2]
            tokens.append(token if size == token else f"{token}:{size}")
        else:
            tokens.extend(bound.tokens)
    return " ".join(tokens)


def _sized_unknown(token: str) -> bool:
    """``?:n``: an axis of unknown kind whose size is known."""
    return token.startswith(f"{UNKNOWN_AXIS}:")
