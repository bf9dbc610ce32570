"""@typecheck on plain functions: ranks, fixed sizes, symbolic sizes, variadic, broadcast, arithmetic, dtypes."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Annotated, Any

import pytest
import torch
from jaxtyping import Float, Float8e4m3fn
from torch import Tensor

from neuraltypes import NT, NeuralType
from neuraltypes.runtime import CHECKED_MARKER, NeuralTypeError, typecheck


@typecheck
def add(x: NT[Tensor, "b t c"], y: NT[Tensor, "b t c"]) -> NT[Tensor, "b t c"]:
    return x + y


def test_matching_shapes_pass_and_return_the_result() -> None:
    x = torch.ones(2, 3, 4)
    assert torch.equal(add(x, x), x + x)


def test_a_size_bound_by_one_argument_must_match_in_the_next() -> None:
    with pytest.raises(NeuralTypeError, match=r"parameter 'y': axis 0 'b' has size 1, but b=2"):
        add(torch.ones(2, 3, 4), torch.ones(1, 3, 4))


def test_the_return_value_is_checked_against_the_bindings_of_the_arguments() -> None:
    @typecheck
    def shrink(x: NT[Tensor, "b t"]) -> NT[Tensor, "b t"]:
        return x[:, :-1]

    with pytest.raises(NeuralTypeError, match=r"return value: axis 1 't' has size 2, but t=3"):
        shrink(torch.ones(2, 3))


def test_wrong_rank_is_rejected() -> None:
    with pytest.raises(NeuralTypeError, match=r"parameter 'x': has 2 axes, expected 3 \(b t c\)"):
        add(torch.ones(2, 3), torch.ones(2, 3))


def test_a_non_tensor_is_rejected() -> None:
    with pytest.raises(NeuralTypeError, match=r"parameter 'x': expected a Tensor, got list"):
        add([1, 2], torch.ones(2, 3, 4))  # type: ignore[arg-type]


def test_keyword_calls_are_checked_like_positional_ones() -> None:
    assert add(y=torch.ones(2, 3, 4), x=torch.ones(2, 3, 4)).shape == (2, 3, 4)
    with pytest.raises(NeuralTypeError, match="parameter 'y'"):
        add(y=torch.ones(2, 3, 5), x=torch.ones(2, 3, 4))


def test_fixed_sizes_named_and_anonymous() -> None:
    @typecheck
    def f(x: NT[Tensor, "b D:80 3"]) -> None:
        return None

    f(torch.ones(2, 80, 3))
    with pytest.raises(NeuralTypeError, match=r"axis 1 'D' has size 79, expected 80"):
        f(torch.ones(2, 79, 3))
    with pytest.raises(NeuralTypeError, match=r"axis 2 has size 4, expected 3"):
        f(torch.ones(2, 80, 4))


def test_a_fixed_size_binds_its_name_for_other_arguments() -> None:
    @typecheck
    def f(x: NT[Tensor, "D:4"], y: NT[Tensor, "D"]) -> None:
        return None

    f(torch.ones(4), torch.ones(4))
    with pytest.raises(NeuralTypeError, match=r"parameter 'y': axis 0 'D' has size 5, but D=4"):
        f(torch.ones(4), torch.ones(5))


def test_anonymous_axes_accept_any_size_and_bind_nothing() -> None:
    @typecheck
    def f(x: NT[Tensor, "_ c"], y: NT[Tensor, "_ c"]) -> None:
        return None

    f(torch.ones(2, 4), torch.ones(7, 4))


def test_variadic_axes_bind_a_tuple_of_sizes() -> None:
    @typecheck
    def f(x: NT[Tensor, "*batch c"], y: NT[Tensor, "*batch"]) -> NT[Tensor, "*batch c"]:
        return x

    f(torch.ones(2, 3, 4), torch.ones(2, 3))
    f(torch.ones(4), torch.ones(()))
    with pytest.raises(
        NeuralTypeError, match=r"parameter 'y': axes 0..0 '\*batch' have sizes \(5,\), but batch=\(2, 3\)"
    ):
        f(torch.ones(2, 3, 4), torch.ones(5))
    with pytest.raises(NeuralTypeError, match=r"parameter 'x': has 0 axes, expected at least 1"):
        f(torch.ones(()), torch.ones(()))


def test_anonymous_variadic_axes_absorb_the_middle() -> None:
    @typecheck
    def f(x: NT[Tensor, "b ... c"], y: NT[Tensor, "c"]) -> None:
        return None

    f(torch.ones(2, 5, 6, 7, 4), torch.ones(4))
    f(torch.ones(2, 4), torch.ones(4))
    with pytest.raises(NeuralTypeError, match=r"parameter 'y': axis 0 'c' has size 3, but c=4"):
        f(torch.ones(2, 9, 4), torch.ones(3))


def test_broadcast_axes_accept_one_or_the_bound_size() -> None:
    @typecheck
    def f(x: NT[Tensor, "b c"], y: NT[Tensor, "#b c"]) -> None:
        return None

    f(torch.ones(2, 4), torch.ones(1, 4))
    f(torch.ones(2, 4), torch.ones(2, 4))
    with pytest.raises(NeuralTypeError, match=r"axis 0 '#b' has size 3, expected 1 or b=2"):
        f(torch.ones(2, 4), torch.ones(3, 4))


def test_a_broadcast_axis_of_size_one_binds_nothing() -> None:
    @typecheck
    def f(x: NT[Tensor, "#b"], y: NT[Tensor, "#b"], z: NT[Tensor, "b"]) -> None:
        return None

    f(torch.ones(1), torch.ones(5), torch.ones(5))
    f(torch.ones(1), torch.ones(1), torch.ones(7))
    with pytest.raises(NeuralTypeError, match=r"parameter 'z': axis 0 'b' has size 7, but b=5"):
        f(torch.ones(1), torch.ones(5), torch.ones(7))


def test_size_arithmetic_is_checked_whichever_argument_comes_first() -> None:
    @typecheck
    def f(shifted: NT[Tensor, "b T-1"], x: NT[Tensor, "b T"]) -> NT[Tensor, "b 2*T"]:
        return torch.cat([x, x], dim=1)

    assert f(torch.ones(2, 4), torch.ones(2, 5)).shape == (2, 10)
    with pytest.raises(NeuralTypeError, match=r"parameter 'shifted': axis 1 'T-1' has size 5, expected T-1=4"):
        f(torch.ones(2, 5), torch.ones(2, 5))


def test_a_size_expression_whose_variable_nothing_binds_is_a_decoration_error() -> None:
    def f(x: NT[Tensor, "T-1"]) -> None:
        return None

    with pytest.raises(TypeError, match=r"'T-1' in parameter 'x' uses T, which no parameter binds"):
        typecheck(f)


def test_one_name_as_variadic_and_single_axis_is_a_decoration_error() -> None:
    def f(x: NT[Tensor, "*b"], y: NT[Tensor, "b"]) -> None:
        return None

    with pytest.raises(TypeError, match=r"'b' is used both as '\*b' and as one axis"):
        typecheck(f)


def test_dtype_families_and_exact_dtypes() -> None:
    @typecheck
    def f(x: NT[Tensor, "b", "float"], n: NT[Tensor, "b", "int64"]) -> None:
        return None

    f(torch.ones(2, dtype=torch.bfloat16), torch.zeros(2, dtype=torch.int64))
    with pytest.raises(NeuralTypeError, match=r"parameter 'n': dtype is int32, expected int64 \(int64\)"):
        f(torch.ones(2), torch.zeros(2, dtype=torch.int32))
    with pytest.raises(NeuralTypeError, match=r"parameter 'x': dtype is int64, expected float"):
        f(torch.zeros(2, dtype=torch.int64), torch.zeros(2, dtype=torch.int64))


def test_hand_written_annotated_and_jaxtyping_hints_are_read() -> None:
    @typecheck
    def f(x: Annotated[Tensor, NeuralType(("B", "T"))], y: Float[Tensor, "b t"]) -> None:
        return None

    f(torch.ones(2, 3), torch.ones(5, 6))
    with pytest.raises(NeuralTypeError, match=r"parameter 'x': has 1 axes, expected 2"):
        f(torch.ones(2), torch.ones(5, 6))
    with pytest.raises(NeuralTypeError, match=r"parameter 'y': dtype is int64, expected"):
        f(torch.ones(2, 3), torch.zeros(5, 6, dtype=torch.int64))


def test_the_wrapper_keeps_the_signature_defaults_and_metadata() -> None:
    @typecheck
    def f(x: NT[Tensor, "b"], /, scale: float = 2.0, *rest: int, k: int = 3, **extra: str) -> NT[Tensor, "b"]:
        """Docstring."""
        return x * scale + k + sum(rest)

    assert f.__name__ == "f" and f.__doc__ == "Docstring."
    assert inspect.signature(f) == inspect.signature(f.__wrapped__)  # type: ignore[attr-defined]
    assert f(torch.zeros(2)).tolist() == [3.0, 3.0]
    assert f(torch.zeros(2), 1.0, 1, 2, k=0, tag="x").tolist() == [3.0, 3.0]
    with pytest.raises(NeuralTypeError, match=r"parameter 'rest'\[1\]"):
        f(torch.zeros(2), 1.0, 1, "2")  # type: ignore[arg-type]
    with pytest.raises(NeuralTypeError, match=r"parameter 'extra'\['tag'\]"):
        f(torch.zeros(2), tag=3)  # type: ignore[arg-type]


class Scaler:
    def __init__(self, factor: float) -> None:
        self.factor = factor

    @typecheck
    def scale(self, x: NT[Tensor, "b c"]) -> NT[Tensor, "b c"]:
        return x * self.factor

    @staticmethod
    @typecheck
    def double(x: NT[Tensor, "b"]) -> NT[Tensor, "b"]:
        return x * 2

    @typecheck
    @classmethod
    def make(cls, x: NT[Tensor, "b"]) -> Scaler:
        return cls(float(x.shape[0]))


def test_methods_static_and_class_methods() -> None:
    assert Scaler(3.0).scale(torch.ones(1, 2)).tolist() == [[3.0, 3.0]]
    assert Scaler.double(torch.ones(2)).tolist() == [2.0, 2.0]
    assert Scaler.make(torch.ones(4)).factor == 4.0
    with pytest.raises(NeuralTypeError, match=r"Scaler.scale\(\) parameter 'x'"):
        Scaler(1.0).scale(torch.ones(2))
    with pytest.raises(NeuralTypeError, match=r"Scaler.double\(\) parameter 'x'"):
        Scaler.double(torch.ones(2, 2))


def test_forward_of_a_module_is_checked() -> None:
    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.linear = torch.nn.Linear(4, 4)

        @typecheck
        def forward(self, x: NT[Tensor, "b 4"]) -> NT[Tensor, "b 4"]:
            return self.linear(x)

    net = Net()
    assert net(torch.ones(3, 4)).shape == (3, 4)
    with pytest.raises(NeuralTypeError, match=r"Net.forward\(\) parameter 'x': axis 1 has size 5, expected 4"):
        net(torch.ones(3, 5))


@pytest.mark.parametrize("decorate", [typecheck, typecheck()], ids=["bare", "called"])
def test_called_with_no_arguments_checks_a_function_like_the_bare_form(decorate: Callable[[Any], Any]) -> None:
    @decorate
    def shrink(x: NT[Tensor, "b t"], keep: int) -> NT[Tensor, "b t"]:
        return x[:, :keep]

    assert getattr(shrink, CHECKED_MARKER, None) is not None
    assert shrink(torch.ones(2, 3), 3).shape == (2, 3)
    with pytest.raises(NeuralTypeError, match=r"shrink\(\) parameter 'x': has 1 axes, expected 2 \(b t\)\n"):
        shrink(torch.ones(2), 3)
    with pytest.raises(NeuralTypeError, match=r"shrink\(\) return value: axis 1 't' has size 2, but t=3 was bound by"):
        shrink(torch.ones(2, 3), 2)
    with pytest.raises(NeuralTypeError, match=r"parameter 'keep': Value '3' violates type hint"):
        shrink(torch.ones(2, 3), "3")


@pytest.mark.parametrize("decorate", [typecheck, typecheck()], ids=["bare", "called"])
def test_called_with_no_arguments_checks_a_method_like_the_bare_form(decorate: Callable[[Any], Any]) -> None:
    class Scale:
        @decorate
        def apply(self, x: NT[Tensor, "b c"], y: NT[Tensor, "b c"]) -> NT[Tensor, "b c"]:
            return x * y

    assert Scale().apply(torch.ones(2, 3), torch.ones(2, 3)).shape == (2, 3)
    assert Scale().apply(torch.ones(2, 3), y=torch.ones(2, 3)).shape == (2, 3)  # a keyword call: no NeMo rule
    with pytest.raises(NeuralTypeError, match=r"Scale.apply\(\) parameter 'y': axis 1 'c' has size 4, but c=3"):
        Scale().apply(torch.ones(2, 3), torch.ones(2, 4))


def test_decorating_twice_wraps_once() -> None:
    once = typecheck(add)
    assert once is add


def test_classes_are_refused() -> None:
    with pytest.raises(TypeError, match=r"decorates functions and methods \(such as forward\), not <class 'int'>"):
        typecheck(int)


def test_a_function_without_hints_is_returned_unchanged() -> None:
    def f(x, y):  # type: ignore[no-untyped-def]
        return x

    assert typecheck(f) is f


def test_sizes_nothing_reads_are_not_bound_but_still_checked() -> None:
    @typecheck
    def g(x: NT[Tensor, "b t c"], y: NT[Tensor, "b t c"]) -> NT[Tensor, "b t c"]:
        return x + y

    # y and the result are compared with x's whole shape: no size is bound to a local of its own (of g, or of
    # its wrapper)
    assert not [name for name in g.__code__.co_varnames if name.startswith("_ntv_")]
    g(torch.ones(2, 3, 4), torch.ones(2, 3, 4))
    with pytest.raises(NeuralTypeError):
        g(torch.ones(2, 3, 4), torch.ones(2, 3, 5))


def test_a_parameter_named_like_a_builtin_the_checks_call() -> None:
    @typecheck
    def first(x: NT[Tensor, "*b c"], len: int) -> NT[Tensor, "*b c"]:
        return x[..., :len]

    assert first(torch.ones(2, 3, 4), 4).shape == (2, 3, 4)
    with pytest.raises(NeuralTypeError, match=r"return value: axis 2 'c' has size 1, but c=4"):
        first(torch.ones(2, 3, 4), 1)


def test_a_jaxtyping_dtype_that_cannot_be_checked_is_refused_when_decorating() -> None:
    def low_bit(x: Float8e4m3fn[Tensor, "b"]) -> int:
        return 1

    with pytest.raises(ValueError, match=r"its dtypes \(float8_e4m3fn\) are not among those neuraltypes checks"):
        typecheck(low_bit)
