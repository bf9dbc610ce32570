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
    "product",
    "provably_different",
    "reshape_groups",
    "size_of_expr",
]

_WINDOW = 4  # the most axes one run of a reshape may take on each side, when found by products


Monomial = tuple[tuple[str, int], ...]  # (symbol, exponent) pairs, in the order the symbols appeared


@dataclass(frozen=True, slots=True, eq=False)
class Size:
    """A sum of terms ``coefficient * product(symbol ** exponent)``: ``T - 1``, ``C // n_head``, ``2*C + 1``.

    Terms keep the order they appeared in, for display; two sizes are equal when their terms are. Division by a
    sum (``x // (T - 1)``) makes the sum a symbol of its own.
    """

    terms: tuple[tuple[Monomial, Fraction], ...] = ()

    @staticmethod
    def constant(value: int | Fraction) -> Size:
        return Size((((), Fraction(value)),)) if value else Size()

    @staticmethod
    def symbol(name: str) -> Size:
        return Size(((((name, 1),), Fraction(1)),))

    @property
    def factors(self) -> Monomial:
        """The symbols of a single term (``C // n_head``: C, n_head); of the first term of a sum."""
        return self.terms[0][0] if self.terms else ()

    @property
    def names(self) -> frozenset[str]:
        """Every symbol with a positive exponent in some term."""
        return frozenset(name for monomial, _ in self.terms for name, power in monomial if power > 0)

    @property
    def symbols(self) -> frozenset[str]:
        """Every symbol in some term, divided by or multiplied by (``C//n_head``: ``C`` and ``n_head``)."""
        return frozenset(name for monomial, _ in self.terms for name, _power in monomial)

    @property
    def is_constant(self) -> bool:
        return all(not monomial for monomial, _ in self.terms)

    @property
    def value(self) -> int | None:
        """The size as an int, when it is a whole constant."""
        if not self.is_constant:
            return None
        total = sum((coefficient for _, coefficient in self.terms), Fraction(0))
        return int(total) if total.denominator == 1 else None

    def _key(self) -> frozenset[tuple[Monomial, Fraction]]:
        return frozenset((tuple(sorted(monomial)), coefficient) for monomial, coefficient in self.terms)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Size) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def add(self, other: Size, sign: int = 1) -> Size:
        """``self + other`` (``sign=-1``: minus), like terms folded."""
        merged: dict[Monomial, Fraction] = {}
        order: dict[Monomial, Monomial] = {}
        for monomial, coefficient in (*self.terms, *((m, sign * c) for m, c in other.terms)):
            key = tuple(sorted(monomial))
            order.setdefault(key, monomial)
            merged[key] = merged.get(key, Fraction(0)) + coefficient
        return Size(tuple((order[key], value) for key, value in merged.items() if value))

    def __mul__(self, other: Size) -> Size:
        result = Size()
        for left, a in self.terms:
            for right, b in other.terms:
                exponents = dict(left)
                for name, power in right:
                    exponents[name] = exponents.get(name, 0) + power
                monomial = tuple((n, p) for n, p in exponents.items() if p)
                result = result.add(Size(((monomial, a * b),)))
        return result

    def inverse(self) -> Size:
        """``1 / self``: exact for one term; a sum becomes a symbol of its own (``(T-1)``)."""
        if not self.terms:
            raise ZeroDivisionError("a size divided by zero")
        if len(self.terms) == 1:
            monomial, coefficient = self.terms[0]
            return Size(((tuple((name, -power) for name, power in monomial), 1 / coefficient),))
        return Size(((((str(self), -1),), Fraction(1)),))

    def divide(self, other: Size) -> Size:
        """Exact division (``//`` in a reshape, which must divide): ``C // n_head``; constants floor-divide."""
        if not other.terms:
            raise ZeroDivisionError("a size divided by zero")
        if self.is_constant and other.is_constant:
            numerator, denominator = self.constant_value(), other.constant_value()
            return Size.constant(Fraction(int(numerator // denominator)))
        if self == other:
            return Size.constant(1)
        if len(self.terms) > 1 and other.is_constant:
            # a sum divided by a number floors as a whole: (T-1)//2 is not T//2 - 1//2
            return Size.symbol(str(self)) * other.inverse()
        return self * other.inverse()

    def constant_value(self) -> Fraction:
        return sum((coefficient for _, coefficient in self.terms), Fraction(0))

    def __str__(self) -> str:
        """The size as the axes grammar writes it: ``3*n_embd``, ``C//n_head``, ``T-1``, ``(T-1)*B``."""
        if not self.terms:
            return "0"
        text = ""
        for index, (monomial, coefficient) in enumerate(self.terms):
            term = _term_text(monomial, abs(coefficient))
            if index == 0:
                text = f"-{term}" if coefficient < 0 else term
            else:
                text += f"{'-' if coefficient < 0 else '+'}{term}"
        return text


def _term_text(monomial: Monomial, coefficient: Fraction) -> str:
    numerator = [_factor_text(name) for name, power in monomial for _ in range(max(power, 0))]
    denominator = [_factor_text(name) for name, power in monomial for _ in range(max(-power, 0))]
    if coefficient.numerator != 1 or not numerator:
        numerator.insert(0, str(coefficient.numerator))
    if coefficient.denominator != 1:
        denominator.insert(0, str(coefficient.denominator))
    return "*".join(numerator) + "".join(f"//{d}" for d in denominator)


def _factor_text(name: str) -> str:
    return f"({name})" if any(op in name for op in "+-*/") else name


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


def provably_different(first: Size, second: Size, independent: frozenset[str] = frozenset()) -> bool:
    """Whether two sizes differ for every value of their symbols: their difference is a constant other than 0
    (``T`` and ``T-1``), or their ratio a constant other than 1 (``C`` and ``2*C``).

    ``independent``: symbols the caller takes as free of each other (the axis names of one signature: ``B`` and
    ``T`` in ``"B T C"``). Two sizes that are both written in them alone and that are not the same expression
    differ too: code that needs ``T == B``, or ``T == 1``, holds only for some inputs. A constant other than 1 is
    left out: ``C`` may be declared free and be 64 in every model built."""
    difference = first.add(second, -1)
    if difference.is_constant:
        return difference.constant_value() != 0
    if independent and _free(first, independent) and _free(second, independent):
        return True
    if len(first.terms) == 1 and len(second.terms) == 1:
        ratio = first * second.inverse()
        return ratio.is_constant and ratio.constant_value() != 1
    return False


def _free(size: Size, independent: frozenset[str]) -> bool:
    """Written in the independent symbols alone, or the constant 1 (an axis that stretches, or one element)."""
    return size.constant_value() == 1 if size.is_constant else size.symbols <= independent


def infer_size(source: Sequence[Size | None], target: Sequence[Size | None], at: int) -> Size | None:
    """The size ``-1`` stands for at ``target[at]``: all elements over the other target sizes; None if unknown."""
    total = _product(source)
    others = _product([size for index, size in enumerate(target) if index != at])
    return None if total is None or others is None else total * others.inverse()


def product(sizes: Sequence[Size | None]) -> Size | None:
    """The product of sizes; None when one is unknown."""
    return _product(sizes)


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
    front, (i, j) = _runs_from_front(source, target)
    back, (k, m) = _runs_from_back(source, target, i, j)
    if (k > i) != (m > j):
        return None  # every axis of one side is placed and the other side has more: torch refuses it
    middle = [ReshapeGroup(range(i, k), range(j, m))] if k > i else []
    groups = front + middle + back
    misordered = _first_misordered(source, target, groups)
    return groups if misordered is None else misordered


def _runs_from_front(
    source: Sequence[Size | None], target: Sequence[Size | None]
) -> tuple[list[ReshapeGroup], tuple[int, int]]:
    """The runs matched from the start, and the source and target axes where matching stopped."""
    groups: list[ReshapeGroup] = []
    i, j = 0, 0
    while i < len(source) and j < len(target):
        found = _run(source, target, i, j, 1)
        if found is None:
            break
        groups.append(ReshapeGroup(range(i, i + found[0]), range(j, j + found[1])))
        i, j = i + found[0], j + found[1]
    return groups, (i, j)


def _runs_from_back(
    source: Sequence[Size | None], target: Sequence[Size | None], i: int, j: int
) -> tuple[list[ReshapeGroup], tuple[int, int]]:
    """The runs matched from the end, down to source axis ``i`` and target axis ``j`` at most, and where
    matching stopped."""
    groups: list[ReshapeGroup] = []
    k, m = len(source), len(target)
    while k > i and m > j:
        found = _run(source, target, k, m, -1)
        if found is None:
            break
        groups.insert(0, ReshapeGroup(range(k - found[0], k), range(m - found[1], m)))
        k, m = k - found[0], m - found[1]
    return groups, (k, m)


def _first_misordered(
    source: Sequence[Size | None], target: Sequence[Size | None], groups: list[ReshapeGroup]
) -> Misordered | None:
    """The first run of several axes to several axes whose only readings take the axes out of order."""
    for group in groups:
        if len(group.source) > 1 and len(group.target) > 1:
            order = _misorder(source, target, group)
            if order is not None:
                return order
    return None


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
    """The run's reading as products of its source axes (or as pieces of them), when the only readings take
    them out of order."""
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
    if readings:
        if any(list(reading) == sorted(reading) for reading in readings):
            return None
        first = readings[0]
        return Misordered(
            group.target,
            tuple(tuple(s for s, t in zip(sources, first, strict=True) if t == ti) for ti in range(len(targets))),
        )
    return _missplit(source, target, group)


def _missplit(source: Sequence[Size | None], target: Sequence[Size | None], group: ReshapeGroup) -> Misordered | None:
    """The run's reading as pieces of its source axes (``(B, T, C)`` to ``(B, n_head, T, C//n_head)``: C split
    around T), when the only readings take the pieces out of order."""
    sources, targets = list(group.source), list(group.target)
    if len(targets) > _WINDOW + 2 or any(target[t] is None for t in targets):
        return None
    readings = [
        assignment
        for assignment in itertools.product(range(len(sources)), repeat=len(targets))
        if all(
            _product([target[t] for t, si in zip(targets, assignment, strict=True) if si == index]) == source[s]
            for index, s in enumerate(sources)
        )
    ]
    if not readings or any(list(reading) == sorted(reading) for reading in readings):
        return None
    return Misordered(group.target, tuple((sources[si],) for si in readings[0]))
