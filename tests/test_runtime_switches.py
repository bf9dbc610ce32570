"""Switches: scoped, nesting, per-thread context managers, and the import-time environment variable."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest
import torch
from torch import Tensor

from neuraltypes import NT, LogitsType, NeuralType, ProbsType
from neuraltypes.runtime import (
    NeuralTypeError,
    checks_enabled,
    disable_checks,
    disable_semantic_checks,
    enable_checks,
    enable_semantic_checks,
    semantic_checks_enabled,
    set_tag,
    typecheck,
)


@typecheck
def f(x: NT[Tensor, "b c", ProbsType]) -> NT[Tensor, "b c"]:
    return x


def test_disable_checks_turns_everything_off_inside_the_block_only() -> None:
    with disable_checks():
        assert not checks_enabled()
        assert f(torch.ones(3)).shape == (3,)  # type: ignore[arg-type]
    assert checks_enabled()
    with pytest.raises(NeuralTypeError):
        f(torch.ones(3))


def test_switches_nest_and_restore_the_outer_state() -> None:
    with disable_checks():
        with disable_checks():
            assert not checks_enabled()
        assert not checks_enabled()  # NeMo re-enables here; we restore the outer block's state
        with enable_checks():
            assert checks_enabled()
            with pytest.raises(NeuralTypeError):
                f(torch.ones(3))
        assert not checks_enabled()
    assert checks_enabled()


def test_the_state_is_restored_when_the_block_raises() -> None:
    with pytest.raises(RuntimeError), disable_checks():
        raise RuntimeError("boom")
    assert checks_enabled()


def test_disable_semantic_checks_alone() -> None:
    logits = set_tag(torch.ones(2, 3), NeuralType("b c", LogitsType()))
    with disable_semantic_checks():
        assert checks_enabled() and not semantic_checks_enabled()
        f(logits)
    with pytest.raises(NeuralTypeError, match="carries the neural type"):
        f(logits)


def test_enable_semantic_checks_turns_them_back_on_inside_a_disabled_block() -> None:
    logits = set_tag(torch.ones(2, 3), NeuralType("b c", LogitsType()))
    with disable_semantic_checks():
        with enable_semantic_checks():
            assert semantic_checks_enabled()
            with pytest.raises(NeuralTypeError, match="carries the neural type"):
                f(logits)
        assert not semantic_checks_enabled()  # the outer block's state is back
        f(logits)
    assert semantic_checks_enabled()
    with pytest.raises(NeuralTypeError, match="carries the neural type"):
        f(logits)


def test_enable_semantic_checks_does_not_turn_on_checks_that_are_off() -> None:
    logits = set_tag(torch.ones(2, 3), NeuralType("b c", LogitsType()))
    with disable_checks(), enable_semantic_checks():
        assert not checks_enabled() and not semantic_checks_enabled()
        f(logits)
        f(torch.ones(3))  # type: ignore[arg-type]


def test_typechecks_enable_and_disable_behave_like_the_module_functions() -> None:
    logits = set_tag(torch.ones(2, 3), NeuralType("b c", LogitsType()))
    with typecheck.disable_checks():
        assert not checks_enabled()
        f(torch.ones(3))  # type: ignore[arg-type]
        with typecheck.enable_checks():
            assert checks_enabled()
            with pytest.raises(NeuralTypeError, match=r"parameter 'x': has 1 axes, expected 2"):
                f(torch.ones(3))
        assert not checks_enabled()
    assert checks_enabled()
    with typecheck.disable_semantic_checks():
        f(logits)
        with typecheck.enable_semantic_checks(), pytest.raises(NeuralTypeError, match="carries the neural type"):
            f(logits)
        assert not semantic_checks_enabled()
    assert semantic_checks_enabled()


def test_disabling_semantic_checks_in_one_thread_leaves_them_on_in_another() -> None:
    logits = set_tag(torch.ones(2, 3), NeuralType("b c", LogitsType()))
    both_inside = threading.Barrier(2, timeout=10.0)  # a bug breaks the barrier instead of hanging the suite
    outcomes: dict[str, object] = {}

    def disabling() -> None:
        try:
            with disable_semantic_checks():
                both_inside.wait()
                f(logits)
                outcomes["disabling"] = semantic_checks_enabled()
                both_inside.wait()  # still inside the block while the other thread checks
        except BaseException as error:  # asserted below
            outcomes["disabling"] = error

    def checking() -> None:
        try:
            both_inside.wait()
            outcomes["enabled"] = semantic_checks_enabled()
            try:
                f(logits)
                outcomes["checking"] = "accepted"
            except NeuralTypeError:
                outcomes["checking"] = "rejected"
            both_inside.wait()
        except BaseException as error:  # asserted below
            outcomes["checking"] = error

    threads = [threading.Thread(target=disabling), threading.Thread(target=checking)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20.0)
    assert not any(thread.is_alive() for thread in threads)
    assert outcomes == {"disabling": False, "enabled": True, "checking": "rejected"}


def test_a_switch_in_one_thread_does_not_affect_another() -> None:
    inside = threading.Event()
    release = threading.Event()
    seen: list[bool] = []

    def other() -> None:
        inside.wait()
        seen.append(checks_enabled())
        try:
            f(torch.ones(3))
        except NeuralTypeError:
            seen.append(True)
        release.set()

    thread = threading.Thread(target=other)
    thread.start()
    with disable_checks():
        inside.set()
        release.wait()
        assert not checks_enabled()
    thread.join()
    assert seen == [True, True]


def test_nemo_style_switches_hang_off_typecheck() -> None:
    with typecheck.disable_checks():
        f(torch.ones(3))  # type: ignore[arg-type]
    with typecheck.disable_semantic_checks():
        assert not semantic_checks_enabled()


def _run(code: str, **env: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "OMP_NUM_THREADS": "1", **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return result.stdout.strip()


_PROBE = """
import torch
from torch import Tensor
from neuraltypes import NT, LogitsType
from neuraltypes.runtime import typecheck, checks_enabled, semantic_checks_enabled, set_tag
from neuraltypes import NeuralType, ProbsType

