"""``export_program``: torch.export with the derived shapes, refined by what the module needs, then checked."""

from typing import NamedTuple

import pytest
import torch
from torch import Tensor

from neuraltypes.core import NT, LengthsType
from neuraltypes.export import DynamicShapesError, ExportedSignatureError, ExportError, export_program
from neuraltypes.nn import NeuralModule
from neuraltypes.runtime import NeuralTypeError, disable_checks


class Shared(NeuralModule):
    def forward(
        self, x: NT[Tensor, "B T D:4", "float"], y: NT[Tensor, "B T", "float"]
    ) -> NT[Tensor, "B T D:4", "float"]:
        return x * y[..., None]


class Shifted(NeuralModule):
    def forward(self, x: NT[Tensor, "B T", "float"], y: NT[Tensor, "B T-1", "float"]) -> NT[Tensor, "B T-1", "float"]:
        return x[:, 1:] * y


class Weighted(NeuralModule):
    """``D`` is a size variable in the types, but the weights fix it."""

    def __init__(self) -> None:
        super().__init__()
        self.project = torch.nn.Linear(6, 3)

    def forward(self, x: NT[Tensor, "B T D", "float"]) -> NT[Tensor, "B T C", "float"]:
        result: Tensor = self.project(x)
        return result


class WithOptional(NeuralModule):
    def forward(
        self, x: NT[Tensor, "B T", "float"], lengths: NT[Tensor, "B", LengthsType, "int"] | None = None
    ) -> NT[Tensor, "B T", "float"]:
        if lengths is None:
            return x
        return x * (torch.arange(x.shape[1])[None, :] < lengths[:, None])


class Split(NeuralModule):
    def forward(self, x: NT[Tensor, "B T D:4", "float"]) -> tuple[NT[Tensor, "B T", "float"], NT[Tensor, "B", "float"]]:
        return x.sum(-1), x.sum((1, 2))


class Parts(NamedTuple):
    total: NT[Tensor, "B", "float"]
    last: NT[Tensor, "B D:4", "float"]


class Named(NeuralModule):
    def forward(self, x: NT[Tensor, "B T D:4", "float"]) -> Parts:
        return Parts(x.sum((1, 2)), x[:, -1])


def test_a_shared_size_is_tied_in_the_program() -> None:
    program = export_program(Shared()).module()
    assert program(torch.ones(5, 7, 4), torch.ones(5, 7)).shape == (5, 7, 4)
    with pytest.raises(AssertionError, match=r"^Guard failed: y.size\(\)\[1\] == x.size\(\)\[1\]$"):
        program(torch.ones(5, 7, 4), torch.ones(5, 6))


def test_a_fixed_size_stays_fixed() -> None:
    program = export_program(Shared()).module()
    with pytest.raises(AssertionError, match=r"^Guard failed: x.size\(\)\[2\] == 4$"):
        program(torch.ones(5, 7, 3), torch.ones(5, 7))


def test_a_derived_size_follows_its_variable() -> None:
    module = Shifted()
    program = export_program(module).module()
    for batch, time in ((3, 9), (6, 17)):
        x, y = torch.randn(batch, time), torch.randn(batch, time - 1)
        assert torch.equal(program(x, y), module(x, y))
    with pytest.raises(AssertionError, match=r"^Guard failed: y.size\(\)\[1\] == -1 \+ x.size\(\)\[1\]$"):
        program(torch.ones(3, 9), torch.ones(3, 9))


def test_a_size_the_weights_fix_is_found_and_recorded_static() -> None:
    module = Weighted()
    example = module.input_example(sizes={"D": 6})
    from neuraltypes.export._program import export_with_plan

    exported = export_with_plan(module, example)
    assert exported.plan.fixed_by_module == {"D": 6} and sorted(exported.plan.sizes) == ["B", "T"]
    assert exported.program.module()(torch.ones(4, 11, 6)).shape == (4, 11, 3)


def test_a_size_the_weights_fix_must_be_in_the_example() -> None:
    with pytest.raises(
        ExportError,
        match=r"^Weighted: torch.export could not trace the module with the example \(B=2, T=256, D=3\): .*\n"
        r"A size the types leave open but the weights fix must have its size in the example: "
        r"input_example\(sizes=\{...\}\)$",
    ):
        export_program(Weighted())


