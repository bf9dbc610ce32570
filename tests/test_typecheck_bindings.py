"""Symbolic sizes belong to one call: nested and recursive calls, threads, and failed calls share nothing."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable

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


@typecheck
def sized(x: NT[Tensor, "n"], wait: Callable[[], object], returned: int) -> NT[Tensor, "n"]:
    # Both threads have bound n from their arguments before either checks its return value.
    wait()
    return torch.ones(returned)


def _in_two_threads(*sizes: tuple[int, int]) -> list[Tensor | BaseException]:
    """Call ``sized`` once in each of two threads, with (argument size, returned size), overlapping the calls."""
    barrier = threading.Barrier(2, timeout=10.0)  # a bug breaks the barrier instead of hanging the suite
    outcomes: list[Tensor | BaseException] = [RuntimeError("not run"), RuntimeError("not run")]

    def work(index: int, size: int, returned: int) -> None:
        try:
            outcomes[index] = sized(torch.ones(size), barrier.wait, returned)
        except BaseException as error:  # collected and asserted by the caller
            outcomes[index] = error

    threads = [threading.Thread(target=work, args=(i, *pair)) for i, pair in enumerate(sizes)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20.0)
    assert not any(thread.is_alive() for thread in threads)
    return outcomes


def test_two_threads_inside_one_function_keep_their_own_sizes() -> None:
    three, five = _in_two_threads((3, 3), (5, 5))
    assert isinstance(three, Tensor) and three.shape == (3,)
    assert isinstance(five, Tensor) and five.shape == (5,)


def test_a_bad_return_in_one_thread_fails_only_that_thread() -> None:
    good, bad = _in_two_threads((3, 3), (5, 4))
    assert isinstance(good, Tensor) and good.shape == (3,)
    assert isinstance(bad, NeuralTypeError)
    # The error names its own thread's binding, not the other thread's n=3.
    assert str(bad).splitlines()[0] == "sized() return value: axis 0 'n' has size 4, but n=5 was bound by parameter 'x'"


def test_threads_do_not_see_each_others_bindings() -> None:
    @typecheck
    def slow_add(x: NT[Tensor, "b t"], y: NT[Tensor, "b t"]) -> NT[Tensor, "b t"]:
        return x + y

    errors: list[BaseException] = []
    start = threading.Barrier(4, timeout=10.0)

    def work(size: int) -> None:
        try:
            start.wait()
            for _ in range(300):
                x = torch.ones(size, size + 1)
                slow_add(x, x)
        except BaseException as error:  # collected and asserted below
            errors.append(error)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible, inside the checks too
    try:
        threads = [threading.Thread(target=work, args=(size,)) for size in (1, 2, 3, 4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60.0)
    finally:
        sys.setswitchinterval(interval)
    assert not any(thread.is_alive() for thread in threads)
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