def f(x: NT[Tensor, "b c", ProbsType]) -> None:
    return None

g = typecheck(f)
try:
    g(set_tag(torch.ones(2, 3), NeuralType("b c", LogitsType())))
    outcome = "accepted"
except TypeError:
    outcome = "rejected"
print(g is f, checks_enabled(), semantic_checks_enabled(), outcome)
"""


def test_the_environment_variable_disables_checking_at_import() -> None:
    assert _run(_PROBE, NEURALTYPES_DISABLE="1") == "True False False accepted"
    assert _run(_PROBE, NEURALTYPES_DISABLE_SEMANTIC="1") == "False True False accepted"


_SEMANTIC_PROBE = """
import threading
import torch
from torch import Tensor
from neuraltypes import NT, LogitsType, NeuralType, ProbsType
from neuraltypes.runtime import enable_semantic_checks, semantic_checks_enabled, set_tag, typecheck

def f(x: NT[Tensor, "b c", ProbsType]) -> None:
    return None

g = typecheck(f)
logits = set_tag(torch.ones(2, 3), NeuralType("b c", LogitsType()))

def outcome():
    try:
        g(logits)
        return "accepted"
    except TypeError:
        return "rejected"

seen = [semantic_checks_enabled(), outcome()]
with enable_semantic_checks():
    seen += [semantic_checks_enabled(), outcome()]
    other = []
    thread = threading.Thread(target=lambda: other.extend([semantic_checks_enabled(), outcome()]))
    thread.start()
    thread.join()
    seen += other
seen += [semantic_checks_enabled(), outcome()]
print(*seen)
"""


def test_enable_semantic_checks_overrides_the_environment_variable_inside_its_block() -> None:
    # Off by default; on inside the block; a thread started there has the default (off); off again after.
    assert _run(_SEMANTIC_PROBE, NEURALTYPES_DISABLE_SEMANTIC="1") == (
        "False accepted True rejected False accepted False accepted"
    )


def test_the_wrappers_one_read_summary_follows_every_switch() -> None:
    from neuraltypes.runtime._switches import current_level

    assert current_level() is True
    with disable_semantic_checks():
        assert current_level() == 1 and current_level() is not True
        with disable_checks():
            assert current_level() is False
            with enable_checks():
                assert current_level() == 1 and current_level() is not True
            assert current_level() is False
        assert current_level() == 1 and current_level() is not True
    assert current_level() is True
    levels: list[object] = []
    with disable_checks():
        thread = threading.Thread(target=lambda: levels.append(current_level()))
        thread.start()
        thread.join()
    assert levels == [True] and levels[0] is True


def test_each_asyncio_task_has_its_own_switches() -> None:
    import asyncio

    async def main() -> list[str]:
        order: list[str] = []
        inside = asyncio.Event()
        done = asyncio.Event()

        async def disabled() -> None:
            with disable_checks():
                f(torch.ones(3))  # type: ignore[arg-type]
                order.append("disabled task ran unchecked")
                inside.set()
                await done.wait()  # still inside its block while the other task runs

        async def checked() -> None:
            await inside.wait()
            with pytest.raises(NeuralTypeError):
                f(torch.ones(3))
            order.append("other task still checked")
            done.set()

        await asyncio.gather(disabled(), checked())
        return order

    assert asyncio.run(main()) == ["disabled task ran unchecked", "other task still checked"]
