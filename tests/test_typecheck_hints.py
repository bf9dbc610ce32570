"""Ordinary hints go to beartype (configurable); hints naming later definitions are resolved on first call."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

import beartype
import pytest
import torch
from beartype import BeartypeConf
from beartype.door import is_bearable
from torch import Tensor

from neuraltypes import NT, NeuralTypeAnnotationError
from neuraltypes.runtime import NeuralTypeError, _beartype_bridge, typecheck


def test_ordinary_hints_are_checked_by_beartype() -> None:
    @typecheck
    def f(x: NT[Tensor, "b"], mode: Literal["sum", "mean"], weights: list[float] | None = None) -> float:
        return float(x.sum())

    assert f(torch.ones(2), "sum") == 2.0
    with pytest.raises(NeuralTypeError, match=r"parameter 'mode': Value 'max' violates type hint"):
        f(torch.ones(2), "max")  # type: ignore[arg-type]
    with pytest.raises(NeuralTypeError, match=r"parameter 'weights': Value \['a'\] violates type hint"):
        f(torch.ones(2), "sum", ["a"])  # type: ignore[list-item]


def test_a_bad_return_of_an_ordinary_hint_is_reported() -> None:
    @typecheck
    def f(x: NT[Tensor, "b"]) -> int:
        return "no"  # type: ignore[return-value]

    with pytest.raises(NeuralTypeError, match=r"return value: Value 'no' violates type hint"):
        f(torch.ones(2))


def test_beartype_configuration_is_honoured() -> None:
    @typecheck(conf=BeartypeConf(is_pep484_tower=True))
    def tower(x: NT[Tensor, "b"], scale: float) -> None:
        return None

    @typecheck
    def strict(x: NT[Tensor, "b"], scale: float) -> None:
        return None

    tower(torch.ones(2), 3)
    with pytest.raises(NeuralTypeError, match="parameter 'scale'"):
        strict(torch.ones(2), 3)


def test_beartypes_violation_types_choose_the_exception() -> None:
    @typecheck(conf=BeartypeConf(violation_type=ValueError))
    def f(x: NT[Tensor, "b"]) -> NT[Tensor, "b"]:
        return x[:1]

    with pytest.raises(ValueError, match=r"f\(\) parameter 'x': has 2 axes, expected 1 \(b\)"):
        f(torch.ones(2, 2))
    with pytest.raises(ValueError, match=r"return value: axis 0 'b' has size 1, but b=2"):
        f(torch.ones(2))

    @typecheck(conf=BeartypeConf(violation_type=TypeError))
    def g(x: NT[Tensor, "b"]) -> None:
        return None

    with pytest.raises(NeuralTypeError):  # a base class of ours keeps ours
        g(torch.ones(2, 2))


def _fresh_count() -> Any:
    """A new function each time: ordinary hints get their testers when a function is decorated."""

    def count(n: int) -> int:
        return n

    return count


def _broken_factory(hint: Any, conf: BeartypeConf) -> Any:
    raise RuntimeError("beartype's private API changed")


@pytest.mark.parametrize("unavailable", ["old version", "factory raises"])
def test_the_public_fallback_checks_ordinary_hints_like_the_private_tester(
    unavailable: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(NeuralTypeError) as private:
        typecheck(_fresh_count())("3")

    if unavailable == "old version":
        monkeypatch.setattr(beartype, "__version__", "0.19.0")
        monkeypatch.setattr(_beartype_bridge, "_FACTORY", _beartype_bridge._private_factory())
        assert _beartype_bridge._FACTORY is None
    else:
        monkeypatch.setattr(_beartype_bridge, "_FACTORY", _broken_factory)
    calls: list[object] = []

    def counting_is_bearable(value: object, hint: Any, conf: BeartypeConf) -> bool:
        calls.append(value)
        return is_bearable(value, hint, conf=conf)

    monkeypatch.setattr(_beartype_bridge, "is_bearable", counting_is_bearable)

    checked = typecheck(_fresh_count())
    assert checked(3) == 3
    assert calls == [3, 3]  # the parameter and the return value, through the public is_bearable
    with pytest.raises(NeuralTypeError) as public:
        checked("3")
    assert type(public.value) is type(private.value)
    assert str(public.value) == str(private.value)


def test_a_hint_naming_a_later_definition_is_resolved_on_the_first_call() -> None:
    assert uses_later(torch.ones(2), Later()) == 2
    with pytest.raises(NeuralTypeError, match="parameter 'later'"):
        uses_later(torch.ones(2), object())  # type: ignore[arg-type]
    with pytest.raises(NeuralTypeError, match="parameter 'x'"):
        uses_later(torch.ones(2, 2), Later())


@typecheck
def uses_later(x: NT[Tensor, "b"], later: Later) -> int:
    return x.shape[0]


class Later:
    pass


def test_an_unresolvable_hint_is_left_unchecked_with_a_warning() -> None:
    class Local:
        pass

    @typecheck
    def f(x: NT[Tensor, "b"], local: Local) -> None:
        return None

    with pytest.warns(UserWarning, match=r"the annotation of parameter 'local' cannot be resolved"):
        f(torch.ones(2), Local())
    with pytest.raises(NeuralTypeError, match="parameter 'x'"):
        f(torch.ones(2, 2), Local())


def test_async_functions_get_their_arguments_checked() -> None:
    @typecheck
    async def f(x: NT[Tensor, "b"]) -> int:
        return x.shape[0]

    assert asyncio.run(f(torch.ones(3))) == 3
    with pytest.raises(NeuralTypeError, match="parameter 'x'"):
        f(torch.ones(3, 3))


def test_skip_when_compiling_still_checks_eager_calls() -> None:
    @typecheck(skip_when_compiling=True)
    def f(x: NT[Tensor, "b"]) -> NT[Tensor, "b"]:
        return x

    with pytest.raises(NeuralTypeError):
        f(torch.ones(2, 2))
    compiled = torch.compile(f, fullgraph=True, backend="eager")
    assert compiled(torch.ones(2, 2)).shape == (2, 2)  # not checked inside the trace
    torch._dynamo.reset()


def test_parameters_with_reserved_names_are_refused() -> None:
    def f(_ntq_r: NT[Tensor, "b"]) -> None:
        return None

    with pytest.raises(NeuralTypeAnnotationError, match="reserved prefix"):
        typecheck(f)
