"""The one rule for where declared axes lie in a shape, and for how size variables bind: used by every checker.

The run-time emitter renders these rules as code, the explainer as prose, and the mypy plugin applies them to
spellings; none of them writes its own. A declaration has at most one variadic axis (``*batch``, ``...``): the
axes before it are counted from the start of the shape, the axes after it from the end, and it stands for what
lies between.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Generic, NamedTuple, TypeVar

from ._axes import AxisKind, AxisType

__all__ = ["AxisLayout", "Binding", "SizeBindings", "kind_letter", "sizes_clash"]

Sizes = tuple[int | None, ...]
"""The sizes a size variable stands for: one for an axis, several for ``*name``; None where not known."""

_Origin = TypeVar("_Origin")


@dataclass(frozen=True, slots=True)
class AxisLayout:
    """Where each declared axis lies in a shape of any rank.

    Build with :meth:`of` (cached: a program has few declarations). ``offset(i)`` is a rank-free index (negative
    after the variadic axis), what generated code indexes with; ``span(i, rank)`` the positions for a known rank.
    """

    axes: tuple[AxisType, ...]
    variadic_at: int | None

    @staticmethod
    def of(axes: tuple[AxisType, ...]) -> AxisLayout:
        return _layout(axes)

    @property
    def count(self) -> int:
        return len(self.axes)

    @property
    def after(self) -> int:
        """How many axes follow the variadic one (0 without one)."""
        return 0 if self.variadic_at is None else self.count - self.variadic_at - 1

    @property
    def min_rank(self) -> int:
        return self.count if self.variadic_at is None else self.count - 1

    def fits(self, rank: int) -> bool:
        """Whether a shape of ``rank`` axes can hold these axes."""
        return rank == self.count if self.variadic_at is None else rank >= self.count - 1

    def rank_wanted(self) -> str:
        """``3`` or ``at least 2``: the ranks that fit, for messages."""
        return str(self.count) if self.variadic_at is None else f"at least {self.min_rank}"

    def offset(self, index: int) -> int:
        """The index of declared axis ``index`` in any fitting shape: from the start up to the variadic axis
        (which starts there), negative from the end after it."""
        if self.variadic_at is None or index <= self.variadic_at:
            return index
        return index - self.count

    def span(self, index: int, rank: int) -> range:
        """The positions declared axis ``index`` covers in a shape of ``rank`` axes (several for the variadic)."""
        if index == self.variadic_at:
            return range(index, rank - self.after)
        offset = self.offset(index)
        start = rank + offset if offset < 0 else offset
        return range(start, start + 1)

    def facing(self, position: int, rank: int) -> int | None:
        """The declared axis that faces ``position`` of a shape of ``rank`` axes; None inside the variadic part
        (or past the declared axes)."""
        if self.variadic_at is None:
            return position if position < self.count else None
        if position < self.variadic_at:
            return position
        if position >= rank - self.after:
            return self.count - (rank - position)
        return None

    def spans(self, rank: int) -> Iterator[tuple[int, AxisType, range]]:
        """Every declared axis with the positions it covers."""
        for index, axis in enumerate(self.axes):
            yield index, axis, self.span(index, rank)


@lru_cache(maxsize=1024)
def _layout(axes: tuple[AxisType, ...]) -> AxisLayout:
    return AxisLayout(axes, next((i for i, axis in enumerate(axes) if axis.variadic), None))


def sizes_clash(first: Sizes, second: Sizes) -> bool:
    """Whether two bindings of one size variable disagree: a different number of axes, or a known size that
    differs from a known size. An unknown size (None) agrees with any."""
    if len(first) != len(second):
        return True
    return any(a is not None and b is not None and a != b for a, b in zip(first, second, strict=True))


class Binding(NamedTuple, Generic[_Origin]):
    """What a size variable was bound to, and by what (an argument's name, the caller's spelling...)."""

    sizes: Sizes
    origin: _Origin


@dataclass(slots=True)
class SizeBindings(Generic[_Origin]):
    """The size variables of one call, in the order they were bound: the first binding holds, a later one that
    clashes with it is reported. A broadcast axis (``#b``) of size 1 binds nothing and clashes with nothing."""

    bound: dict[str, Binding[_Origin]] = field(default_factory=dict)

    def bind(self, name: str, sizes: Sizes, origin: _Origin, *, broadcast: bool = False) -> Binding[_Origin] | None:
        """Bind ``name``; the earlier binding it clashes with, or None."""
        if broadcast and sizes == (1,):
            return None
        earlier = self.bound.get(name)
        if earlier is None:
            self.bound[name] = Binding(sizes, origin)
            return None
        return earlier if sizes_clash(earlier.sizes, sizes) else None

    def get(self, name: str) -> Binding[_Origin] | None:
        return self.bound.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self.bound

    def __bool__(self) -> bool:
        return bool(self.bound)


_KIND_LETTERS: dict[AxisKind, str] = {
    AxisKind.Batch: "B",
    AxisKind.Time: "T",
    AxisKind.Dimension: "D",
    AxisKind.Width: "W",
    AxisKind.Height: "H",
    AxisKind.Singleton: "S",
    AxisKind.Sequence: "seq",
    AxisKind.FlowGroup: "flowgroup",
    AxisKind.Any: "_",
}


def kind_letter(kind: object) -> str:
    """The canonical label of an axis kind, which the grammar reads back to that kind: ``B`` for Batch, ``seq``
    for Sequence, a user kind's own name."""
    letter = _KIND_LETTERS.get(kind) if isinstance(kind, AxisKind) else None
    return letter if letter is not None else str(kind)
