"""The core's size arithmetic and its reading of reshapes, which the plugin's rules and the axes grammar share."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor

from neuraltypes import NT, NeuralTypeError, typecheck
from neuraltypes.core import (
    Misordered,
    ReshapeGroup,
    Size,
    infer_size,
    parse_axes,
    provably_different,
    reshape_groups,
    size_of_expr,
)

B, T, C, H = (Size.symbol(name) for name in ("B", "T", "C", "n_head"))
HS = C.divide(H)


def test_sizes_are_polynomials_in_their_symbols() -> None:
    assert H * HS == C
    assert str(HS) == "C//n_head"
    assert T.add(Size.constant(2)).add(Size.constant(2), -1) == T
    assert str(T.add(Size.constant(1), -1).divide(Size.constant(2)).add(Size.constant(1))) == "(T-1)//2+1"
    assert Size.constant(7).divide(Size.constant(2)).value == 3  # constants floor, as torch's sizes do
    assert infer_size([B, T, C], [None, C], 0) == B * T


@pytest.mark.parametrize("text", ["C//n_head", "3*n_embd", "B*T", "(T-1)//2+1", "T-1", "2*C+1"])
def test_a_size_spells_itself_in_the_grammar(text: str) -> None:
    axis = parse_axes(f"_:{text}")[0]
    assert axis.expr is not None
    size = size_of_expr(axis.expr)
    assert str(size) == text
    reread = parse_axes(f"_:{size}")[0].expr
    assert reread is not None and size_of_expr(reread) == size


def test_sizes_differ_provably_only_by_a_constant() -> None:
    assert provably_different(T, T.add(Size.constant(1), -1))
    assert provably_different(Size.constant(2) * C, C)
    assert not provably_different(C, T)  # two symbols may be equal at run time
    assert not provably_different(C, H * HS)


def test_a_reshape_reads_as_runs_of_axes() -> None:
    assert reshape_groups([B, T, C], [B, T, H, HS]) == [
        ReshapeGroup(range(0, 1), range(0, 1)),
        ReshapeGroup(range(1, 2), range(1, 2)),
        ReshapeGroup(range(2, 3), range(2, 4)),
    ]
    merged = reshape_groups([B, T, H, HS], [B, T, C])
    assert isinstance(merged, list) and merged[-1] == ReshapeGroup(range(2, 4), range(2, 3))


def test_merging_heads_without_moving_them_back_is_misordered() -> None:
    assert reshape_groups([B, H, T, HS], [B, T, C]) == Misordered(range(1, 3), ((2,), (1, 3)))
    assert reshape_groups([Size.symbol("a"), Size.symbol("b")], [Size.symbol("b"), Size.symbol("a")]) == Misordered(
        range(0, 2), ((1,), (0,))
    )


def test_sizes_that_cannot_be_related_are_one_run_not_an_error() -> None:
    n_embd = Size.symbol("n_embd")
    groups = reshape_groups([B, T, n_embd], [B, T, H, HS])
    assert isinstance(groups, list) and groups[-1] == ReshapeGroup(range(2, 3), range(2, 4))


def test_the_run_time_check_reads_a_named_axis_with_a_computed_size() -> None:
    @typecheck
    def heads(x: NT[Tensor, "B n_head T D:C//n_head"], y: NT[Tensor, "B T C"]) -> NT[Tensor, "B T _:C"]:
        return y

    heads(torch.zeros(2, 4, 3, 5), torch.zeros(2, 3, 20))
    with pytest.raises(NeuralTypeError, match="C//n_head"):
        heads(torch.zeros(2, 4, 3, 6), torch.zeros(2, 3, 20))


def test_splitting_heads_around_another_axis_is_misordered() -> None:
    assert reshape_groups([B, T, C], [B, H, T, HS]) == Misordered(range(1, 4), ((2,), (1,), (2,)))