def test_an_optional_input_is_exported_with_or_without_it() -> None:
    module = WithOptional()
    x, lengths = torch.randn(3, 8), torch.tensor([8, 5, 2])
    without = export_program(module, (x,)).module()
    assert torch.equal(without(torch.ones(4, 6)), torch.ones(4, 6))
    with_lengths = export_program(module, (x, lengths)).module()
    assert torch.equal(with_lengths(x, lengths), module(x, lengths))


def test_tuple_and_named_tuple_outputs_are_checked_port_by_port() -> None:
    total, per_step = export_program(Split()).module()(torch.ones(3, 5, 4))
    assert total.shape == (3, 5) and per_step.shape == (3,)
    parts = export_program(Named()).module()(torch.ones(3, 5, 4))
    assert parts[0].shape == (3,) and parts[1].shape == (3, 4)


def test_the_run_time_check_runs_while_exporting() -> None:
    class Miswired(NeuralModule):
        def forward(self, x: NT[Tensor, "B T", "float"]) -> NT[Tensor, "B T", "float"]:
            return x.transpose(0, 1)  # type: ignore[neural-type-operation]  # (the mistake under test)

    with pytest.raises(NeuralTypeError, match=r"Miswired.forward"):
        export_program(Miswired(), (torch.ones(2, 3),))


def test_an_output_that_is_not_the_declared_size_is_named() -> None:
    class Longer(NeuralModule):
        def forward(self, x: NT[Tensor, "B T", "float"]) -> NT[Tensor, "B T", "float"]:
            return torch.cat([x, x[:, :1]], 1)  # type: ignore[neural-type-operation]  # (the mistake under test)

    with (
        disable_checks(),  # the run-time check would catch it first, while tracing
        pytest.raises(
            ExportedSignatureError,
            match=r"\bLonger: output 'output', axis 1 \(T\): the exported program computes T \+ 1, which is not the "
            r"types' size \(\d+ when B=\d+, T=\d+\)$",
        ),
    ):
        export_program(Longer(), (torch.ones(2, 3),))


def test_an_output_of_another_dtype_or_count_is_named() -> None:
    class Doubled(NeuralModule):
        def forward(self, x: NT[Tensor, "B T", "float"]) -> NT[Tensor, "B T", "int"]:
            return x * 2

    class Two(NeuralModule):
        def forward(self, x: NT[Tensor, "B T", "float"]) -> NT[Tensor, "B T", "float"]:
            return x, x  # type: ignore[return-value]

    with disable_checks():
        with pytest.raises(
            ExportedSignatureError,
            match=r"\bDoubled: output 'output': the exported program's dtype is float32, the type declares int$",
        ):
            export_program(Doubled(), (torch.ones(2, 3),))
        with pytest.raises(
            ExportedSignatureError,
            match=r"\bTwo: outputs: the exported program returns 2 values, the types declare 1 \(output\)$",
        ):
            export_program(Two(), (torch.ones(2, 3),))


def test_an_output_the_program_fixes_is_named() -> None:
    class Truncated(NeuralModule):
        def forward(self, x: NT[Tensor, "B T", "float"]) -> NT[Tensor, "B T", "float"]:
            return x[:, :3]

    with disable_checks(), pytest.raises(ExportedSignatureError, match=r"\bTruncated: output 'output', axis 1 \(T\): "):
        export_program(Truncated(), (torch.ones(2, 5),))


def test_a_relation_the_types_do_not_declare_is_an_error_naming_both_sizes() -> None:
    class Related(NeuralModule):
        def forward(self, x: NT[Tensor, "B T", "float"], y: NT[Tensor, "B U", "float"]) -> NT[Tensor, "B U", "float"]:
            return x[:, 1:] + y

    with pytest.raises(
        DynamicShapesError,
        match=r"\bRelated: the module needs T = U \+ 1, but the types declare T a size of its own: write the relation "
        r"into the types \(T's axes as 'U\+1'\)$",
    ):
        export_program(Related(), (torch.ones(2, 6), torch.ones(2, 5)))


def test_a_batch_or_time_size_the_module_fixes_is_an_error_unless_static() -> None:
    class Window(NeuralModule):
        def __init__(self) -> None:
            super().__init__()
            self.mix = torch.nn.Linear(5, 5)

        def forward(self, x: NT[Tensor, "B T", "float"]) -> NT[Tensor, "B T", "float"]:
            result: Tensor = self.mix(x)
            return result

    with pytest.raises(
        DynamicShapesError,
        match=r"\bWindow: the module fixes size T to 5 \(traced with T=5\), but a batch or time size is meant to vary; "
        r"if it is meant to be fixed, say so: static=\{'T'\}$",
    ):
        export_program(Window(), (torch.ones(2, 5),))
    assert export_program(Window(), (torch.ones(2, 5),), static={"T"}).module()(torch.ones(3, 5)).shape == (3, 5)


