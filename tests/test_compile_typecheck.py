"""Typed modules under torch.compile (fullgraph, no graph break), torch.export and torch.jit.trace."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import pytest
import torch
from torch import Tensor, nn
from torch._dynamo.utils import counters

from neuraltypes import NT, EncodedRepresentation, LengthsType, LogitsType, NeuralType, ProbsType
from neuraltypes.nn import Typing
from neuraltypes.runtime import NeuralTypeError, set_tag, tag_of, typecheck


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(32, 32)

    @typecheck(instrument=True)  # both forms are compiled here: this one, and WrappedBlock's
    def forward(
        self, x: NT[Tensor, "b t 32", EncodedRepresentation, "float"], scale: float = 1.0
    ) -> NT[Tensor, "b t 32", LogitsType]:
        return torch.relu(self.linear(x)) * scale


class Nemo(Typing, nn.Module):
    @property
    def input_types(self) -> dict[str, Any]:
        return {"x": NeuralType(("B", "T")), "n": NeuralType(tuple("B"), LengthsType())}

    @property
    def output_types(self) -> dict[str, Any]:
        return {"y": NeuralType(("B", "T"), LogitsType())}

    @typecheck()
    def forward(self, x, n):  # type: ignore[no-untyped-def]
        return x * n[:, None]


@pytest.fixture(autouse=True)
def fresh_dynamo() -> Iterator[None]:
    torch._dynamo.reset()
    counters.clear()
    yield
    torch._dynamo.reset()


def _graph_breaks() -> int:
    return sum(counters["graph_break"].values())


def test_fullgraph_compiles_positional_and_keyword_calls_without_graph_breaks() -> None:
    compiled = torch.compile(Block(), fullgraph=True, backend="eager")
    x = torch.randn(8, 16, 32)
    assert compiled(x).shape == (8, 16, 32)
    assert compiled(x=x, scale=2.0).shape == (8, 16, 32)
    assert compiled(x, 3.0).shape == (8, 16, 32)
    assert _graph_breaks() == 0


def test_explain_counts_no_graph_break() -> None:
    explanation = torch._dynamo.explain(Block())(torch.randn(2, 3, 32))
    assert explanation.graph_break_count == 0
    assert explanation.graph_count == 1


def test_compiled_outputs_carry_their_tag_with_inductor() -> None:
    compiled = torch.compile(Block(), fullgraph=True)
    assert tag_of(compiled(torch.randn(2, 3, 32))) == NeuralType("b t 32", LogitsType())


def test_bad_input_is_still_rejected_after_compiling() -> None:
    compiled = torch.compile(Block(), backend="eager")
    compiled(torch.randn(8, 16, 32))
    with pytest.raises(NeuralTypeError) as error:
        compiled(torch.randn(8, 16, 31))
    assert str(error.value).splitlines()[0] == "Block.forward() parameter 'x': axis 2 has size 31, expected 32"
    with pytest.raises(NeuralTypeError, match="dtype is int64"):
        compiled(torch.zeros(8, 16, 32, dtype=torch.int64))


def test_a_wrong_tag_is_rejected_in_compiled_code() -> None:
    compiled = torch.compile(Block(), backend="eager")
    compiled(torch.randn(2, 3, 32))
    probs = set_tag(torch.randn(2, 3, 32), NeuralType("b t 32", ProbsType()))
    with pytest.raises(NeuralTypeError, match="carries the neural type"):
        compiled(probs)


def test_fullgraph_reports_a_violation_as_dynamo_unsupported_with_our_message() -> None:
    compiled = torch.compile(Block(), fullgraph=True, backend="eager")
    compiled(torch.randn(2, 3, 32))
    with pytest.raises(torch._dynamo.exc.Unsupported) as error:
        compiled(torch.randn(2, 3))
    assert "Block.forward() parameter 'x' does not match its declared type" in str(error.value)


def test_nemo_style_modules_compile_with_keyword_calls_after_one_eager_call() -> None:
    module = Nemo()
    module(x=torch.ones(2, 3), n=torch.ones(2))  # reads the class's types (cannot happen inside a trace)
    compiled = torch.compile(module, fullgraph=True, backend="eager")
    out = compiled(x=torch.ones(2, 3), n=torch.ones(2))
    assert tag_of(out) == NeuralType(("B", "T"), LogitsType())
    assert _graph_breaks() == 0


def test_nemo_style_modules_without_a_warm_up_say_what_to_do() -> None:
    class Cold(Nemo):
        pass

    with pytest.raises(torch._dynamo.exc.Unsupported, match="call the module once before compiling it"):
        torch.compile(Cold(), fullgraph=True, backend="eager")(x=torch.ones(2, 3), n=torch.ones(2))
    # Without fullgraph, Dynamo runs the first call eagerly and compiles the next ones.
    compiled = torch.compile(Cold(), backend="eager")
    assert compiled(x=torch.ones(2, 3), n=torch.ones(2)).shape == (2, 3)
    assert tag_of(compiled(x=torch.ones(2, 3), n=torch.ones(2))) == NeuralType(("B", "T"), LogitsType())


def test_types_given_to_the_decorator_compile_without_a_warm_up() -> None:
    class Explicit(nn.Module):
        @typecheck(input_types={"x": NeuralType(("B", "T"))}, output_types={"y": NeuralType(("B", "T"), LogitsType())})
        def forward(self, x):  # type: ignore[no-untyped-def]
            return x * 2

    out = torch.compile(Explicit(), fullgraph=True, backend="eager")(x=torch.ones(2, 3))
    assert tag_of(out) == NeuralType(("B", "T"), LogitsType())


def test_export_runs_the_checks_and_the_program_has_none() -> None:
    block = Block()
    program = torch.export.export(block, (torch.randn(2, 3, 32),))
    assert program.module()(torch.randn(2, 3, 32)).shape == (2, 3, 32)
    with pytest.raises(Exception, match="parameter 'x'"):
        torch.export.export(block, (torch.randn(2, 3, 31),))


def test_export_with_a_dynamic_batch() -> None:
    batch = torch.export.Dim("batch", min=2, max=64)
    program = torch.export.export(Block(), (torch.randn(4, 3, 32),), dynamic_shapes={"x": {0: batch}})
    assert program.module()(torch.randn(9, 3, 32)).shape == (9, 3, 32)


def test_jit_trace_works_on_typed_modules() -> None:
    with warnings.catch_warnings():
        # Traced sizes are tensors, so each comparison in the checks warns; jit.trace itself is deprecated.
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(Block(), (torch.randn(2, 3, 32),))
        with pytest.raises(NeuralTypeError):
            torch.jit.trace(Block(), (torch.randn(2, 3, 31),))
    assert traced(torch.randn(5, 3, 32)).shape == (5, 3, 32)


def test_a_function_with_late_hints_compiles_after_one_eager_call() -> None:
    compiled = torch.compile(late_hints, fullgraph=True, backend="eager")
    with pytest.raises(torch._dynamo.exc.Unsupported, match="call it once before compiling"):
        compiled(torch.ones(2, 3))
    late_hints(torch.ones(2, 3))
    torch._dynamo.reset()
    assert compiled(torch.ones(2, 3)).shape == (2, 3)
    assert _graph_breaks() == 0


@typecheck
def late_hints(x: NT[Tensor, "b t"]) -> DefinedLater:
    return x * 2


DefinedLater = NT[Tensor, "b t", LogitsType]


class WrappedBlock(Block):
    @typecheck(instrument=False)
    def forward(
        self, x: NT[Tensor, "b t 32", EncodedRepresentation, "float"], scale: float = 1.0
    ) -> NT[Tensor, "b t 32", LogitsType]:
        return torch.relu(self.linear(x)) * scale


def test_both_forms_of_the_check_compile_without_graph_breaks() -> None:
    assert "_ntq_level" in Block.forward.__code__.co_freevars  # the forward itself carries the checks
    assert "_ntq_level" in WrappedBlock.forward.__code__.co_names  # a generated wrapper around it
    for module in (Block(), WrappedBlock()):
        compiled = torch.compile(module, fullgraph=True, backend="eager")
        assert compiled(torch.randn(2, 3, 32)).shape == (2, 3, 32)
        assert compiled(x=torch.randn(2, 3, 32), scale=2.0).shape == (2, 3, 32)
        with pytest.raises(torch._dynamo.exc.Unsupported, match="parameter 'x' does not match"):
            compiled(torch.randn(2, 3))
    assert _graph_breaks() == 0


def test_compiled_code_keeps_the_switches_it_was_traced_with() -> None:
    from neuraltypes.runtime import disable_semantic_checks

    probs = set_tag(torch.randn(2, 3, 32), NeuralType("b t 32", ProbsType()))
    compiled = torch.compile(Block(), fullgraph=True, backend="eager")
    with disable_semantic_checks():
        compiled(probs)  # traced without the tag check: the tag is not read, so nothing guards it
    compiled(probs)  # the same compiled code
    torch._dynamo.reset()  # the next compile reads the switches again
    with pytest.raises(torch._dynamo.exc.Unsupported, match="parameter 'x' does not match"):
        torch.compile(Block(), fullgraph=True, backend="eager")(probs)


class UncheckedBlock(Block):
    forward = Block.forward.__wrapped__  # type: ignore[attr-defined]


def _operations(program: torch.export.ExportedProgram) -> list[tuple[str, str]]:
    return [(node.op, str(node.target)) for node in program.graph.nodes]


@pytest.mark.parametrize("module_class", [Block, WrappedBlock], ids=["instrumented", "wrapped"])
def test_the_exported_program_contains_no_checks(module_class: type[Block]) -> None:
    block = module_class()
    probs = set_tag(torch.randn(2, 3, 32), NeuralType("b t 32", ProbsType()))
    with pytest.raises(NeuralTypeError, match="carries the neural type"):
        block(probs)
    program = torch.export.export(block, (torch.randn(2, 3, 32),))
    assert program.module()(probs).shape == (2, 3, 32)  # the tag is no longer looked at
    for node in program.graph.nodes:
        # The node's operation and operands; its metadata (the stack trace) may name the wrapper's file.
        assert not getattr(node.target, "__module__", "").startswith("neuraltypes"), node.format_node()
        assert "neuraltypes" not in f"{node.target} {node.args} {node.kwargs}", node.format_node()
    assert "neuraltypes" not in program.graph_module.code
    # The same operations as the undecorated forward's: nothing was added.
    unchecked = torch.export.export(UncheckedBlock(), (torch.randn(2, 3, 32),))
    assert _operations(program) == _operations(unchecked)
