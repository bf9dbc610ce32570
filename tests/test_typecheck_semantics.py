"""Element semantics: outputs carry their neural type forward; subtypes pass; unknown tensors are not judged."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor

from neuraltypes import (
    NT,
    AcousticEncodedRepresentation,
    EncodedRepresentation,
    LengthsType,
    LogitsType,
    LossType,
    NeuralType,
    ProbsType,
    neural_type_of,
)
from neuraltypes.runtime import NeuralTypeError, disable_semantic_checks, set_tag, tag_of, typecheck

Logits = NT[Tensor, "B C", LogitsType]
Probs = NT[Tensor, "B C", ProbsType]


@typecheck
def classify(x: NT[Tensor, "B D"]) -> Logits:
    return x * 1.0


@typecheck
def softmax(x: Logits) -> Probs:
    return x.softmax(-1)


@typecheck
def nll(p: Probs) -> NT[Tensor, "", LossType]:
    return -p.log().mean()


def test_outputs_carry_their_declared_type_across_calls() -> None:
    logits = classify(torch.ones(2, 3))
    assert tag_of(logits) == neural_type_of(Logits)
    assert nll(softmax(logits)).ndim == 0


def test_logits_where_probabilities_are_expected_fail() -> None:
    with pytest.raises(
        NeuralTypeError, match=r"parameter 'p': carries the neural type NT\[Tensor, \"B C\", LogitsType\]"
    ):
        nll(classify(torch.ones(2, 3)))


def test_a_subtype_is_accepted_and_a_supertype_is_not() -> None:
    @typecheck
    def encode(x: NT[Tensor, "B T D"]) -> NT[Tensor, "B T D", AcousticEncodedRepresentation]:
        return x + 0

    @typecheck
    def decode(x: NT[Tensor, "B T D", EncodedRepresentation]) -> NT[Tensor, "B T D", EncodedRepresentation]:
        return x + 0

    @typecheck
    def acoustic_only(x: NT[Tensor, "B T D", AcousticEncodedRepresentation]) -> None:
        return None

    encoded = decode(encode(torch.ones(1, 2, 3)))
    with pytest.raises(NeuralTypeError, match=r"\(LESS\)"):
        acoustic_only(encoded)


def test_transposed_axis_kinds_are_a_semantic_error() -> None:
    @typecheck
    def features(x: NT[Tensor, "B T D"]) -> NT[Tensor, "B T D", EncodedRepresentation]:
        return x + 0

    @typecheck
    def channels_first(x: NT[Tensor, "B D T", EncodedRepresentation]) -> None:
        return None

    square = features(torch.ones(2, 4, 4))
    with pytest.raises(NeuralTypeError, match=r"\(TRANSPOSE_SAME\)"):
        channels_first(square)


def test_a_tensor_of_unknown_provenance_is_checked_for_shape_and_dtype_only() -> None:
    logits = classify(torch.ones(2, 3))
    assert nll(logits.detach().softmax(-1)).ndim == 0  # an op's result carries no tag
    assert nll(torch.rand(2, 3)).ndim == 0


def test_the_caller_tensor_returned_unchanged_keeps_its_tag() -> None:
    @typecheck
    def identity(x: NT[Tensor, "B C"]) -> NT[Tensor, "B C", ProbsType]:
        return x

    logits = classify(torch.ones(2, 3))
    with pytest.raises(NeuralTypeError, match="return value: carries the neural type"):
        identity(logits)
    assert tag_of(logits) == neural_type_of(Logits)


def test_an_untagged_caller_tensor_returned_unchanged_is_not_tagged() -> None:
    @typecheck
    def identity(x: NT[Tensor, "B C"]) -> Probs:
        return x

    mine = torch.ones(2, 3)
    assert identity(mine) is mine
    assert tag_of(mine) is None


def test_no_tensor_the_caller_passed_in_is_tagged() -> None:
    @typecheck
    def pick(a: Tensor, b, xs: list[Tensor], named: dict[str, tuple[Tensor, ...]], which: str) -> Probs:  # type: ignore[no-untyped-def]
        return {"a": a, "b": b, "xs": xs[1], "named": named["n"][0]}.get(which, a + 1)

    passed = {name: torch.ones(2, 3) for name in ("a", "b", "xs", "named")}
    arguments = (passed["a"], passed["b"], [torch.ones(2, 3), passed["xs"]], {"n": (passed["named"],)})
    for which, tensor in passed.items():
        assert pick(*arguments, which) is tensor
        assert tag_of(tensor) is None, which
    assert tag_of(pick(*arguments, "new")) == neural_type_of(Probs)


def test_no_tensor_passed_through_star_arguments_is_tagged() -> None:
    @typecheck
    def first(*tensors: Tensor, **named: Tensor) -> Probs:
        return tensors[0] if tensors else named["x"]

    mine = torch.ones(2, 3)
    assert first(mine) is mine and first(x=mine) is mine
    assert tag_of(mine) is None


def test_a_rebound_parameter_returned_as_passed_is_not_tagged() -> None:
    @typecheck
    def keep(x: Tensor) -> Probs:
        passed = x
        x = x + 1
        return passed

    mine = torch.ones(2, 3)
    assert keep(mine) is mine
    assert tag_of(mine) is None


def test_a_module_parameter_returned_is_not_tagged_a_new_tensor_is() -> None:
    class Table(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.table = torch.nn.Parameter(torch.ones(2, 3))

        @typecheck
        def forward(self, copy: bool) -> Probs:
            return self.table * 1 if copy else self.table

    table = Table()
    assert table(False) is table.table
    assert tag_of(table.table) is None  # weight tying may return it from other modules, with other types
    assert tag_of(table(True)) == neural_type_of(Probs)


def test_a_subtype_tag_on_an_output_is_kept() -> None:
    @typecheck
    def passthrough(x: NT[Tensor, "B T D", EncodedRepresentation]) -> NT[Tensor, "B T D", EncodedRepresentation]:
        return x

    acoustic = set_tag(torch.ones(1, 2, 3), NeuralType("B T D", AcousticEncodedRepresentation()))
    assert tag_of(passthrough(acoustic)) == NeuralType("B T D", AcousticEncodedRepresentation())


def test_untyped_elements_are_not_tagged() -> None:
    @typecheck
    def shape_only(x: NT[Tensor, "B C"]) -> NT[Tensor, "B C"]:
        return x + 1

    assert tag_of(shape_only(torch.ones(2, 3))) is None


def test_sizes_in_a_tag_are_not_compared_only_kinds_and_elements() -> None:
    @typecheck
    def encode(x: NT[Tensor, "B T D"]) -> NT[Tensor, "B T D", EncodedRepresentation]:
        return x + 0

    @typecheck
    def project(x: NT[Tensor, "b t 4", EncodedRepresentation]) -> None:
        return None

    @typecheck
    def wrong_order(x: NT[Tensor, "b 4 t", EncodedRepresentation]) -> None:
        return None

    project(encode(torch.ones(2, 3, 4)))  # "D" (any size) flows into "4": the shape check covers the size
    with pytest.raises(NeuralTypeError, match=r'carries the neural type NT\[Tensor, "B T D", EncodedRepresentation\]'):
        wrong_order(encode(torch.ones(2, 4, 4)))


def test_types_without_axes_compare_elements_only() -> None:
    @typecheck
    def lengths(x: NT[Tensor, "B"]) -> NT[Tensor, "B", LengthsType]:
        return x + 0

    @typecheck
    def consume(n: NT[Tensor, "N", LengthsType]) -> None:
        return None

    consume(lengths(torch.ones(3)))
    nemo_tag = set_tag(torch.ones(3), NeuralType(elements_type=LengthsType()))
    consume(nemo_tag)
    with pytest.raises(NeuralTypeError, match="carries the neural type"):
        consume(set_tag(torch.ones(3), NeuralType(elements_type=LossType())))


def test_disabling_semantic_checks_keeps_shape_checks() -> None:
    logits = classify(torch.ones(2, 3))
    with disable_semantic_checks():
        assert nll(logits).ndim == 0
        with pytest.raises(NeuralTypeError, match="has 1 axes"):
            nll(torch.ones(3))
    with pytest.raises(NeuralTypeError):
        nll(logits)


def test_set_tag_with_none_removes_the_tag() -> None:
    logits = classify(torch.ones(2, 3))
    set_tag(logits, None)
    assert tag_of(logits) is None
    assert nll(logits).ndim == 0


def test_a_foreign_neural_type_attribute_is_not_a_tag() -> None:
    x = torch.ones(2, 3)
    x.neural_type = "logits, says NeMo"  # type: ignore[attr-defined]
    assert tag_of(x) is None
    assert nll(x).ndim == 0


def test_a_failed_return_check_tags_nothing() -> None:
    made: list[Tensor] = []

    @typecheck
    def pair(x: NT[Tensor, "B C"]) -> tuple[Logits, Probs]:
        first = x + 0
        made.append(first)
        return first, torch.ones(5)

    with pytest.raises(NeuralTypeError, match=r"return value\[1\]: has 1 axes, expected 2"):
        pair(torch.ones(2, 3))
    assert tag_of(made[0]) is None


def test_a_parameter_made_from_a_tensor_subclass_is_not_tagged() -> None:
    class Sharded(torch.Tensor):  # as DTensor or a quantised weight would be
        pass

    class Tied(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.weight = torch.nn.Parameter(torch.ones(2, 3).as_subclass(Sharded))

        @typecheck
        def forward(self) -> Probs:
            return self.weight

    tied = Tied()
    assert type(tied.weight) is Sharded
    assert tied() is tied.weight
    assert tag_of(tied.weight) is None


class _CountingList(list):  # type: ignore[type-arg]
    """A list that counts how often it is iterated."""

    iterations = 0

    def __iter__(self):  # type: ignore[no-untyped-def]
        type(self).iterations += 1
        return super().__iter__()


def test_only_arguments_that_may_hold_tensors_are_searched_for_the_callers_tensors() -> None:
    @typecheck
    def typed(x: NT[Tensor, "B C"], ids: list[int]) -> Probs:
        return x * 1

    @typecheck
    def untyped(x: NT[Tensor, "B C"], batch) -> Probs:  # type: ignore[no-untyped-def]
        return batch[0] if batch else x * 1

    ids = _CountingList(range(1000))
    typed(torch.ones(2, 3), ids)
    assert _CountingList.iterations == 0  # list[int] holds no tensor: not walked on every call
    mine = torch.ones(2, 3)
    assert untyped(torch.ones(2, 3), [mine]) is mine
    assert tag_of(mine) is None  # unannotated: searched


def test_a_producer_axis_with_a_literal_size_does_not_contradict_a_named_kind() -> None:
    @typecheck
    def encode(mel: NT[Tensor, "B D T", EncodedRepresentation]) -> int:
        return mel.shape[1]

    for producer in ("B 80 T", "B _ T", "80 D T"):  # an 80 or a _ says nothing of the axis's kind
        assert encode(set_tag(torch.ones(2, 80, 5), NeuralType(producer, EncodedRepresentation()))) == 80
    with pytest.raises(NeuralTypeError, match="TRANSPOSE_SAME"):
        encode(set_tag(torch.ones(2, 80, 80), NeuralType("B T D", EncodedRepresentation())))
