"""The spec tree's one traversal, the emitter's line records, and the decoration-time errors of a broken declaration."""

from __future__ import annotations

import inspect
import re
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple, Optional

import pytest
import torch
from beartype import BeartypeConf
from torch import Tensor

from neuraltypes import NT, LogitsType
from neuraltypes.core import NeuralTypeAnnotationError
from neuraltypes.runtime import typecheck
from neuraltypes.runtime._codegen import CheckLines, check_lines, generate_source
from neuraltypes.runtime._lines import Line, Namespace
from neuraltypes.runtime._plan import Plan
from neuraltypes.runtime._specs import (
    DictSpec,
    ListSpec,
    NamedTupleSpec,
    OptionalSpec,
    PlainSpec,
    TensorSpec,
    TupleSpec,
    UnionSpec,
    build_spec,
    contains_tensor,
    leaves,
    tensors,
    walk,
)
from neuraltypes.runtime._tagging import has_tags

Features = NT[Tensor, "b t c"]
Logits = NT[Tensor, "b t c", LogitsType]


class _Pair(NamedTuple):
    first: Features
    label: str


def _plan(function: Callable[..., Any]) -> Plan:
    """What ``@typecheck`` would check in ``function``."""
    hints = typing.get_type_hints(function, include_extras=True)
    signature = inspect.signature(function)
    parameters = [(name, build_spec(hints[name]) if name in hints else None) for name in signature.parameters]
    returns = build_spec(hints["return"]) if "return" in hints else None
    return Plan(function, signature, parameters, returns, BeartypeConf())


# -- the traversal ------------------------------------------------------------------------------------------
def test_children_are_the_direct_sub_specs_without_the_missing_ones() -> None:
    spec = build_spec(tuple[Features, Any, Optional[Logits]])  # noqa: UP045  (the spelling under test)
    assert isinstance(spec, TupleSpec)
    first, third = spec.children()
    assert isinstance(first, TensorSpec) and isinstance(third, OptionalSpec)
    assert third.children() == (third.inner,)
    assert first.children() == ()


def test_every_container_spec_reports_its_children() -> None:
    listed = build_spec(list[Features])
    keyed = build_spec(dict[str, Features])
    union = build_spec(Features | int)
    pair = build_spec(_Pair)
    plain = build_spec(list[int])
    assert isinstance(listed, ListSpec) and listed.children() == (listed.inner,)
    assert isinstance(keyed, DictSpec) and keyed.children() == (keyed.value,)
    assert isinstance(union, UnionSpec) and union.children() == (union.tensor,)
    assert isinstance(pair, NamedTupleSpec) and pair.children() == (pair.fields[0][2], pair.fields[1][2])
    assert [type(field).__name__ for field in pair.children()] == ["TensorSpec", "PlainSpec"]
    assert isinstance(plain, PlainSpec) and plain.children() == ()


def test_walk_and_tensors_go_depth_first_in_declaration_order() -> None:
    spec = build_spec(tuple[list[Features], dict[str, Logits | None], int])
    kinds = [type(node).__name__ for node in walk(spec)]
    assert kinds == ["TupleSpec", "ListSpec", "TensorSpec", "DictSpec", "OptionalSpec", "TensorSpec", "PlainSpec"]
    assert [type(leaf).__name__ for leaf in leaves(spec)] == ["TensorSpec", "TensorSpec", "PlainSpec"]
    assert [tensor.tags for tensor in tensors(spec)] == [False, True]
    assert list(walk(None)) == [] and list(tensors(None)) == [] and list(leaves(None)) == []


def test_contains_tensor_and_has_tags_read_the_tensors_of_the_tree() -> None:
    features, logits = build_spec(list[Features]), build_spec(dict[str, Logits])
    assert features is not None and logits is not None
    assert contains_tensor(features) and not has_tags(features)
    assert contains_tensor(logits) and has_tags(logits)
    assert not contains_tensor(PlainSpec(int)) and not contains_tensor(None)


def test_an_invalid_neural_hint_is_an_annotation_error() -> None:
    with pytest.raises(NeuralTypeAnnotationError, match="a union may hold one neural tensor type"):
        build_spec(Features | Logits | int)


# -- decoration-time errors ---------------------------------------------------------------------------------
def test_a_size_expression_nothing_binds_raises_an_annotation_error() -> None:
    def f(x: NT[Tensor, "T-1"]) -> None:
        return None

    with pytest.raises(NeuralTypeAnnotationError, match=r"'T-1' in parameter 'x' uses T, which no parameter binds"):
        typecheck(f)


def test_a_size_expression_inside_an_optional_raises_an_annotation_error() -> None:
    def f(x: NT[Tensor, "n+1"] | None, y: NT[Tensor, "n"]) -> None:
        return None

    with pytest.raises(NeuralTypeAnnotationError, match=r"'n\+1' in parameter 'x' is inside an Optional"):
        typecheck(f)


