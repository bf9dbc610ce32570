"""Symbolic sizes belong to one call: nested and recursive calls, threads, and failed calls share nothing."""

from __future__ import annotations

import threading

import pytest
import torch
from torch import Tensor

from neuraltypes import NT
from neuraltypes.runtime import NeuralTypeError, typecheck


@typecheck
def inner(x: NT[Tensor, "b t"]) -> NT[Tensor, "b t"]:
    return x * 2


@typecheck
def outer(x: NT[Tensor, "b t"], y: NT[Tensor, "b t"]) -> NT[Tensor, "b t"]:
    # The inner call sees other sizes under the same names; it must not disturb this call's b and t.
    inner(torch.ones(7, 9))
    return x + y


def test_a_nested_call_binds_its_own_sizes() -> None:
    assert outer(torch.ones(2, 3), torch.ones(2, 3)).shape == (2, 3)


def test_recursive_calls_each_bind_their_own_sizes() -> None:
    @typecheck
    def halve(x: NT[Tensor, "n"]) -> NT[Tensor, "n"]:
        if x.shape[0] > 1:
            halve(x[: x.shape[0] // 2])
        return x

    assert halve(torch.ones(16)).shape == (16,)


def test_a_failed_call_leaves_no_binding_behind() -> None:
    with pytest.raises(NeuralTypeError):
        outer(torch.ones(2, 3), torch.ones(4, 3))
    # Had b=2 stayed bound, these would be rejected.
    assert outer(torch.ones(4, 3), torch.ones(4, 3)).shape == (4, 3)
    assert inner(torch.ones(5, 5)).shape == (5, 5)


def test_threads_do_not_see_each_others_bindings() -> None:
    @typecheck
    def slow_add(x: NT[Tensor, "b t"], y: NT[Tensor, "b t"]) -> NT[Tensor, "b t"]:
        return x + y

    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def work(size: int) -> None:
        start.wait()
        try:
            for _ in range(300):
                x = torch.ones(size, size + 1)
                slow_add(x, x)
        except BaseException as error:  # collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(size,)) for size in (1, 2, 3, 4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_threads_still_reject_their_own_bad_calls() -> None:
    caught: list[str] = []

    def work() -> None:
        try:
            outer(torch.ones(2, 3), torch.ones(3, 3))
        except NeuralTypeError as error:
            caught.append(error.argument)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert caught == ["parameter 'y'"]
