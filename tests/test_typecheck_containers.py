"""Containers of typed tensors: every element is checked, sizes are shared, NeMo's list depth."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, NamedTuple

import pytest
import torch
from torch import Tensor, nn

from neuraltypes import NT, AxisKind, AxisType, LogitsType, NeuralType
from neuraltypes.nn import Typing
from neuraltypes.runtime import NeuralTypeError, typecheck


class Output(NamedTuple):
    logits: NT[Tensor, "b c", LogitsType]
    lengths: NT[Tensor, "b", "int64"]
    name: str


# NeMo: list dimensions (is_list=True) before tensor dimensions mean nested Python lists of tensors.
LIST_OF_SEQUENCES = NeuralType((AxisType(AxisKind.Batch, is_list=True), AxisType(AxisKind.Time)))


@typecheck
def total(xs: list[NT[Tensor, "b c"]]) -> NT[Tensor, "b c"]:
    return torch.stack(xs).sum(0)


def test_a_list_with_one_bad_element_in_the_middle_is_rejected() -> None:
    good = [torch.ones(2, 3) for _ in range(100)]
    bad = [*good[:50], torch.ones(2, 4), *good[50:]]
    assert total(good).shape == (2, 3)
    with pytest.raises(NeuralTypeError, match=r"parameter 'xs'\[50\]: axis 1 'c' has size 4, but c=3"):
        total(bad)


def test_a_bare_tensor_where_a_list_is_declared_is_rejected() -> None:
    with pytest.raises(NeuralTypeError, match=r"parameter 'xs': expected a list, got Tensor"):
        total(torch.ones(2, 3))  # type: ignore[arg-type]


def test_an_empty_list_binds_nothing() -> None:
    @typecheck
    def f(xs: list[NT[Tensor, "b"]], y: NT[Tensor, "b"]) -> None:
        return None

    f([], torch.ones(3))
    f([torch.ones(3)], torch.ones(3))
    with pytest.raises(NeuralTypeError, match=r"parameter 'y': axis 0 'b' has size 4, but b=3"):
        f([torch.ones(3)], torch.ones(4))


def test_fixed_and_variable_length_tuples() -> None:
    @typecheck
    def pair(xs: tuple[NT[Tensor, "b"], NT[Tensor, "b 2"]], rest: tuple[NT[Tensor, "b"], ...]) -> None:
        return None

    pair((torch.ones(3), torch.ones(3, 2)), (torch.ones(3), torch.ones(3)))
    with pytest.raises(NeuralTypeError, match=r"parameter 'xs': expected a tuple of length 2, got length 1"):
        pair((torch.ones(3),), ())  # type: ignore[arg-type]
    with pytest.raises(NeuralTypeError, match=r"parameter 'xs'\[1\]: axis 1 has size 3, expected 2"):
        pair((torch.ones(3), torch.ones(3, 3)), ())
    with pytest.raises(NeuralTypeError, match=r"parameter 'rest'\[2\]: axis 0 'b' has size 4, but b=3"):
        pair((torch.ones(3), torch.ones(3, 2)), (torch.ones(3), torch.ones(3), torch.ones(4)))


def test_dict_values_and_keys_are_checked() -> None:
    @typecheck
    def features(batch: dict[str, NT[Tensor, "b t"]]) -> None:
        return None

    features({"audio": torch.ones(2, 5), "text": torch.ones(2, 5)})
    with pytest.raises(NeuralTypeError, match=r"parameter 'batch'\['text'\]: axis 1 't' has size 6, but t=5"):
        features({"audio": torch.ones(2, 5), "text": torch.ones(2, 6)})
    with pytest.raises(NeuralTypeError, match=r"parameter 'batch' key 3: Value 3 violates type hint"):
        features({3: torch.ones(2, 5)})  # type: ignore[dict-item]


def test_sequence_accepts_lists_and_tuples() -> None:
    @typecheck
    def f(xs: Sequence[NT[Tensor, "b"]]) -> None:
        return None

    f([torch.ones(2)])
    f((torch.ones(2), torch.ones(2)))
    with pytest.raises(NeuralTypeError, match=r"parameter 'xs'\[1\]"):
        f((torch.ones(2), torch.ones(3)))


def test_named_tuple_fields_are_checked_and_tagged() -> None:
    @typecheck
    def head(x: NT[Tensor, "b c"]) -> Output:
        return Output(x * 2, torch.full((x.shape[0],), x.shape[1]), "head")

    out = head(torch.ones(2, 3))
    assert out.logits.neural_type.elements_type == LogitsType()  # type: ignore[attr-defined]

    @typecheck
    def wrong(x: NT[Tensor, "b c"]) -> Output:
        return Output(x, torch.ones(3), "wrong")

    with pytest.raises(NeuralTypeError, match=r"return value\.lengths: axis 0 'b' has size 3, but b=2"):
        wrong(torch.ones(2, 3))

    @typecheck
    def plain_tuple(x: NT[Tensor, "b c"]) -> Output:
        return (x, torch.ones(2), "x")  # type: ignore[return-value]

    with pytest.raises(NeuralTypeError, match=r"return value: expected a Output, got tuple"):
        plain_tuple(torch.ones(2, 3))


def test_a_named_tuples_plain_fields_go_to_beartype() -> None:
    @typecheck
    def named(x: NT[Tensor, "b c"]) -> Output:
        return Output(x, torch.ones(2, dtype=torch.int64), 3)  # type: ignore[arg-type]

    with pytest.raises(NeuralTypeError, match=r"return value\.name: Value 3 violates type hint"):
        named(torch.ones(2, 3))


def test_optional_accepts_none_and_checks_a_tensor() -> None:
    @typecheck
    def f(x: NT[Tensor, "b"], mask: NT[Tensor, "b"] | None = None) -> None:
        return None

    f(torch.ones(2))
    f(torch.ones(2), None)
    f(torch.ones(2), torch.ones(2))
    with pytest.raises(NeuralTypeError, match=r"parameter 'mask': axis 0 'b' has size 3, but b=2"):
        f(torch.ones(2), torch.ones(3))


def test_a_size_first_bound_inside_an_optional_binds_later_arguments() -> None:
    @typecheck
    def f(mask: NT[Tensor, "b"] | None, x: NT[Tensor, "b"]) -> None:
        return None

    f(None, torch.ones(5))
    f(torch.ones(5), torch.ones(5))
    with pytest.raises(NeuralTypeError, match=r"parameter 'x': axis 0 'b' has size 4, but b=5"):
        f(torch.ones(5), torch.ones(4))


def test_a_union_of_a_tensor_and_ordinary_types() -> None:
    @typecheck
    def f(x: NT[Tensor, "b"] | float) -> None:
        return None

    f(1.5)
    f(torch.ones(3))
    with pytest.raises(NeuralTypeError, match=r"parameter 'x': has 2 axes"):
        f(torch.ones(3, 3))
    with pytest.raises(NeuralTypeError, match=r"parameter 'x': Value 'a' violates"):
        f("a")  # type: ignore[arg-type]


def test_a_union_of_two_neural_types_is_refused_at_decoration() -> None:
    def f(x: NT[Tensor, "b"] | list[NT[Tensor, "b"]]) -> None:
        return None

    with pytest.raises(TypeError, match="a union may hold one neural tensor type"):
        typecheck(f)


def test_nested_lists_are_checked_to_every_depth() -> None:
    @typecheck
    def f(xs: list[list[NT[Tensor, "t"]]]) -> None:
        return None

    f([[torch.ones(3)], [torch.ones(3), torch.ones(3)]])
    with pytest.raises(NeuralTypeError, match=r"parameter 'xs'\[1\]\[0\]: expected a Tensor, got int"):
        f([[torch.ones(3)], [1]])  # type: ignore[list-item]


def test_nemo_list_axes_declare_list_depth() -> None:
    @typecheck
    def f(xs: Annotated[Tensor, LIST_OF_SEQUENCES]) -> None:
        return None

    f([torch.ones(4), torch.ones(5)])  # type: ignore[arg-type]
    f((torch.ones(4), torch.ones(5)))  # type: ignore[arg-type]  # a tuple too, as NeMo accepts
    with pytest.raises(NeuralTypeError, match=r"parameter 'xs': expected a list or tuple, got Tensor"):
        f(torch.ones(4))
    with pytest.raises(NeuralTypeError, match=r"parameter 'xs'\[1\]: has 2 axes, expected 1"):
        f([torch.ones(4), torch.ones(4, 1)])  # type: ignore[arg-type]


class Chunker(Typing, nn.Module):
    """NeMo's style: a list axis in an ``input_types`` property, an unannotated forward."""

    @property
    def input_types(self) -> dict[str, Any]:
        # A list over the batch of (time, 4) tensors, each with its own length.
        axes = (AxisType(AxisKind.Batch, is_list=True), AxisType(AxisKind.Time), AxisType(AxisKind.Dimension, 4))
        return {"chunks": NeuralType(axes)}

    @typecheck()
    def forward(self, chunks):  # type: ignore[no-untyped-def]
        return len(chunks)


def test_a_list_axis_in_nemo_input_types_accepts_a_list_of_tensors() -> None:
    assert Chunker()(chunks=[torch.ones(3, 4), torch.ones(5, 4), torch.ones(1, 4)]) == 3
    assert Chunker()(chunks=[]) == 0


def test_a_list_axis_in_nemo_input_types_rejects_a_bare_tensor() -> None:
    with pytest.raises(
        NeuralTypeError, match=r"Chunker.forward\(\) input 'chunks': expected a list or tuple, got Tensor"
    ):
        Chunker()(chunks=torch.ones(3, 3, 4))


def test_a_list_axis_in_nemo_input_types_rejects_one_bad_element_in_the_middle() -> None:
    good = [torch.ones(t, 4) for t in range(1, 101)]
    with pytest.raises(NeuralTypeError, match=r"input 'chunks'\[50\]: axis 1 has size 5, expected 4"):
        Chunker()(chunks=[*good[:50], torch.ones(2, 5), *good[50:]])
    with pytest.raises(NeuralTypeError, match=r"input 'chunks'\[1\]: has 1 axes, expected 2"):
        Chunker()(chunks=[torch.ones(3, 4), torch.ones(4), torch.ones(3, 4)])
