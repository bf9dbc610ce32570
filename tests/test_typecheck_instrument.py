"""Instrumented functions: ``@typecheck(instrument=True)`` recompiles a plain ``def`` with the checks in its own code.

Each test says what must stay exactly as Python compiled it (closures, ``super()``, private names, defaults,
line numbers) and where the decorator must fall back to a wrapper (a ``return`` inside ``try``/``with``, no
source, a source that no longer matches the code, generators).
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import Tensor, nn

from neuraltypes import NT, LogitsType, NeuralType
from neuraltypes.runtime import NeuralTypeError, disable_checks, tag_of, typecheck


def _instrumented(function: Callable[..., Any]) -> bool:
    """Instrumented functions read the switch from a closure cell; wrappers from their own globals."""
    return "_ntq_level" in function.__code__.co_freevars


def test_a_plain_function_is_instrumented_and_keeps_its_metadata() -> None:
    def scale(x: NT[Tensor, "b t"], factor: float = 2.0, *, bias: float = 0.0) -> NT[Tensor, "b t"]:
        """Scale x."""
        return x * factor + bias

    checked = typecheck(instrument=True)(scale)
    assert _instrumented(checked)
    assert checked.__wrapped__ is scale  # type: ignore[attr-defined]
    assert checked.__doc__ == "Scale x." and checked.__name__ == "scale" and checked.__qualname__ == scale.__qualname__
    assert inspect.signature(checked) == inspect.signature(scale)
    assert checked.__defaults__ == (2.0,) and checked.__kwdefaults__ == {"bias": 0.0}
    assert torch.equal(checked(torch.ones(2, 3), bias=1.0), torch.full((2, 3), 3.0))
    with pytest.raises(NeuralTypeError, match="parameter 'x'"):
        checked(torch.ones(2))


def test_closures_share_the_original_cells() -> None:
    calls = 0
    offset = torch.ones(1)

    def bump(x: NT[Tensor, "n"]) -> NT[Tensor, "n"]:
        nonlocal calls
        calls += 1
        return x + offset

    checked = typecheck(instrument=True)(bump)
    assert _instrumented(checked)
    checked(torch.zeros(3))
    checked(torch.zeros(3))
    assert calls == 2  # the nonlocal the body rebinds is the enclosing function's own
    offset = torch.full((1,), 5.0)  # the cell, not a copy of its value
    assert checked(torch.zeros(2)).tolist() == [5.0, 5.0]


class _Base(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        return x + 1


class _Child(_Base):
    def __init__(self) -> None:
        super().__init__()
        self.__secret = 10.0  # mangled to _Child__secret

    @typecheck(instrument=True)
    def forward(self, x: NT[Tensor, "b d"]) -> NT[Tensor, "b d", LogitsType]:
        return super().forward(x) * self.__secret


def test_methods_keep_zero_argument_super_and_private_names() -> None:
    assert _instrumented(_Child.forward)
    out = _Child()(torch.zeros(2, 3))
    assert out.tolist() == [[10.0] * 3] * 2
    assert tag_of(out) == NeuralType("b d", LogitsType())
    with pytest.raises(NeuralTypeError, match=r"_Child\.forward\(\) parameter 'x'"):
        _Child()(torch.zeros(3))


def test_every_return_is_checked_and_falling_off_the_end_returns_none() -> None:
    @typecheck(instrument=True)
    def pick(x: NT[Tensor, "b d"], mode: int) -> NT[Tensor, "b d"]:
        if mode == 0:
            return x[:, :1]  # the wrong width on this path only
        for _ in range(1):
            if mode == 1:
                return x.clone()
        if mode == 2:
            return x * 2
        return None  # type: ignore[return-value]

    assert _instrumented(pick)
    x = torch.ones(2, 3)
    assert pick(x, 1).shape == (2, 3) and pick(x, 2).shape == (2, 3)
    with pytest.raises(NeuralTypeError, match="return value: axis 1 'd' has size 1, but d=3"):
        pick(x, 0)
    with pytest.raises(NeuralTypeError, match="return value"):
        pick(x, 3)

    @typecheck(instrument=True)
    def forgets(x: NT[Tensor, "b"]) -> NT[Tensor, "b"]:
        x.add_(1)  # no return statement at all

    with pytest.raises(NeuralTypeError, match="return value"):
        forgets(torch.ones(2))


def test_a_body_that_rebinds_its_parameter_is_explained_with_what_was_passed() -> None:
    @typecheck(instrument=True)
    def squeeze(x: NT[Tensor, "b t"]) -> NT[Tensor, "b t", LogitsType]:
        x = x[:, :1]
        return x

    assert _instrumented(squeeze)
    with pytest.raises(NeuralTypeError) as caught:
        squeeze(torch.ones(2, 4))
    message = str(caught.value)
    assert "return value: axis 1 't' has size 1, but t=4 was bound by parameter 'x'" in message

    @typecheck(instrument=True)
    def same(x: NT[Tensor, "b"]) -> NT[Tensor, "b", LogitsType]:
        y = x
        x = x + 1
        return y  # the caller's tensor: never tagged, though the local 'x' now names another one

    given = torch.ones(2)
    assert same(given) is given and tag_of(given) is None


def test_checks_can_be_switched_off_inside_an_instrumented_function() -> None:
    @typecheck(instrument=True)
    def first(x: NT[Tensor, "b d"]) -> NT[Tensor, "b d"]:
        return x[:, :1]

    with disable_checks():
        assert first(torch.ones(2, 3)).shape == (2, 1)
    with pytest.raises(NeuralTypeError):
        first(torch.ones(2, 3))


def test_errors_point_at_the_users_lines_with_no_frame_of_ours() -> None:
    @typecheck(instrument=True)
    def divide(x: NT[Tensor, "b"]) -> NT[Tensor, "b"]:
        return x / 0 if x.sum() > 100 else x.reshape(1, -1)

    with pytest.raises(NeuralTypeError) as caught:
        divide(torch.ones(3))
    frames = traceback.extract_tb(caught.value.__traceback__)
    inner = [frame for frame in frames if frame.name == "divide"]
    assert len(inner) == 1 and inner[0].filename == __file__
    assert "return x / 0 if" in (inner[0].line or "")  # the return statement that failed
    assert not [frame for frame in frames if "neuraltypes wrapper" in frame.filename]

    with pytest.raises(NeuralTypeError) as caught:
        divide(torch.ones(2, 2))
    frames = traceback.extract_tb(caught.value.__traceback__)
    assert [frame.lineno for frame in frames if frame.name == "divide"] == [divide.__code__.co_firstlineno + 1]


def test_returns_inside_try_or_with_are_wrapped_so_user_code_cannot_swallow_the_check() -> None:
    @typecheck(instrument=True)
    def guarded(x: NT[Tensor, "b d"]) -> NT[Tensor, "b d"]:
        try:
            return x[:, :1]
        except TypeError:
            return x

    @typecheck(instrument=True)
    def no_grad(x: NT[Tensor, "b d"]) -> NT[Tensor, "b d"]:
        with torch.no_grad():
            return x[:, :1]

    for function in (guarded, no_grad):
        assert not _instrumented(function)
        with pytest.raises(NeuralTypeError, match="return value"):
            function(torch.ones(2, 3))

    @typecheck(instrument=True)
    def arguments_only(x: NT[Tensor, "b d"]):  # type: ignore[no-untyped-def]
        try:
            return x[:, :1]
        except TypeError:
            return x

    assert _instrumented(arguments_only)  # no return annotation: nothing is checked at the returns


def test_functions_without_a_matching_source_are_wrapped(tmp_path: Path) -> None:
    namespace: dict[str, Any] = {"NT": NT, "Tensor": Tensor}
    exec("def made(x: NT[Tensor, 'b']) -> NT[Tensor, 'b']:\n    return x\n", namespace)
    made = typecheck(instrument=True)(namespace["made"])
    assert not _instrumented(made)
    with pytest.raises(NeuralTypeError):
        made(torch.ones(2, 2))

    # A module whose file changed after it was imported: its source no longer describes its code.
    path = tmp_path / "edited_after_import.py"
    path.write_text(
        "from torch import Tensor\nfrom neuraltypes import NT\n\n"
        "def f(x: NT[Tensor, 'b']) -> NT[Tensor, 'b']:\n    return x\n"
    )
    module = _import(path)
    path.write_text(
        "from torch import Tensor\nfrom neuraltypes import NT\n\n"
        "def f(x: NT[Tensor, 'b']) -> NT[Tensor, 'b']:\n    return x + 1\n"
    )
    import linecache

    linecache.checkcache(str(path))
    checked = typecheck(instrument=True)(module.f)
    assert not _instrumented(checked)
    assert torch.equal(checked(torch.zeros(2)), torch.zeros(2))  # the code that was imported runs


def test_generators_wrappers_and_opting_out_are_wrapped() -> None:
    @typecheck(instrument=True)
    def numbers(x: NT[Tensor, "b"]) -> Iterator[int]:
        yield x.shape[0]

    assert not _instrumented(numbers) and list(numbers(torch.ones(3))) == [3]

    @typecheck(instrument=True)
    @torch.no_grad()
    def under_no_grad(x: NT[Tensor, "b"]) -> NT[Tensor, "b"]:
        return x

    assert not _instrumented(under_no_grad)
    with pytest.raises(NeuralTypeError):
        under_no_grad(torch.ones(2, 2))

    @typecheck(instrument=False)
    def wrapped(x: NT[Tensor, "b"]) -> NT[Tensor, "b"]:
        return x

    assert not _instrumented(wrapped) and "_ntq_level" in wrapped.__code__.co_names
    with pytest.raises(NeuralTypeError):
        wrapped(torch.ones(2, 2))


def _import(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[path.stem]
    return module


def test_static_class_and_nested_class_methods_are_instrumented() -> None:
    def make() -> type:
        class Local:
            scale = 3.0

            def __init__(self) -> None:
                self.__bias = 1.0  # mangled to _Local__bias: the class is local to make()

            @typecheck(instrument=True)
            def shift(self, x: NT[Tensor, "n"]) -> NT[Tensor, "n"]:
                return x + self.__bias + __class__.scale  # type: ignore[name-defined]

            @staticmethod
            @typecheck(instrument=True)
            def double(x: NT[Tensor, "n"]) -> NT[Tensor, "n"]:
                return x * 2

            @typecheck(instrument=True)
            @classmethod
            def triple(cls, x: NT[Tensor, "n"]) -> NT[Tensor, "n"]:
                return x * cls.scale

        return Local

    local = make()
    instance = local()
    assert _instrumented(local.shift) and _instrumented(local.double) and _instrumented(local.triple.__func__)
    assert instance.shift(torch.zeros(2)).tolist() == [4.0, 4.0]
    assert local.double(torch.ones(2)).tolist() == [2.0, 2.0]
    assert local.triple(torch.ones(2)).tolist() == [3.0, 3.0]
    for call in (lambda: instance.shift(torch.zeros(2, 2)), lambda: local.double(torch.ones(1, 1))):
        with pytest.raises(NeuralTypeError):
            call()


def test_a_parameter_rebound_from_a_nested_function_is_remembered() -> None:
    @typecheck(instrument=True)
    def outer(x: NT[Tensor, "b"]) -> NT[Tensor, "b", LogitsType]:
        def shrink() -> None:
            nonlocal x
            x = x[:1]

        shrink()
        return x

    with pytest.raises(NeuralTypeError, match="return value: axis 0 'b' has size 1, but b=3 was bound by parameter"):
        outer(torch.ones(3))


def test_a_function_without_a_def_of_its_own_is_wrapped() -> None:
    identity = lambda x: x  # noqa: E731
    identity.__annotations__ = {"x": NT[Tensor, "b"], "return": NT[Tensor, "b"]}
    checked = typecheck(instrument=True)(identity)
    assert not _instrumented(checked)
    with pytest.raises(NeuralTypeError):
        checked(torch.ones(2, 2))


def test_a_function_or_module_that_rebinds_a_builtin_the_checks_call_is_wrapped(tmp_path: Path) -> None:
    header = (
        "from torch import Tensor\nfrom neuraltypes import NT, LogitsType\nfrom neuraltypes.runtime import typecheck\n"
    )
    path = tmp_path / "rebinds_builtins.py"
    path.write_text(
        header + "\n"
        "@typecheck(instrument=True)\n"
        "def local_len(x: NT[Tensor, 'b 3']) -> NT[Tensor, 'b 3', LogitsType]:\n"
        "    len = 2  # a local: Python reads it as unbound before this line\n"
        "    return x * len\n\n"
        "@typecheck(instrument=True)\n"
        "def parameter_named_so(x: NT[Tensor, 'b 3'], isinstance: int = 0) -> NT[Tensor, 'b 3']:\n"
        "    return x + isinstance\n\n"
        "@typecheck(instrument=True)\n"
        "def uncalled_builtin(x: NT[Tensor, 'b 3'], type: str = '') -> NT[Tensor, 'b 3']:\n"
        "    return x  # nothing tagged: the checks do not call type()\n"
    )
    later = tmp_path / "binds_a_builtin_later.py"
    later.write_text(
        header + "\n"
        "@typecheck(instrument=True)\n"
        "def reads_tags(x: NT[Tensor, 'b 3', LogitsType]) -> NT[Tensor, 'b 3']:\n"
        "    return x\n\n"
        "def getattr(*args):  # defined after the decorated function\n"
        "    raise AssertionError('not the builtin')\n"
    )
    module, other = _import(path), _import(later)
    wrapped = (module.local_len, module.parameter_named_so, other.reads_tags)
    assert [_instrumented(function) for function in wrapped] == [False, False, False]
    assert _instrumented(module.uncalled_builtin)
    for function in (*wrapped, module.uncalled_builtin):
        assert function(torch.ones(2, 3)).shape == (2, 3)
        with pytest.raises(NeuralTypeError, match="parameter 'x'"):
            function(torch.ones(2, 4))
    assert tag_of(module.local_len(torch.ones(2, 3))) == NeuralType("b 3", LogitsType())


def test_a_decorator_written_over_several_lines_in_parentheses_gets_the_wrapper(tmp_path: Path) -> None:
    # The code's first line is then inside the decorator: the block cut from the file does not parse.
    path = tmp_path / "parenthesised_decorator.py"
    path.write_text(
        "from torch import Tensor\nfrom neuraltypes import NT\nfrom neuraltypes.runtime import typecheck\n\n"
        "@(\n    typecheck(instrument=True)\n)\ndef f(x: NT[Tensor, 'b 3']) -> NT[Tensor, 'b 3']:\n    return x * 1\n"
    )
    module = _import(path)
    assert not _instrumented(module.f)
    assert module.f(torch.ones(2, 3)).shape == (2, 3)
    with pytest.raises(NeuralTypeError, match="parameter 'x'"):
        module.f(torch.ones(2, 4))


def test_locals_and_a_tagged_return_from_star_star_kwargs_get_the_wrapper() -> None:
    def configure(x: NT[Tensor, "b"], scale: float = 2.0) -> dict[str, Any]:
        return dict(locals())  # the checks' own locals must not show

    def take(**kwargs: Tensor) -> NT[Tensor, "b", LogitsType]:
        return kwargs.pop("x")  # the body's dict would be the caller's tensors' only record

    checked_configure, checked_take = typecheck(instrument=True)(configure), typecheck(instrument=True)(take)
    assert not _instrumented(checked_configure) and not _instrumented(checked_take)
    x = torch.ones(2)
    assert checked_configure(x) == configure(x)
    assert checked_take(x=x) is x
    assert tag_of(x) is None


def test_recursive_functions_are_instrumented(tmp_path: Path) -> None:
    path = tmp_path / "recursive.py"
    path.write_text(
        "from torch import Tensor\nfrom neuraltypes import NT\nfrom neuraltypes.runtime import typecheck\n\n"
        "@typecheck(instrument=True)\ndef halve(x: NT[Tensor, 'n'], depth: int) -> NT[Tensor, 'n']:\n"
        "    return x if depth == 0 else halve(x / 2, depth - 1)\n"
    )
    module = _import(path)

    @typecheck(instrument=True)
    def nested(x: NT[Tensor, "n"], depth: int) -> NT[Tensor, "n"]:
        return x if depth == 0 else nested(x[:-1] if depth == 1 else x, depth - 1)

    assert _instrumented(module.halve) and _instrumented(nested)
    assert torch.equal(module.halve(torch.ones(3), 2), torch.full((3,), 0.25))
    with pytest.raises(NeuralTypeError, match="return value: axis 0 'n' has size 2, but n=3"):
        nested(torch.ones(3), 2)  # the innermost call returns 2 elements where its caller bound n=3
