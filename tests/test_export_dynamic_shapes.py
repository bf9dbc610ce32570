"""``dynamic_shapes``: torch.export's ``dynamic_shapes`` derived from the input types (no tracing here)."""

from collections.abc import Mapping

import pytest
import torch
from torch import Tensor
from torch.export.dynamic_shapes import _DerivedDim

from neuraltypes.core import NT, LengthsType, NeuralType
from neuraltypes.export import DynamicShapesError, dynamic_shapes
from neuraltypes.nn import NeuralModule


class Shared(NeuralModule):
    def forward(
        self, x: NT[Tensor, "B T D:4", "float"], y: NT[Tensor, "B T", "float"]
    ) -> NT[Tensor, "B T D:4", "float"]:
        return x * y[..., None]


class Shifted(NeuralModule):
    def forward(
        self, x: NT[Tensor, "B T", "float"], y: NT[Tensor, "B T-1", "float"], z: NT[Tensor, "B 2*T+1", "float"]
    ) -> NT[Tensor, "B T-1", "float"]:
        return x[:, 1:] + y + z[:, : y.shape[1]]


class Halved(NeuralModule):
    def forward(self, x: NT[Tensor, "B T", "float"], y: NT[Tensor, "B T//2", "float"]) -> NT[Tensor, "B T//2", "float"]:
        return y


class Anonymous(NeuralModule):
    def forward(self, x: NT[Tensor, "B _ 3", "float"], y: NT[Tensor, "B ...", "float"]) -> NT[Tensor, "B", "float"]:
        return x.sum((1, 2)) + y.flatten(1).sum(1)


class Variadic(NeuralModule):
    def forward(self, x: NT[Tensor, "*batch T", "float"]) -> NT[Tensor, "*batch", "float"]:
        return x.sum(-1)


class WithOptional(NeuralModule):
    def forward(
        self, x: NT[Tensor, "B T", "float"], lengths: NT[Tensor, "B", LengthsType, "int"] | None = None
    ) -> NT[Tensor, "B T", "float"]:
        return x


class Plain(torch.nn.Module):
    """Not a NeuralModule: annotated, not checked."""

    def forward(self, x: NT[Tensor, "B T D:3", "float"], n: int = 1) -> NT[Tensor, "B T", "float"]:
        return x.sum(-1) * n


class NemoStyle(NeuralModule):
    """Types NeMo's way: labels are kinds, so ``B`` here and ``B`` there need not be one size."""

    @property
    def input_types(self) -> Mapping[str, NeuralType]:
        return {"x": NeuralType(("B", "T", "D")), "y": NeuralType(("B", "T"))}

    @property
    def output_types(self) -> Mapping[str, NeuralType]:
        return {"out": NeuralType(("B", "T"))}

    def forward(self, *, x: Tensor, y: Tensor) -> Tensor:
        return x.sum(-1) + y


def test_a_shared_size_variable_is_one_dim() -> None:
    shapes = dynamic_shapes(Shared())
    assert shapes["x"][0] is shapes["y"][0] and shapes["x"][1] is shapes["y"][1]
    assert (shapes["x"][0].__name__, shapes["x"][1].__name__) == ("B", "T")


def test_a_fixed_size_is_static() -> None:
    assert sorted(dynamic_shapes(Shared())["x"]) == [0, 1]  # axis 2 (D:4) left out: static


def test_sizes_linear_in_one_variable_are_derived_dims() -> None:
    shapes = dynamic_shapes(Shifted())
    root, shifted, widened = shapes["x"][1], shapes["y"][1], shapes["z"][1]
    assert isinstance(shifted, _DerivedDim) and isinstance(widened, _DerivedDim)
    assert (str(shifted), str(widened)) == ("T - 1", "2*T + 1")
    assert shifted.root is root and widened.root is root
    # T-1 must not go below 0 (torch requires it), and the root needs a maximum (a torch 2.13 bug otherwise)
    assert (root.min, root.max) == (1, 2**31 - 1)


def test_another_expression_is_a_dynamic_size_of_its_own() -> None:
    shapes = dynamic_shapes(Halved())
    assert not isinstance(shapes["y"][1], _DerivedDim)
    assert shapes["y"][1].__name__ == "T_div_2" and shapes["y"][1] is not shapes["x"][1]


def test_ranges_give_min_and_max() -> None:
    shapes = dynamic_shapes(Shared(), ranges={"T": (16, 4096), "B": (None, 64)})
    assert (shapes["x"][1].min, shapes["x"][1].max) == (16, 4096)
    assert shapes["x"][0].max == 64


def test_static_names_sizes_exported_static() -> None:
    shapes = dynamic_shapes(Shared(), static={"T"})
    assert sorted(shapes["x"]) == [0] and sorted(shapes["y"]) == [0]


