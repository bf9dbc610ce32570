"""The messages of NeuralTypeError, line by line: function, argument, axis, expected, got, bindings."""

from __future__ import annotations

import re

import pytest
import torch
from torch import Tensor

from neuraltypes import NT, EncodedRepresentation, LogitsType, ProbsType, neural_type_of
from neuraltypes.runtime import NeuralTypeError, typecheck


@typecheck
def attend(
    query: NT[Tensor, "b t d", "float"], keys: NT[Tensor, "b s d", "float"], heads: int = 1
) -> NT[Tensor, "b t s", ProbsType]:
    return torch.softmax(query @ keys.transpose(1, 2), dim=-1)


def _lines(error: pytest.ExceptionInfo[NeuralTypeError]) -> list[str]:
    return str(error.value).splitlines()


def test_it_is_a_type_error() -> None:
    assert issubclass(NeuralTypeError, TypeError)


def test_a_size_conflict_names_the_axis_the_binder_and_the_bindings() -> None:
    with pytest.raises(NeuralTypeError) as error:
        attend(torch.ones(2, 3, 4), torch.ones(2, 5, 6))
    assert _lines(error) == [
        "attend() parameter 'keys': axis 2 'd' has size 6, but d=4 was bound by parameter 'query'",
        '  expected: NT[Tensor, "b s d", "float"]',
        "  got: Tensor of shape (2, 5, 6), float32",
        "  bindings: b=2 (parameter 'query'), t=3 (parameter 'query'), d=4 (parameter 'query'), s=5 (parameter 'keys')",
    ]
    assert error.value.function == "attend"
    assert error.value.argument == "parameter 'keys'"
    assert dict(error.value.bindings) == {"b": 2, "t": 3, "d": 4, "s": 5}


def test_a_rank_error_shows_the_declared_axes() -> None:
    with pytest.raises(NeuralTypeError) as error:
        attend(torch.ones(3, 4), torch.ones(2, 5, 4))
    assert _lines(error) == [
        "attend() parameter 'query': has 2 axes, expected 3 (b t d)",
        '  expected: NT[Tensor, "b t d", "float"]',
        "  got: Tensor of shape (3, 4), float32",
        "  bindings: none",
    ]


def test_a_dtype_error_lists_the_admitted_dtypes() -> None:
    with pytest.raises(NeuralTypeError) as error:
        attend(torch.ones(2, 3, 4, dtype=torch.int64), torch.ones(2, 5, 4))
    assert _lines(error) == [
        "attend() parameter 'query': dtype is int64, expected float (bfloat16, float16, float32, float64)",
        '  expected: NT[Tensor, "b t d", "float"]',
        "  got: Tensor of shape (2, 3, 4), int64",
        "  bindings: b=2 (parameter 'query'), t=3 (parameter 'query'), d=4 (parameter 'query')",
    ]


def test_an_ordinary_hint_gets_beartypes_explanation() -> None:
    with pytest.raises(NeuralTypeError) as error:
        attend(torch.ones(2, 3, 4), torch.ones(2, 5, 4), heads="two")  # type: ignore[arg-type]
    lines = _lines(error)
    assert lines[0] == (
        "attend() parameter 'heads': Value 'two' violates type hint <class 'int'>, as str 'two' not instance of int."
    )
    assert lines[1:] == [
        "  expected: int",
        "  got: str 'two'",
        "  bindings: b=2 (parameter 'query'), t=3 (parameter 'query'), d=4 (parameter 'query'), s=5 (parameter 'keys')",
    ]


def test_a_return_value_error_says_so() -> None:
    @typecheck
    def broken(x: NT[Tensor, "b t"]) -> NT[Tensor, "b t"]:
        return x.T

    with pytest.raises(NeuralTypeError) as error:
        broken(torch.ones(2, 3))
    assert _lines(error) == [
        "test_a_return_value_error_says_so.<locals>.broken() return value: axis 0 'b' has size 3,"
        " but b=2 was bound by parameter 'x'",
        '  expected: NT[Tensor, "b t"]',
        "  got: Tensor of shape (3, 2), float32",
        "  bindings: b=2 (parameter 'x'), t=3 (parameter 'x')",
    ]


def test_a_semantic_error_names_both_types_and_the_comparison() -> None:
    @typecheck
    def loss(probs: NT[Tensor, "b c", ProbsType]) -> None:
        return None

    logits = torch.ones(2, 3)
    logits.neural_type = neural_type_of(NT[Tensor, "b c", LogitsType])  # type: ignore[attr-defined]
    with pytest.raises(NeuralTypeError) as error:
        loss(logits)
    assert _lines(error) == [
        "test_a_semantic_error_names_both_types_and_the_comparison.<locals>.loss() parameter 'probs':"
        ' carries the neural type NT[Tensor, "b c", LogitsType], which is not accepted where'
        ' NT[Tensor, "b c", ProbsType] is declared (INCOMPATIBLE)',
        '  expected: NT[Tensor, "b c", ProbsType]',
        '  got: Tensor of shape (2, 3), float32, tagged NT[Tensor, "b c", LogitsType]',
        "  bindings: b=2 (parameter 'probs'), c=3 (parameter 'probs')",
    ]


