"""The generated fast path rejects exactly the calls the explaining checker rejects.

Exhaustive over every pair of axes strings from a small pool (each first argument optional or not) and every
shape of rank 0 to 2 with sizes 1 and 2: small enough to run in seconds, dense enough that sizes agree often,
so the bound, broadcast, variadic and deferred-expression branches are all reached.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
import torch
from torch import Tensor

from neuraltypes import NT
from neuraltypes.runtime import NeuralTypeError, typecheck
from neuraltypes.runtime._beartype_bridge import DEFAULT_CONF
from neuraltypes.runtime._explain import Explainer, Mismatch
from neuraltypes.runtime._specs import build_spec

AXES = ["b c", "#b c", "*batch c", "b ... c", "T-1", "T", "c", "2*T b", "D:2 b"]
SHAPES: list[tuple[int, ...]] = [shape for rank in range(3) for shape in itertools.product((1, 2), repeat=rank)]


def _explainer_rejects(hints: list[Any], values: list[Any]) -> bool:
    explainer = Explainer(DEFAULT_CONF)
    try:
        for index, (hint, value) in enumerate(zip(hints, values, strict=True)):
            explainer.check(build_spec(hint), value, f"parameter 'a{index}'")
        explainer.finish()
    except Mismatch:
        return True
    return False


def _checked(hints: list[Any], instrument: bool) -> Any:
    def g(a0: Any, a1: Any) -> None:
        return None

    g.__annotations__ = {"a0": hints[0], "a1": hints[1]}
    checked = typecheck(instrument=instrument)(g)
    assert ("_ntq_level" in checked.__code__.co_freevars) is instrument  # the function itself, or a wrapper
    return checked


@pytest.mark.parametrize("instrument", [True, False], ids=["instrumented", "wrapper"])
@pytest.mark.parametrize("first", AXES)
def test_fast_path_and_explainer_agree(first: str, instrument: bool) -> None:
    checked_pairs = 0
    for second, optional in itertools.product(AXES, (False, True)):
        hints: list[Any] = [NT[Tensor, first] | None if optional else NT[Tensor, first], NT[Tensor, second]]
        try:
            checked = _checked(hints, instrument)
        except TypeError:
            continue  # a combination the decorator refuses (an expression nothing binds, *b and b)
        checked_pairs += 1
        firsts: list[tuple[int, ...] | None] = [*SHAPES, None] if optional else list(SHAPES)
        for shape_a, shape_b in itertools.product(firsts, SHAPES):
            values = [None if shape_a is None else torch.empty(shape_a), torch.empty(shape_b)]
            try:
                checked(*values)
                rejected = False
            except NeuralTypeError as error:
                assert "neuraltypes bug" not in str(error), (hints, shape_a, shape_b)
                rejected = True
            assert rejected == _explainer_rejects(hints, values), (hints, shape_a, shape_b)
    assert checked_pairs > 0


LIST_ITEMS: list[tuple[int, ...]] = [shape for rank in (1, 2) for shape in itertools.product((1, 2), repeat=rank)]
LISTS = [list(items) for length in range(3) for items in itertools.product(LIST_ITEMS, repeat=length)]


@pytest.mark.parametrize("instrument", [True, False], ids=["instrumented", "wrapper"])
@pytest.mark.parametrize("first", AXES)
def test_fast_path_and_explainer_agree_on_lists(first: str, instrument: bool) -> None:
    for second in AXES:
        hints: list[Any] = [NT[Tensor, first], list[NT[Tensor, second]]]
        try:
            checked = _checked(hints, instrument)
        except TypeError:
            continue
        for shape_a, items in itertools.product(SHAPES, LISTS):
            values = [torch.empty(shape_a), [torch.empty(shape) for shape in items]]
            try:
                checked(*values)
                rejected = False
            except NeuralTypeError as error:
                assert "neuraltypes bug" not in str(error), (hints, shape_a, items)
                rejected = True
            assert rejected == _explainer_rejects(hints, values), (hints, shape_a, items)
