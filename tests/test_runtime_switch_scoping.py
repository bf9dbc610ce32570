"""Switch blocks exited out of order, in another context, or around a generator's ``yield``."""

from __future__ import annotations

import asyncio
import contextvars
import re
import threading
from collections.abc import Callable, Generator, Iterator
from contextlib import AbstractContextManager, ExitStack

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import Tensor

from neuraltypes import NT, ProbsType
from neuraltypes.runtime import (
    NeuralTypeError,
    checks_enabled,
    disable_checks,
    disable_semantic_checks,
    enable_checks,
    enable_semantic_checks,
    semantic_checks_enabled,
    typecheck,
)
from neuraltypes.runtime._switches import SwitchScopeError, current_level


@typecheck
def f(x: NT[Tensor, "b c", ProbsType]) -> NT[Tensor, "b c"]:
    return x


def _checked() -> bool:
    """Whether a checked call rejects a bad argument here: what the switches are for."""
    try:
        f(torch.ones(3))
    except NeuralTypeError:
        return True
    return False


def test_two_exit_stacks_closed_in_the_wrong_order_leave_checks_on() -> None:
    first, second = ExitStack(), ExitStack()
    first.enter_context(disable_checks())
    second.enter_context(disable_checks())
    first.close()
    assert not checks_enabled() and not _checked()  # the second block is still active
    second.close()
    assert checks_enabled() and _checked()


def test_an_enable_block_that_outlives_the_disable_block_around_it_keeps_checks_on() -> None:
    disabling, enabling = ExitStack(), ExitStack()
    disabling.enter_context(disable_checks())
    enabling.enter_context(enable_checks())
    disabling.close()
    assert checks_enabled() and _checked()
    enabling.close()
    assert checks_enabled() and _checked()


def test_the_latest_entered_active_block_wins_when_an_earlier_one_exits() -> None:
    with disable_checks():
        enabling, disabling = ExitStack(), ExitStack()
        enabling.enter_context(enable_checks())
        disabling.enter_context(disable_checks())
        enabling.close()
        assert not checks_enabled()  # the later disable_checks() block still applies
        disabling.close()
        assert not checks_enabled()  # the outer block's state is back
    assert checks_enabled()


def test_semantic_and_checks_blocks_exited_out_of_order_restore_the_defaults() -> None:
    semantic, checks = ExitStack(), ExitStack()
    semantic.enter_context(disable_semantic_checks())
    checks.enter_context(disable_checks())
    semantic.close()
    assert current_level() is False
    checks.close()
    assert current_level() is True and semantic_checks_enabled()


def _unchecked_steps(steps: int) -> Generator[bool, None, None]:
    with disable_checks():
        for _ in range(steps):
            yield checks_enabled()


def test_interleaved_generators_finished_in_the_order_they_started_leave_checks_on() -> None:
    first, second = _unchecked_steps(1), _unchecked_steps(1)
    assert next(first) is False and next(second) is False
    assert list(first) == [] and not checks_enabled()  # the second generator is still inside its block
    assert list(second) == []
    assert checks_enabled() and _checked()


def test_a_generator_suspended_inside_a_block_leaves_its_caller_unchecked_until_it_exits_the_block() -> None:
    # Documented, as for decimal.localcontext(): a generator runs in its caller's context (PEP 567), so a block
    # around a yield is active in the caller while the generator is suspended there.
    steps = _unchecked_steps(2)
    next(steps)
    assert not checks_enabled() and not _checked()
    next(steps)
    assert not checks_enabled()
    steps.close()  # closing (or exhausting, or collecting) the generator exits its block
    assert checks_enabled() and _checked()


def test_a_generator_that_switches_between_its_yields_leaves_its_caller_checked() -> None:
    def unchecked_results() -> Iterator[Tensor]:
        for _ in range(2):
            with disable_checks():
                result = f(torch.ones(3))
            yield result

    for result in unchecked_results():
        assert result.shape == (3,)
        assert checks_enabled() and _checked()


def _finish_in_another_context(steps: Iterator[bool]) -> tuple[BaseException | None, bool]:
    try:
        next(steps, None)
    except BaseException as error:  # asserted by the caller
        return error, checks_enabled()
    return None, checks_enabled()


def _in_a_fresh_context(steps: Iterator[bool]) -> tuple[BaseException | None, bool]:
    return contextvars.Context().run(_finish_in_another_context, steps)


def _in_another_thread(steps: Iterator[bool]) -> tuple[BaseException | None, bool]:
    outcome: list[tuple[BaseException | None, bool]] = []
    thread = threading.Thread(target=lambda: outcome.append(_finish_in_another_context(steps)))
    thread.start()
    thread.join(timeout=20.0)
    return outcome[0]


def _in_an_asyncio_task(steps: Iterator[bool]) -> tuple[BaseException | None, bool]:
    async def task() -> tuple[BaseException | None, bool]:
        return _finish_in_another_context(steps)

    return asyncio.run(task())


def _scope_error(switch: str, change: str) -> str:
    return re.escape(
        f"{switch} exited in another context than the one that entered it (a generator or coroutine suspended "
        "inside the `with` block and resumed in another thread, asyncio task or contextvars.Context): the context "
        f"that entered it keeps {change}, since no code can change another context's variables; exit the block in "
        "the thread or task that entered it, and do not yield inside it"
    )


