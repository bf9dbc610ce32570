"""A ``NeuralModule``'s ``forward`` is checked against its annotations unless the class opts out."""

# The axes strings inside NT[...] are not forward references, whatever pyflakes assumes of annotations.

import pytest
import torch
from torch import Tensor

from neuraltypes.core import NT, EncodedRepresentation, LogitsType, NeuralType
from neuraltypes.nn import NeuralModule
from neuraltypes.runtime import CHECKED_MARKER, NeuralTypeError, disable_checks


class Projection(NeuralModule):
    def __init__(self, d_in: int = 4, d_out: int = 3) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(d_in, d_out)

    def forward(self, x: NT[Tensor, "B T D:4", EncodedRepresentation]) -> NT[Tensor, "B T C:3", LogitsType]:
        return self.linear(x)


class Unchecked(Projection, typecheck_forward=False):
    def forward(self, x: NT[Tensor, "B T D:4", EncodedRepresentation]) -> NT[Tensor, "B T C:3", LogitsType]:
        return self.linear(x)


class StillUnchecked(Unchecked):
    def forward(self, x: NT[Tensor, "B T D:4", EncodedRepresentation]) -> NT[Tensor, "B T C:3", LogitsType]:
        return self.linear(x)


class CheckedAgain(Unchecked, typecheck_forward=True):
    def forward(self, x: NT[Tensor, "B T D:4", EncodedRepresentation]) -> NT[Tensor, "B T C:3", LogitsType]:
        return self.linear(x)


class NemoStyle(NeuralModule):
    @property
    def input_types(self) -> dict[str, NeuralType]:
        return {"x": NeuralType(("B", "T"), LogitsType())}

    def forward(self, *, x: Tensor) -> Tensor:
        return x


def test_forward_is_checked_by_default() -> None:
    assert getattr(Projection.forward, CHECKED_MARKER, None) is not None
    assert Projection()(torch.zeros(2, 5, 4)).shape == (2, 5, 3)
    with pytest.raises(
        NeuralTypeError,
        match=r"Projection.forward\(\) parameter 'x': axis 2 'D' has size 5, "
        r"expected 4",
    ):
        Projection()(torch.zeros(2, 5, 5))


def test_the_error_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        Projection()(torch.zeros(2, 4))


def test_a_class_can_opt_out_and_its_subclasses_inherit_that() -> None:
    assert getattr(Unchecked.forward, CHECKED_MARKER, None) is None
    assert getattr(StillUnchecked.forward, CHECKED_MARKER, None) is None
    with pytest.raises(RuntimeError, match="mat1 and mat2 shapes cannot be multiplied"):
        StillUnchecked()(torch.zeros(2, 5, 5))


def test_a_subclass_can_opt_back_in() -> None:
    assert CheckedAgain.typecheck_forward and not Unchecked.typecheck_forward
    with pytest.raises(NeuralTypeError):
        CheckedAgain()(torch.zeros(2, 5, 5))


def test_an_inherited_forward_is_not_wrapped_twice() -> None:
    class Child(Projection):
        pass

    assert Child.forward is Projection.forward


def test_nemo_style_declarations_are_checked_the_nemo_way() -> None:
    assert NemoStyle()(x=torch.zeros(2, 3)).shape == (2, 3)
    with pytest.raises(TypeError, match="keyword"):
        NemoStyle()(torch.zeros(2, 3))


def test_the_runtime_switch_turns_module_checks_off() -> None:
    with disable_checks(), pytest.raises(RuntimeError, match="mat1 and mat2"):
        Projection()(torch.zeros(2, 5, 5))


def test_a_forward_decorated_by_hand_is_not_wrapped_again() -> None:
    from neuraltypes.runtime import typecheck

    class ByHand(NeuralModule):
        @typecheck
        def forward(self, x: NT[Tensor, "B T", LogitsType]) -> NT[Tensor, "B T", LogitsType]:
            return x

    inner = getattr(ByHand.forward, CHECKED_MARKER)
    assert getattr(inner, CHECKED_MARKER, None) is None  # one wrapper around the plain function
    with pytest.raises(NeuralTypeError):
        ByHand()(torch.zeros(2))
