"""``TypecheckConf``: one frozen configuration for ``@typecheck``, its defaults read from the environment at import,
and ``NeuralTypeAnnotationError`` for declarations that cannot be checked."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from typing import Any

import pytest
import torch
from beartype import BeartypeConf
from torch import Tensor

import neuraltypes
import neuraltypes.runtime
from neuraltypes import NT, LogitsType
from neuraltypes.runtime import NeuralTypeAnnotationError, NeuralTypeError, TypecheckConf, typecheck

_VARIABLES = (
    "NEURALTYPES_DISABLE",
    "NEURALTYPES_DISABLE_SEMANTIC",
    "NEURALTYPES_INSTRUMENT",
    "NEURALTYPES_NO_INSTRUMENT",
)


def _instrumented(function: Any) -> bool:
    """Instrumented functions read the switch from a closure cell; wrappers from their own globals."""
    return "_ntq_level" in function.__code__.co_freevars


def _scale(x: NT[Tensor, "b t"], factor: float = 2.0) -> NT[Tensor, "b t"]:
    return x * factor


# -- the object ---------------------------------------------------------------------------------------------------
def test_the_conf_is_frozen_hashable_and_compared_by_value() -> None:
    conf = TypecheckConf(instrument=True, skip_when_compiling=True)
    assert conf == TypecheckConf(skip_when_compiling=True, instrument=True)
    assert hash(conf) == hash(TypecheckConf(skip_when_compiling=True, instrument=True))
    assert conf != TypecheckConf(instrument=False, skip_when_compiling=True)
    assert {conf: "cached"}[TypecheckConf(instrument=True, skip_when_compiling=True)] == "cached"
    with pytest.raises(dataclasses.FrozenInstanceError):
        conf.instrument = False  # type: ignore[misc]


def test_each_field_refuses_a_value_of_the_wrong_type() -> None:
    with pytest.raises(TypeError, match=r"^TypecheckConf\(instrument=...\) takes True or False, not 'yes'$"):
        TypecheckConf(instrument="yes")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^TypecheckConf\(skip_when_compiling=...\) takes True or False, not 1$"):
        TypecheckConf(skip_when_compiling=1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^TypecheckConf\(beartype_conf=...\) takes a BeartypeConf, not None$"):
        TypecheckConf(beartype_conf=None)  # type: ignore[arg-type]


def test_both_exceptions_and_the_conf_are_exported_from_the_runtime_and_the_package() -> None:
    assert neuraltypes.TypecheckConf is TypecheckConf
    assert neuraltypes.NeuralTypeAnnotationError is NeuralTypeAnnotationError
    for name in ("TypecheckConf", "NeuralTypeAnnotationError"):
        assert name in neuraltypes.runtime.__all__ and name in neuraltypes.__all__


# -- the decorator's options ----------------------------------------------------------------------------------------
def test_the_default_conf_is_the_one_the_environment_gave_and_uses_the_wrapper() -> None:
    if any(os.environ.get(name) for name in _VARIABLES):
        pytest.skip("the environment sets a switch")
    assert TypecheckConf() == TypecheckConf.from_environment({})
    assert TypecheckConf().instrument is False
    assert not _instrumented(typecheck(_scale))


def test_an_option_replaces_that_field_of_the_default_conf() -> None:
    assert _instrumented(typecheck(instrument=True)(_scale))
    assert not _instrumented(typecheck(instrument=False)(_scale))


def test_a_conf_is_taken_as_written_and_the_options_given_beside_it_replace_its_fields() -> None:
    assert _instrumented(typecheck(conf=TypecheckConf(instrument=True))(_scale))
    assert not _instrumented(typecheck(conf=TypecheckConf(instrument=False))(_scale))
    assert not _instrumented(typecheck(conf=TypecheckConf(instrument=True), instrument=False)(_scale))


def test_a_conf_that_is_not_enabled_leaves_the_function_unchanged() -> None:
    assert typecheck(conf=TypecheckConf(enabled=False))(_scale) is _scale
    assert typecheck(conf=TypecheckConf(enabled=False))(staticmethod(_scale)).__func__ is _scale


class _Refused(Exception):
    pass


@pytest.mark.parametrize("instrument", [True, False], ids=["instrumented", "wrapper"])
def test_a_beartype_conf_stands_for_a_conf_holding_it(instrument: bool) -> None:
    beartype_conf = BeartypeConf(violation_type=_Refused)

    def repeat(x: NT[Tensor, "n"], times: int) -> NT[Tensor, "n"]:
        return x * times

    for checked in (
        typecheck(conf=beartype_conf, instrument=instrument)(repeat),
        typecheck(conf=TypecheckConf(beartype_conf=beartype_conf, instrument=instrument))(repeat),
    ):
        assert _instrumented(checked) is instrument
        with pytest.raises(_Refused, match="parameter 'times'"):
            checked(torch.ones(2), "twice")
        with pytest.raises(_Refused, match="parameter 'x'"):  # beartype's violation_type is every check's
            checked(torch.ones(2, 2), 2)


def test_a_conf_of_another_type_is_refused() -> None:
    with pytest.raises(TypeError, match=r"^@typecheck\(conf=...\) takes a TypecheckConf or a BeartypeConf, not 3$"):
        typecheck(conf=3)  # type: ignore[call-overload]


# -- the environment ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["1", "true", "YES", " on "])
def test_each_on_value_turns_a_switch_on(value: str) -> None:
    assert TypecheckConf.from_environment({"NEURALTYPES_DISABLE": value}).enabled is False
    assert TypecheckConf.from_environment({"NEURALTYPES_DISABLE_SEMANTIC": value}).semantic_checks is False
    assert TypecheckConf.from_environment({"NEURALTYPES_INSTRUMENT": value}).instrument is True
    assert TypecheckConf.from_environment({"NEURALTYPES_NO_INSTRUMENT": value}).instrument is False


@pytest.mark.parametrize("value", ["0", "false", "No", "OFF", "", "  "])
def test_each_off_or_empty_value_leaves_a_switch_off(value: str) -> None:
    defaults = TypecheckConf.from_environment({})
    assert defaults == TypecheckConf(instrument=False, enabled=True, semantic_checks=True)
    for name in ("NEURALTYPES_DISABLE", "NEURALTYPES_DISABLE_SEMANTIC", "NEURALTYPES_INSTRUMENT"):
        assert TypecheckConf.from_environment({name: value}) == defaults


def test_the_earlier_spelling_turned_off_asks_for_instrumentation() -> None:
    assert TypecheckConf.from_environment({"NEURALTYPES_NO_INSTRUMENT": "0"}).instrument is True
    both = {"NEURALTYPES_INSTRUMENT": "1", "NEURALTYPES_NO_INSTRUMENT": "0"}
    assert TypecheckConf.from_environment(both).instrument is True


def test_the_two_instrumentation_variables_must_not_contradict_each_other() -> None:
    with pytest.raises(ValueError) as refused:
        TypecheckConf.from_environment({"NEURALTYPES_INSTRUMENT": "1", "NEURALTYPES_NO_INSTRUMENT": "yes"})
    assert str(refused.value) == (
        "environment variables NEURALTYPES_INSTRUMENT='1' and NEURALTYPES_NO_INSTRUMENT='yes' contradict each other: "
        "set one"
    )


def _refusal(name: str, value: str) -> str:
    return (
        f"environment variable {name}={value!r} is not a switch value: accepted are 1/true/yes/on (on), "
        "0/false/no/off (off), or empty (the default)"
    )


@pytest.mark.parametrize("name", _VARIABLES)
def test_a_value_that_is_not_a_switch_value_is_refused_with_the_variable_the_value_and_the_accepted_ones(
    name: str,
) -> None:
    with pytest.raises(ValueError) as refused:
        TypecheckConf.from_environment({name: "maybe"})
    assert str(refused.value) == _refusal(name, "maybe")


def _python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if key not in _VARIABLES}
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**environment, "OMP_NUM_THREADS": "1", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "code", ["import neuraltypes.runtime", "from neuraltypes import typecheck"], ids=["runtime", "package"]
)
def test_importing_the_runtime_with_a_misspelt_switch_fails_with_the_message(code: str) -> None:
    # `import neuraltypes` alone does not import the run-time layer (the package imports it on first use).
    result = _python(code, NEURALTYPES_DISABLE="maybe")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == f"ValueError: {_refusal('NEURALTYPES_DISABLE', 'maybe')}"


def test_the_environment_sets_the_default_conf_at_import() -> None:
    probe = (
        "from neuraltypes.runtime import TypecheckConf\n"
        "conf = TypecheckConf()\n"
        "print(conf.instrument, conf.enabled, conf.semantic_checks)\n"
    )
    assert _python(probe).stdout.split() == ["False", "True", "True"]
    assert _python(probe, NEURALTYPES_INSTRUMENT="1").stdout.split() == ["True", "True", "True"]
    assert _python(probe, NEURALTYPES_NO_INSTRUMENT="1").stdout.split() == ["False", "True", "True"]
    assert _python(probe, NEURALTYPES_DISABLE="on").stdout.split() == ["False", "False", "True"]
    assert _python(probe, NEURALTYPES_DISABLE_SEMANTIC="true").stdout.split() == ["False", "True", "False"]


def test_the_kill_switch_wins_over_a_conf_that_asks_for_checks() -> None:
    probe = (
        "from neuraltypes.runtime import TypecheckConf, typecheck\n"
        "def f(x: int) -> int:\n"
        "    return x\n"
        "print(typecheck(conf=TypecheckConf(enabled=True))(f) is f)\n"
    )
    result = _python(probe, NEURALTYPES_DISABLE="1")
    assert result.stdout.strip() == "True", result.stderr


# -- NeuralTypeAnnotationError --------------------------------------------------------------------------------------
@pytest.mark.parametrize("instrument", [True, False], ids=["instrumented", "wrapper"])
def test_an_annotation_that_is_not_a_type_hint_raises_the_annotation_error_when_decorated(instrument: bool) -> None:
    def total(x: list(), n: 3) -> int:  # type: ignore[valid-type]
        return len(x)

    with pytest.raises(NeuralTypeAnnotationError) as refused:
        typecheck(instrument=instrument)(total)
    assert str(refused.value) == (
        f"{total.__qualname__}: the annotation of parameter 'x' is [], an instance of list, not a type hint "
        "(write a class or a typing form, such as list)"
    )
    assert isinstance(refused.value, TypeError) and not isinstance(refused.value, NeuralTypeError)


def test_a_return_annotation_that_is_not_a_type_hint_raises_the_annotation_error() -> None:
    def answer() -> 42:  # type: ignore[valid-type]
        return 42

    with pytest.raises(NeuralTypeAnnotationError) as refused:
        typecheck(answer)
    assert str(refused.value) == (
        f"{answer.__qualname__}: the annotation of the return value is 42, an instance of int, not a type hint "
        "(write a class or a typing form, such as list)"
    )


class _Counter:
    """A method with no tensor hints: checked as a NeMo-style candidate, whose checks are built on its first call."""

    @typecheck
    def add(self, n: 3) -> int:  # type: ignore[valid-type]
        return 1


def test_a_method_with_an_annotation_that_is_not_a_type_hint_raises_the_annotation_error_on_its_first_call() -> None:
    with pytest.raises(NeuralTypeAnnotationError) as refused:
        _Counter().add(1)
    assert str(refused.value) == (
        "_Counter.add: the annotation of parameter 'n' is 3, an instance of int, not a type hint "
        "(write a class or a typing form, such as list)"
    )


def test_a_conf_that_sets_semantic_checks_for_one_function_is_refused() -> None:
    """The switch belongs to the thread: a decorator cannot honour it, so it says so instead of ignoring it."""

    def f(x: NT[Tensor, "B", LogitsType]) -> None:
        return None

    flipped = TypecheckConf(semantic_checks=not TypecheckConf().semantic_checks)
    with pytest.raises(TypeError, match="semantic_checks is the switch of a thread, not of one function"):
        typecheck(conf=flipped)(f)