@pytest.mark.parametrize("resume", [_in_a_fresh_context, _in_another_thread, _in_an_asyncio_task])
def test_a_generator_finished_in_another_context_raises_and_leaves_that_context_checked(
    resume: Callable[[Iterator[bool]], tuple[BaseException | None, bool]],
) -> None:
    entering = contextvars.copy_context()  # thrown away after the test: it keeps the block, as the error says
    steps = _unchecked_steps(1)
    assert entering.run(next, steps) is False
    error, checked_after = resume(steps)
    assert isinstance(error, SwitchScopeError)
    assert re.fullmatch(_scope_error("disable_checks()", "checks off"), str(error))
    assert checked_after
    assert not entering.run(checks_enabled)
    assert checks_enabled() and _checked()


def test_a_generator_finished_in_a_copy_of_its_context_restores_the_copy_and_raises() -> None:
    entering = contextvars.copy_context()
    steps = _unchecked_steps(1)
    entering.run(next, steps)
    copy = entering.run(contextvars.copy_context)  # inherits the active block, as a task created inside it would
    assert not copy.run(checks_enabled)
    with pytest.raises(SwitchScopeError, match=_scope_error("disable_checks()", "checks off")):
        copy.run(next, steps, None)
    assert copy.run(checks_enabled) and copy.run(_checked)
    assert not entering.run(checks_enabled)


@pytest.mark.parametrize(
    ("switch", "name", "change"),
    [
        (disable_checks, "disable_checks()", "checks off"),
        (enable_checks, "enable_checks()", "checks on"),
        (disable_semantic_checks, "disable_semantic_checks()", "semantic checks off"),
        (enable_semantic_checks, "enable_semantic_checks()", "semantic checks on"),
    ],
)
def test_the_error_names_the_switch_and_the_state_left_behind(
    switch: Callable[[], AbstractContextManager[None]], name: str, change: str
) -> None:
    def inside() -> Iterator[None]:
        with switch():
            yield

    steps = inside()
    contextvars.copy_context().run(next, steps)
    with pytest.raises(SwitchScopeError, match=_scope_error(name, change)):
        contextvars.Context().run(next, steps, None)


def test_a_switch_object_is_entered_once() -> None:
    switch = disable_checks()
    with switch:
        pass
    message = "this disable_checks() was already entered: call disable_checks() for each `with` block"
    with pytest.raises(RuntimeError, match=re.escape(message)), switch:
        pass
    assert checks_enabled()


def test_a_switch_used_as_a_decorator_enters_a_fresh_block_on_each_call() -> None:
    @disable_checks()  # type: ignore[operator]
    def unchecked(depth: int) -> list[bool]:
        inner = unchecked(depth - 1) if depth else []
        return [checks_enabled(), *inner]

    assert unchecked(2) == [False, False, False]
    assert checks_enabled()


def test_asyncio_tasks_exiting_their_blocks_in_either_order_keep_their_own_state() -> None:
    async def main() -> list[tuple[str, bool]]:
        seen: list[tuple[str, bool]] = []
        first_inside, second_inside, first_done = asyncio.Event(), asyncio.Event(), asyncio.Event()

        async def first() -> None:
            with disable_checks():
                first_inside.set()
                await second_inside.wait()
            seen.append(("first, after its block", checks_enabled()))
            first_done.set()

        async def second() -> None:
            await first_inside.wait()
            with enable_semantic_checks(), disable_checks():
                second_inside.set()
                await first_done.wait()
                seen.append(("second, inside its block", checks_enabled()))
            seen.append(("second, after its block", checks_enabled()))

        await asyncio.gather(first(), second())
        seen.append(("the caller", checks_enabled() and _checked()))
        return seen

    assert asyncio.run(main()) == [
        ("first, after its block", True),
        ("second, inside its block", False),
        ("second, after its block", True),
        ("the caller", True),
    ]


_SWITCHES = {
    "disable_checks": (disable_checks, "checks", False),
    "enable_checks": (enable_checks, "checks", True),
    "disable_semantic_checks": (disable_semantic_checks, "semantic", False),
    "enable_semantic_checks": (enable_semantic_checks, "semantic", True),
}


@st.composite
def _enter_and_exit_orders(draw: st.DrawFn) -> tuple[list[str], list[int]]:
    switches = draw(st.lists(st.sampled_from(sorted(_SWITCHES)), min_size=1, max_size=6))
    return switches, draw(st.permutations(range(len(switches))))


def _expected_level(switches: list[str], active: set[int], default: bool | int) -> str:
    """The specification: each setting comes from the latest entered block still active that changes it."""
    setting = {"checks": default is not False, "semantic": default is True}
    for index, name in enumerate(switches):
        if index in active:
            _, field, on = _SWITCHES[name]
            setting[field] = on
    return repr((True if setting["semantic"] else 1) if setting["checks"] else False)  # repr: 1 == True


@given(_enter_and_exit_orders())
def test_blocks_exited_in_any_order_give_the_state_of_the_blocks_still_active(
    orders: tuple[list[str], list[int]],
) -> None:
    switches, exit_order = orders
    default = current_level()
    stacks = [ExitStack() for _ in switches]
    for stack, name in zip(stacks, switches, strict=True):
        stack.enter_context(_SWITCHES[name][0]())
    active = set(range(len(switches)))
    assert repr(current_level()) == _expected_level(switches, active, default)
    for index in exit_order:
        stacks[index].close()
        active.remove(index)
        assert repr(current_level()) == _expected_level(switches, active, default)
    assert current_level() is default