def test_anonymous_axes_keep_the_examples_size() -> None:
    example = (torch.zeros(2, 5, 3), torch.zeros(2, 7, 4))
    shapes = dynamic_shapes(Anonymous(), example)
    assert sorted(shapes["x"]) == [0] and sorted(shapes["y"]) == [0]


def test_a_named_variadic_axis_is_one_dim_per_axis_of_the_example() -> None:
    shapes = dynamic_shapes(Variadic(), (torch.zeros(2, 3, 5),))
    assert [shapes["x"][i].__name__ for i in range(3)] == ["batch_0", "batch_1", "T"]


def test_an_optional_input_left_out_of_the_example_has_no_shapes() -> None:
    shapes = dynamic_shapes(WithOptional(), (torch.zeros(2, 3),))
    assert list(shapes) == ["x"]
    with_lengths = dynamic_shapes(WithOptional(), (torch.zeros(2, 3), torch.tensor([3, 2])))
    assert with_lengths["lengths"][0] is with_lengths["x"][0]


def test_any_module_with_annotated_forward_works_and_untyped_inputs_are_static() -> None:
    shapes = dynamic_shapes(Plain(), (torch.zeros(2, 5, 3), 2))
    assert [d.__name__ for d in shapes["x"].values()] == ["B", "T"] and shapes["n"] is None
    assert list(dynamic_shapes(Plain())) == ["x"]  # without an example: the typed inputs


def test_nemo_types_make_batch_and_time_axes_dynamic_each_its_own() -> None:
    shapes = dynamic_shapes(NemoStyle(), {"x": torch.zeros(2, 3, 4), "y": torch.zeros(2, 3)})
    assert [d.__name__ for d in shapes["x"].values()] == ["x_B", "x_T"]  # D: static, as NeMo's Exportable
    assert [d.__name__ for d in shapes["y"].values()] == ["y_B", "y_T"]


def test_a_list_port_cannot_be_exported() -> None:
    class Lists(NeuralModule):
        def forward(self, xs: list[NT[Tensor, "B T", "float"]]) -> NT[Tensor, "B T", "float"]:
            return xs[0]

    with pytest.raises(
        DynamicShapesError, match=r"^input 'xs' is a list of tensors: export takes tensors \(pass them as separate"
    ):
        dynamic_shapes(Lists(), ([torch.zeros(2, 3)],))


def test_a_variadic_axis_needs_an_example() -> None:
    class PlainVariadic(torch.nn.Module):
        def forward(self, x: NT[Tensor, "*batch T", "float"]) -> NT[Tensor, "*batch", "float"]:
            return x.sum(-1)

    with pytest.raises(
        DynamicShapesError,
        match=r"^input 'x' has a variadic axis \(\*batch T\): pass an input_example to tell its rank$",
    ):
        dynamic_shapes(PlainVariadic())


def test_an_example_of_size_one_on_a_dynamic_axis_is_refused() -> None:
    with pytest.raises(
        DynamicShapesError,
        match=r"^input 'x', axis 0 \(B\): the example's size is 1, and torch.export cannot keep a size of 0 or 1 "
        r"dynamic; use an example with sizes of 2 or more \(input_example\(max_batch=2\)\)$",
    ):
        dynamic_shapes(Shared(), (torch.zeros(1, 3, 4), torch.zeros(1, 3)))


def test_an_example_of_another_rank_is_refused() -> None:
    with pytest.raises(DynamicShapesError, match=r"^input 'y': the example has 3 axes, the type \(B T\) declares 2$"):
        dynamic_shapes(Shared(), (torch.zeros(2, 3, 4), torch.zeros(2, 3, 1)))


def test_an_example_that_breaks_a_derived_size_is_refused() -> None:
    with pytest.raises(
        DynamicShapesError,
        match=r"^input 'y', axis 1 \(T-1\): the example's size 5 gives T=6, another axis gives T=4$",
    ):
        dynamic_shapes(Shifted(), (torch.zeros(2, 4), torch.zeros(2, 5), torch.zeros(2, 9)))


def test_options_naming_no_size_are_refused() -> None:
    with pytest.raises(
        DynamicShapesError,
        match=r"^static= names Q, which no input axis uses as a size \(the inputs' sizes: B, D, T\)$",
    ):
        dynamic_shapes(Shared(), static={"Q"})
    with pytest.raises(DynamicShapesError, match=r"^ranges= names W, "):
        dynamic_shapes(Shared(), ranges={"W": (1, 2)})


def test_a_range_that_makes_a_derived_size_negative_is_refused() -> None:
    with pytest.raises(
        DynamicShapesError,
        match=r"^size T: ranges= gives it minimum 0, but axis 'T-1' would then be negative; give T a minimum of 1 "
        r"at least$",
    ):
        dynamic_shapes(Shifted(), ranges={"T": (0, None)})


def test_without_an_example_a_neural_module_uses_its_own() -> None:
    shapes = dynamic_shapes(Shared())
    assert list(shapes) == ["x", "y"]