def test_a_maximum_nobody_asked_for_is_the_examples_path() -> None:
    class Table(NeuralModule):
        def __init__(self) -> None:
            super().__init__()
            self.positions = torch.nn.Parameter(torch.randn(16))

        def forward(self, x: NT[Tensor, "B T", "float"]) -> NT[Tensor, "B T", "float"]:
            return x + self.positions[: x.shape[1]]

    with pytest.raises(
        DynamicShapesError,
        match=r"\bTable: traced with T=5, the module took a path valid only up to T=16: trace with a larger example "
        r"\(input_example\(sizes=\{'T': ...\}\)\), or, if the module cannot take more, say so: "
        r"ranges=\{'T': \(None, 16\)\}$",
    ):
        export_program(Table(), (torch.ones(2, 5),))
    program = export_program(Table(), (torch.ones(2, 5),), ranges={"T": (None, 16)}).module()
    assert program(torch.ones(3, 12)).shape == (3, 12)


def test_a_minimum_the_module_needs_is_taken_unless_ranges_says_otherwise() -> None:
    class Framed(NeuralModule):
        def forward(self, x: NT[Tensor, "B T", "float"]) -> NT[Tensor, "B F", "float"]:
            return x.unfold(1, 4, 4).mean(-1)

    from neuraltypes.export._program import export_with_plan

    exported = export_with_plan(Framed(), (torch.ones(2, 42),))
    assert exported.plan.sizes["T"].min == 4 and exported.plan.sizes["T"].notes == ["min 4"]
    with pytest.raises(
        DynamicShapesError, match=r"\bFramed: ranges= gives size T 2..inf, but the module needs 4..inf$"
    ):
        export_program(Framed(), (torch.ones(2, 42),), ranges={"T": (2, None)})


def test_a_relation_from_the_examples_sizes_is_named_with_the_example() -> None:
    class Framed(NeuralModule):
        def forward(self, x: NT[Tensor, "B T", "float"]) -> NT[Tensor, "B F", "float"]:
            return x.unfold(1, 4, 4).mean(-1)

    with pytest.raises(
        DynamicShapesError,
        match=r"\bFramed: traced with T=40, the module needs T = 4\*_T \(torch.export's words, for any size _T\), "
        r"which the types do not say: if the example's size took a special path, trace with another "
        r"\(input_example\(sizes=\{'T': ...\}\)\), else write it into the types$",
    ):
        export_program(Framed(), (torch.ones(2, 40),))


def test_a_data_dependent_operation_is_named() -> None:
    from neuraltypes_modules.losses import CTCLoss

    module = CTCLoss(blank=0)
    with pytest.raises(
        ExportError,
        match=r"^CTCLoss: torch.export could not trace the module with the example \(.*\): "
        r"DynamicOutputShapeException: aten._ctc_loss.Tensor\nThe module computes a shape from the values of a "
        r"tensor \(a data-dependent operation\): torch.export cannot trace it with dynamic shapes$",
    ):
        export_program(module, module.input_example(sizes={"C": 5}))


def test_training_mode_is_restored_after_export() -> None:
    module = Weighted().train()
    module.project.eval()
    export_program(module, module.input_example(sizes={"D": 6}))
    assert module.training and not module.project.training


def test_the_method_on_neural_module_is_the_same_export() -> None:
    program = Shifted().export_program()
    assert isinstance(program, torch.export.ExportedProgram)
    assert program.module()(torch.ones(2, 4), torch.ones(2, 3)).shape == (2, 3)


def test_a_module_without_input_example_needs_one_passed() -> None:
    class Plain(torch.nn.Module):
        def forward(self, x: NT[Tensor, "B T", "float"]) -> NT[Tensor, "B T", "float"]:
            return x * 2

    with pytest.raises(DynamicShapesError, match=r"\bPlain has no input_example\(\): pass input_example \(the tensors"):
        export_program(Plain())
    assert export_program(Plain(), (torch.ones(2, 3),)).module()(torch.ones(4, 9)).shape == (4, 9)