def test_a_semantic_error_shows_the_kinds_that_names_do_not_say() -> None:
    @typecheck
    def blocks(x: NT[Tensor, "B T D", EncodedRepresentation]) -> None:
        return None

    tokens = torch.ones(2, 3, 4)
    tokens.neural_type = neural_type_of(NT[Tensor, "b n d", EncodedRepresentation])  # type: ignore[attr-defined]
    with pytest.raises(NeuralTypeError) as error:
        blocks(tokens)
    assert _lines(error)[0].endswith(
        ' carries the neural type NT[Tensor, "b n d", EncodedRepresentation], which is not accepted where '
        'NT[Tensor, "B T D", EncodedRepresentation] is declared (INCOMPATIBLE); axis kinds: n (Batch)'
    )
    heads = torch.ones(2, 3, 4)
    heads.neural_type = neural_type_of(NT[Tensor, "B T D", LogitsType])  # type: ignore[attr-defined]
    with pytest.raises(NeuralTypeError) as error:
        blocks(heads)  # the axes agree: no kinds to show
    assert _lines(error)[0].endswith(" is declared (INCOMPATIBLE)")


def test_a_size_expression_error_shows_the_variables_and_their_binders() -> None:
    @typecheck
    def shift(x: NT[Tensor, "T"], y: NT[Tensor, "T-1"]) -> None:
        return None

    with pytest.raises(NeuralTypeError) as error:
        shift(torch.ones(5), torch.ones(5))
    assert _lines(error)[0] == (
        "test_a_size_expression_error_shows_the_variables_and_their_binders.<locals>.shift() parameter 'y':"
        " axis 0 'T-1' has size 5, expected T-1=4 (T=5 bound by parameter 'x')"
    )


def test_a_container_element_is_named_by_its_path() -> None:
    @typecheck
    def stack(xs: list[NT[Tensor, "b c"]]) -> None:
        return None

    with pytest.raises(NeuralTypeError) as error:
        stack([torch.ones(2, 3), torch.ones(2, 3), torch.ones(2, 4), torch.ones(2, 3)])
    assert _lines(error)[0] == (
        "test_a_container_element_is_named_by_its_path.<locals>.stack() parameter 'xs'[2]:"
        " axis 1 'c' has size 4, but c=3 was bound by parameter 'xs'[0]"
    )


def test_a_return_value_checked_after_the_body_changed_its_arguments_in_place_is_explained() -> None:
    @typecheck
    def first(batch: dict[str, NT[Tensor, "b t"]]) -> NT[Tensor, "b t"]:
        return batch.pop("a")[:1]  # the size b was bound by batch["a"], which the dict no longer holds

    with pytest.raises(NeuralTypeError) as error:
        first({"a": torch.ones(2, 3)})
    assert str(error.value).splitlines() == [
        "test_a_return_value_checked_after_the_body_changed_its_arguments_in_place_is_explained.<locals>.first() "
        "return value: does not match the sizes the arguments had when the call began; the function changed its "
        "arguments in place since",
        '  expected: NT[Tensor, "b t"]',
        "  got: Tensor of shape (1, 3), float32",
        "  bindings: none",
    ]

    @typecheck
    def grow(x: NT[Tensor, "b t"]) -> NT[Tensor, "b t"]:
        return x.unsqueeze_(0)

    with pytest.raises(NeuralTypeError) as error:
        grow(torch.ones(2, 3))
    assert str(error.value).splitlines()[0] == (
        "test_a_return_value_checked_after_the_body_changed_its_arguments_in_place_is_explained.<locals>.grow() "
        "return value: has 3 axes, expected 2 (b t) (the function changed its arguments in place, so their sizes are "
        "not shown)"
    )


def test_a_jagged_nested_tensor_is_explained_with_its_ragged_size() -> None:
    @typecheck
    def mask(x: NT[Tensor, "B T D"], m: NT[Tensor, "B T"]) -> NT[Tensor, "B T D"]:
        return x * 2

    ragged = torch.nested.nested_tensor([torch.ones(3, 4), torch.ones(5, 4)], layout=torch.jagged)
    with pytest.raises(NeuralTypeError) as error:
        mask(ragged, torch.ones(2, 3))
    first = str(error.value).splitlines()[0]
    assert first.startswith("test_a_jagged_nested_tensor_is_explained_with_its_ragged_size.<locals>.mask() ")
    # torch names the ragged size j1, j2, ... by a process-wide counter.
    assert re.search(r"parameter 'm': axis 1 'T' has size 3, but T=j\d+ was bound by parameter 'x'$", first)


def test_a_value_whose_repr_spans_lines_keeps_the_message_to_four_lines() -> None:
    @typecheck
    def count(batch: dict[str, Tensor]) -> int:
        return len(batch)

    with pytest.raises(NeuralTypeError) as error:
        count({"audio": (torch.ones(2, 3),)})  # type: ignore[dict-item]
    lines = str(error.value).splitlines()
    assert len(lines) == 4
    assert lines[0].startswith("test_a_value_whose_repr_spans_lines_keeps_the_message_to_four_lines.<locals>.count()")
    assert "violates type hint dict[str, torch.Tensor]" in lines[0]
    assert lines[2] == "  got: dict {'audio': (tensor([[1., 1., 1.], [1., 1., 1.]]),)}"


def test_a_union_with_a_neural_type_names_both_alternatives() -> None:
    @typecheck
    def scale(x: NT[Tensor, "b t"] | float) -> int:
        return 1

    with pytest.raises(NeuralTypeError) as error:
        scale("twice")  # type: ignore[arg-type]
    assert str(error.value).splitlines()[1:] == [
        '  expected: NT[Tensor, "b t"] or float',
        "  got: str 'twice'",
        "  bindings: none",
    ]
