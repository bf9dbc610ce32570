"""Size arithmetic: axis sizes as products of symbols, and which reshapes of them keep their meaning.

One kernel for every checker. An axis size is a ``Size``: a rational coefficient times a product of symbols
with integer exponents (``C // n_head`` is ``C * n_head**-1``, ``3 * n_embd``, ``B * T``); a sum that does not
fold (``T - 1``) is one opaque symbol of its own. Sizes compare by value, so ``n_head * (C // n_head)`` is ``C``:
a reshape is taken to divide exactly, as torch requires it to.

``reshape_groups`` reads a ``view``/``reshape`` as torch executes it: runs of source axes become runs of target
axes with the same number of elements. A run that takes several axes to several others reinterprets elements;
when its target sizes are products of source axes that are not adjacent in order (merging attention heads
without transposing them back), that is ``Misordered``, a bug that runs silently.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import NamedTuple

from ._dims import Const, DimExpr, Var

__all__ = [
    "Misordered",
    "ReshapeGroup",
    "Size",
    "infer_size",
    "provably_different",
    "reshape_groups",
    "size_of_expr",
]

_WINDOW = 4  # the most axes one run of a reshape may take on each side, when found by products


@dataclass(frozen=True, slots=True, eq=False)
class Size:
    """``coefficient * product(symbol ** exponent)``; factors keep the order they appeared in, for display."""

    coefficient: Fraction
    factors: tuple[tuple[str, int], ...] = ()

    @staticmethod
    def constant(value: int) -> Size:
        return Size(Fraction(value))

    @staticmethod
    def symbol(name: str) -> Size:
        return Size(Fraction(1), ((name, 1),))

    @property
    def is_constant(self) -> bool:
        return not self.factors

    @property
    def value(self) -> int | None:
        """The size as an int, when it is a whole constant."""
        if self.factors or self.coefficient.denominator != 1:
            return None
        return int(self.coefficient)

    def _key(self) -> tuple[Fraction, tuple[tuple[str, int], ...]]:
        return self.coefficient, tuple(sorted(self.factors))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Size) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __mul__(self, other: Size) -> Size:
        exponents = dict(self.factors)
        for name, power in other.factors:
            exponents[name] = exponents.get(name, 0) + power
        return Size(self.coefficient * other.coefficient, tuple((n, p) for n, p in exponents.items() if p))

    def inverse(self) -> Size:
        return Size(1 / self.coefficient, tuple((name, -power) for name, power in self.factors))

    def divide(self, other: Size) -> Size:
        """Exact division (``//`` in a reshape, which must divide): ``C // n_head``."""
        if other.coefficient == 0:
            raise ZeroDivisionError("a size divided by zero")
        if self.is_constant and other.is_constant:
            return Size(Fraction(int(self.coefficient // other.coefficient)))
        return self * other.inverse()

    def add(self, other: Size, sign: int = 1) -> Size:
        """``self + other`` (``sign=-1``: minus): folded for constants and like terms, else an opaque symbol."""
        if self._key()[1] == other._key()[1]:
            coefficient = self.coefficient + sign * other.coefficient
            return Size(coefficient, self.factors if coefficient else ())
        if other.coefficient == 0:
            return self
        if self.coefficient == 0 and sign == 1:
            return other
        op = "+" if sign == 1 else "-"
        return Size.symbol(f"{self}{op}{_operand(other, strict=sign == -1)}")

    def __str__(self) -> str:
        """The size as the axes grammar writes it: ``3*n_embd``, ``C//n_head``, ``(T-1)*B``."""
        if self.coefficient == 1 and len(self.factors) == 1 and self.factors[0][1] == 1:
            return self.factors[0][0]
        numerator = [_factor_text(name) for name, power in self.factors for _ in range(max(power, 0))]
        denominator = [_factor_text(name) for name, power in self.factors for _ in range(max(-power, 0))]
        if self.coefficient.numerator != 1 or not numerator:
            numerator.insert(0, str(self.coefficient.numerator))
        if self.coefficient.denominator != 1:
            denominator.insert(0, str(self.coefficient.denominator))
        text = "*".join(numerator)
        return text + "".join(f"//{d}" for d in denominator)


def _factor_text(name: str) -> str:
    return f"({name})" if any(op in name for op in "+-*/") else name


def _operand(size: Size, *, strict: bool) -> str:
    text = str(size)
    return f"({text})" if strict and any(op in text for op in "+-") else text


def size_of_expr(expr: DimExpr) -> Size:
    """The size a grammar expression (``T-1``, ``2*D``, ``C//n_head``) denotes."""
    if isinstance(expr, Const):
        return Size.constant(expr.value)
    if isinstance(expr, Var):
        return Size.symbol(expr.name)
    left, right = size_of_expr(expr.left), size_of_expr(expr.right)
    if expr.op == "*":
        return left * right
    if expr.op == "//":
        return left.divide(right)
    return left.add(right, 1 if expr.op == "+" else -1)


def provably_different(first: Size, second: Size) -> bool:
    """Whether two sizes differ for every value of their symbols: their ratio is a constant other than 1."""
    ratio = first * second.inverse()
    return ratio.is_constant and ratio.coefficient != 1


def infer_size(source: Sequence[Size | None], target: Sequence[Size | None], at: int) -> Size | None:
    """The size ``-1`` stands for at ``target[at]``: all elements over the other target sizes; None if unknown."""
    total = _product(source)
    others = _product([size for index, size in enumerate(target) if index != at])
    return None if total is None or others is None else total * others.inverse()


def _product(sizes: Sequence[Size | None]) -> Size | None:
    result = Size.constant(1)
    for size in sizes:
        if size is None:
            return None
        result = result * size
    return result


class ReshapeGroup(NamedTuple):
    """A run of source axes that becomes a run of target axes holding the same elements."""

    source: range
    target: range


class Misordered(NamedTuple):
    """A reshape whose target axes are products of source axes taken out of order: ``target`` is made of the
    source axes ``sources[i]`` for each target axis ``i`` of the run."""

    target: range
    sources: tuple[tuple[int, ...], ...]


def reshape_groups(
    source: Sequence[Size | None], target: Sequence[Size | None]
) -> list[ReshapeGroup] | Misordered | None:
    """How a reshape from ``source`` sizes to ``target`` sizes groups the axes; None when it cannot be told.

    Runs are found from both ends by equal products; what lies between them is one run of its own (torch checks
    at run time that the element counts agree). A run of several axes to several axes is ``Misordered`` when its
    targets are products of its sources that are not adjacent in order.
    """
    front: list[ReshapeGroup] = []
    i, j = 0, 0
    while i < len(source) and j < len(target):
        found = _run(source, target, i, j, 1)
        if found is None:
            break
        front.append(ReshapeGroup(range(i, i + found[0]), range(j, j + found[1])))
        i, j = i + found[0], j + found[1]
    back: list[ReshapeGroup] = []
    k, m = len(source), len(target)
    while k > i and m > j:
        found = _run(source, target, k, m, -1)
        if found is None:
            break
        back.insert(0, ReshapeGroup(range(k - found[0], k), range(m - found[1], m)))
        k, m = k - found[0], m - found[1]
    middle: list[ReshapeGroup] = []
    if (k > i) != (m > j):
        if any(size is None for size in [*source[i:k], *target[j:m]]):
            return None
        return None  # every axis of one side is placed and the other side has more: torch refuses it
    if k > i:
        middle = [ReshapeGroup(range(i, k), range(j, m))]
    groups = front + middle + back
    for group in groups:
        if len(group.source) > 1 and len(group.target) > 1:
            order = _misorder(source, target, group)
            if order is not None:
                return order
    return groups


def _run(
    source: Sequence[Size | None], target: Sequence[Size | None], i: int, j: int, step: int
) -> tuple[int, int] | None:
    """The smallest run from ``(i, j)`` (forwards) or ending there (``step=-1``) with equal known products."""
    best: tuple[int, int] | None = None
    for a, b in sorted(itertools.product(range(1, _WINDOW + 1), repeat=2), key=lambda ab: (ab[0] + ab[1], ab)):
        src = source[i : i + a] if step == 1 else source[max(i - a, 0) : i]
        tgt = target[j : j + b] if step == 1 else target[max(j - b, 0) : j]
        if len(src) != a or len(tgt) != b:
            continue
        left, right = _product(src), _product(tgt)
        if left is not None and right is not None and left == right:
            best = (a, b)
            break
    return best


def _misorder(source: Sequence[Size | None], target: Sequence[Size | None], group: ReshapeGroup) -> Misordered | None:
    """The run's reading as products of its source axes, when the only readings take them out of order."""
    sources = list(group.source)
    targets = list(group.target)
    if len(sources) > _WINDOW + 2 or any(source[s] is None for s in sources):
        return None
    readings: list[tuple[int, ...]] = []
    for assignment in itertools.product(range(len(targets)), repeat=len(sources)):
        if all(
            _product([source[s] for s, t in zip(sources, assignment, strict=True) if t == ti]) == target[tj]
            for ti, tj in enumerate(targets)
        ):
            readings.append(assignment)
    if not readings or any(list(reading) == sorted(reading) for reading in readings):
        return None
    first = readings[0]
    return Misordered(
        group.target,
        tuple(tuple(s for s, t in zip(sources, first, strict=True) if t == ti) for ti in range(len(targets))),
    )
