"""Size expressions in axes strings (``T-1``, ``2*D``, ``(H+1)//2``): a tiny AST, evaluated without ``eval``."""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass

__all__ = ["BinOp", "Const", "DimExpr", "Var"]

_OPS: dict[str, Callable[[int, int], int]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "//": operator.floordiv,
}
_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "//": 2}


@dataclass(frozen=True, slots=True)
class Const:
    """An integer literal."""

    value: int

    def evaluate(self, sizes: Mapping[str, int]) -> int:
        return self.value

    def variables(self) -> tuple[str, ...]:
        return ()

    def __str__(self) -> str:
        return str(self.value)


@dataclass(frozen=True, slots=True)
class Var:
    """A size variable, bound by another axis of the same call."""

    name: str

    def evaluate(self, sizes: Mapping[str, int]) -> int:
        return sizes[self.name]

    def variables(self) -> tuple[str, ...]:
        return (self.name,)

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class BinOp:
    """``left op right`` for ``+``, ``-``, ``*`` and ``//``."""

    op: str
    left: DimExpr
    right: DimExpr

    def evaluate(self, sizes: Mapping[str, int]) -> int:
        return _OPS[self.op](self.left.evaluate(sizes), self.right.evaluate(sizes))

    def variables(self) -> tuple[str, ...]:
        seen = dict.fromkeys(self.left.variables() + self.right.variables())
        return tuple(seen)

    def __str__(self) -> str:
        mine = _PRECEDENCE[self.op]
        left = _wrap(self.left, mine, strict=False)
        # The right operand needs parentheses at equal precedence: `a-(b-c)` is not `a-b-c`.
        right = _wrap(self.right, mine, strict=True)
        return f"{left}{self.op}{right}"


def _wrap(expr: DimExpr, outer: int, *, strict: bool) -> str:
    if isinstance(expr, BinOp):
        inner = _PRECEDENCE[expr.op]
        if inner < outer or (strict and inner == outer):
            return f"({expr})"
    return str(expr)


DimExpr = Const | Var | BinOp
