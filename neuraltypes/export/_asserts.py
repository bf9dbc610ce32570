"""The run-time asserts of an exported program, and whether each holds for every size the program accepts.

torch.export keeps a guard it cannot express as a range as ``_assert_scalar`` in the program: the program
raises for sizes where it fails. ONNX has no such check: the exported file computes something for those sizes,
and it may be wrong (NeMo's preprocessor pads frames to a multiple of 16 only when they are not one already;
traced on the padding path, the file pads a multiple of 16 by 16 more). An assert that holds everywhere
(``min(T+1, 4*T+4) == T+1``, which torch cannot prove) is harmless; one that fails somewhere marks the example's
path. Each assert is evaluated, as torch evaluates its guards (printed as Python), at the sizes of a sweep within
the program's ranges: every size up to ``_SWEEP`` above the minimum for one size, a grid and random points for
several.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import torch

from ._check import whole_bound

__all__ = ["failing_asserts"]

_SWEEP = 20_000  # sizes tried from the minimum, for an assert on one size
_GRID = 40  # sizes tried per size, for an assert on several
_RANDOM = 4_000  # random points as well, for an assert on several
_BUILTINS = {"min": min, "max": max, "abs": abs}


def _asserts(program: torch.export.ExportedProgram) -> Iterator[Any]:
    for module in program.graph_module.modules():
        if not isinstance(module, torch.fx.GraphModule):
            continue
        for node in module.graph.nodes:
            if node.target is torch.ops.aten._assert_scalar.default and isinstance(node.args[0], torch.fx.Node):
                value = node.args[0].meta.get("val")
                if isinstance(value, torch.SymBool):
                    yield value.node.expr


def _evaluator(expr: Any, symbols: list[Any]) -> Callable[..., Any] | None:
    from torch.utils._sympy.printers import PythonPrinter

    try:
        source = PythonPrinter().doprint(expr)
        code = compile(f"lambda {', '.join(map(str, symbols))}: {source}", "<torch guard>", "eval")
    except Exception:  # a form the printer cannot write as Python: not checked
        return None
    function: Callable[..., Any] = eval(code, {"__builtins__": _BUILTINS})  # torch's own printed guard, no user text
    return function


def _points(symbols: list[Any], lows: list[int], rng: random.Random) -> Iterator[tuple[int, ...]]:
    if len(symbols) == 1:
        yield from ((value,) for value in range(lows[0], lows[0] + _SWEEP))
        return
    yield from itertools.product(*(range(low, low + _GRID) for low in lows))
    for _ in range(_RANDOM):
        yield tuple(rng.randrange(low, low + _SWEEP) for low in lows)


def _first_failure(expr: Any, lows: Mapping[Any, int], highs: Mapping[Any, int | None]) -> dict[str, int] | None:
    symbols = sorted(expr.free_symbols, key=str)
    function = _evaluator(expr, symbols)
    if function is None:
        return None
    rng = random.Random(0)
    for point in _points(symbols, [lows[s] for s in symbols], rng):
        if any(highs[s] is not None and value > highs[s] for s, value in zip(symbols, point, strict=True)):  # type: ignore[operator]
            continue
        try:
            holds = bool(function(*point))
        except (ZeroDivisionError, ArithmeticError, TypeError):
            continue
        if not holds:
            return {str(s): value for s, value in zip(symbols, point, strict=True)}
    return None


def failing_asserts(program: torch.export.ExportedProgram) -> list[tuple[Any, dict[str, int]]]:
    """Each run-time assert of ``program`` that fails at some size within its ranges, with such sizes."""
    ranges = program.range_constraints
    failing = []
    for expr in _asserts(program):
        if expr in (True, False) or not getattr(expr, "free_symbols", None):
            continue
        lows: dict[Any, int] = {}
        highs: dict[Any, int | None] = {}
        for symbol in expr.free_symbols:
            bounds = ranges.get(symbol)
            lows[symbol] = max(whole_bound(bounds.lower) or 0, 1) if bounds is not None else 1
            highs[symbol] = whole_bound(bounds.upper) if bounds is not None else None
        witness = _first_failure(expr, lows, highs)
        if witness is not None:
            failing.append((expr, witness))
    return failing