def test_one_name_as_variadic_and_single_axis_raises_an_annotation_error() -> None:
    def f(x: NT[Tensor, "*b"], y: NT[Tensor, "b"]) -> None:
        return None

    with pytest.raises(NeuralTypeAnnotationError, match=r"'b' is used both as '\*b' and as one axis"):
        typecheck(f)


# -- the emitter's line records ----------------------------------------------------------------------------
def _lines(checks: CheckLines) -> list[Line]:
    return checks.switch + checks.init + checks.checks()


def _many(
    x: NT[Tensor, "*batch t c"],
    y: NT[Tensor, "t #c"] | None,
    shifted: NT[Tensor, "t-1"],
    items: Sequence[Features],
    table: Mapping[str, Logits],
    pair: _Pair,
    n: int,
) -> tuple[Logits, NT[Tensor, "*batch"]]:
    raise NotImplementedError


@pytest.mark.parametrize("holder", [None, "_ntq_k"])
def test_each_line_records_the_sizes_it_reads_and_the_names_it_refers_to(holder: str | None) -> None:
    namespace = Namespace({}, holder)
    lines = _lines(check_lines(_plan(_many), namespace))
    builtins = {"isinstance", "getattr", "len", "tuple", "type"}
    for line in lines:
        mentioned = set(re.findall(r"\b_ntv_\w+", line.text))
        assigned = re.match(r"\s*(_ntv_\w+) = ", line.text)
        written = {assigned.group(1)} if assigned else set()
        assert line.reads == mentioned - written, line.text
        if line.binds is not None:
            assert line.binds in written and line.binds not in line.reads
        names = set(re.findall(r"\b_ntq_(?!on\b|r\b|a_|[segkx]\d)\w+", line.text)) - {"_ntq_k"}
        called = {name for name in builtins if re.search(rf"(?<![\w.]){name}\b", line.text)}
        expected = names | (called if holder is not None else set())
        assert line.constants == expected, line.text
        assert line.constants <= set(namespace.names) | set(namespace.cells) | builtins


def test_an_instrumented_namespace_spells_constants_on_the_holder_and_builtins_by_name() -> None:
    namespace = Namespace({}, "_ntq_k")
    checks = check_lines(_plan(_many), namespace)
    text = "\n".join(line.text for line in _lines(checks))
    assert "_ntq_k._ntq_cls" in text and "_ntq_len" not in text and "len(" in text
    assert set(namespace.cells) == {"_ntq_level"} and "_ntq_level()" in text
    assert not any(name.startswith("_ntq_isinstance") for name in namespace.names)


def test_a_wrapper_namespace_holds_every_name_its_source_uses() -> None:
    names: dict[str, object] = {}
    source = generate_source(_plan(_many), names, "checked")
    used = set(re.findall(r"\b_ntq_(?!on\b|r\b|[segkx]\d)\w+", source))
    assert used <= set(names)
    assert "_ntq_k." not in source


def test_the_variadic_layout_is_indexed_from_the_end_after_the_variadic_axis() -> None:
    def f(x: NT[Tensor, "*batch t c"], y: NT[Tensor, "*batch"]) -> NT[Tensor, "c"]:
        raise NotImplementedError

    source = generate_source(_plan(f), {}, "checked")
    assert "if _ntq_len(_ntq_s2) < 2:" in source
    assert "_ntv_batch = _ntq_s2[0:_ntq_len(_ntq_s2)-2]\n" in source
    assert "_ntv_c = _ntq_s2[-1]\n" in source
    assert "_ntq_s2[-2]" not in source  # t is bound once and read by nothing: its binding is left out
    assert "if _ntq_s8[0:] != _ntv_batch:" in source
    assert "< 0" not in source  # a lone *batch fits any rank: no rank check


def test_a_size_read_by_a_later_check_keeps_its_binding_and_one_read_by_nothing_loses_it() -> None:
    def f(x: NT[Tensor, "b t"], y: NT[Tensor, "t"]) -> None:
        return None

    lines = check_lines(_plan(f), Namespace({})).arguments
    assert not any(line.binds == "_ntv_b" for line in lines)
    assert any(line.binds == "_ntv_t" for line in lines)
    assert any("_ntv_t" in line.reads for line in lines)


def test_checks_still_pass_and_fail_through_the_generated_code() -> None:
    @typecheck
    def add(x: NT[Tensor, "b t"], y: NT[Tensor, "b t"]) -> NT[Tensor, "b t"]:
        return x + y

    assert add(torch.ones(2, 3), torch.ones(2, 3)).shape == (2, 3)
    with pytest.raises(TypeError):
        add(torch.ones(2, 3), torch.ones(2, 4))
