"""Mistakes in what a user wrote are one clear line, raised from the user's own call.

An element type's name given as a string is not reported as an unknown dtype, a misspelt name gets the name
meant, and a bad axes string, a bad argument to ``NeuralType`` or a bad archive ends its traceback at the
public call (the frames of our parser and reader would only bury the message).
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from pathlib import Path

import pytest
from test_archive_support import TypedModel
from torch import Tensor

from neuraltypes import NT, LogitsType, NeuralType, parse_axes
from neuraltypes.archive import ArchiveError, archived_config
from neuraltypes.core import AxesSyntaxError, ElementType, meant_name

HERE = Path(__file__).name


def _frames_below_the_test(call: Callable[[], object]) -> tuple[BaseException, list[str]]:
    """The exception ``call`` raises and the functions its traceback goes through after this test's frame."""
    with pytest.raises(Exception) as caught:
        call()
    frames = traceback.extract_tb(caught.value.__traceback__)
    inside = [frame for frame in frames if Path(frame.filename).name != HERE]
    return caught.value, [frame.name for frame in inside]


@pytest.mark.parametrize(
    ("dtype", "message"),
    [
        ("LogitType", "unknown dtype 'LogitType': did you mean the element type LogitsType? Write the class "
         "LogitsType, not a string"),
        ("LogitsType", "'LogitsType' is an element type, not a dtype: write the class LogitsType, not its name in "
         "a string"),
        ("probs", "unknown dtype 'probs': did you mean the element type ProbsType? Write the class ProbsType, not "
         "a string"),
        ("flaot32", "unknown dtype 'flaot32': expected a family (bool, complex, float, int, number, sint, uint) or a "
         "name such as 'float32'; did you mean 'float32'?"),
        ("quaternion", "unknown dtype 'quaternion': expected a family (bool, complex, float, int, number, sint, "
         "uint) or a name such as 'float32'"),
    ],
)  # fmt: skip
def test_a_string_in_nt_that_names_an_element_type_is_reported_as_one(dtype: str, message: str) -> None:
    error, frames = _frames_below_the_test(lambda: NT[Tensor, "B T", dtype])
    assert (type(error), str(error)) == (ValueError, message)
    assert frames[-1] == "__init__" and len(frames) <= 3  # NT's own two frames, then NeuralType's


def test_an_element_type_defined_by_the_program_is_suggested_too() -> None:
    class AttentionWeights(ElementType):
        """Attention weights."""

    assert meant_name("AttentionWeight") == "AttentionWeights"
    assert meant_name("Float") == "float" and meant_name("nothing like it") is None


@pytest.mark.parametrize(
    ("element", "message"),
    [
        ("LogitsType", "elements_type of NeuralType must be an ElementType instance, not the string 'LogitsType': "
         "write LogitsType()"),
        ("LogitType", "elements_type of NeuralType must be an ElementType instance, not the string 'LogitType': "
         "did you mean LogitsType()?"),
        ("logits please", "elements_type of NeuralType must be an ElementType instance such as LogitsType(), not the "
         "string 'logits please'"),
        (LogitsType, "elements_type of NeuralType must be an instance of a class derived from ElementType. Did you "
         "pass a class instead? Write LogitsType()"),
        (3, "elements_type of NeuralType must be an instance of a class derived from ElementType, not int 3"),
    ],
)  # fmt: skip
def test_neural_type_names_the_element_type_to_write(element: object, message: str) -> None:
    error, frames = _frames_below_the_test(lambda: NeuralType("B T", element))  # type: ignore[arg-type]
    assert (type(error), str(error)) == (ValueError, message)
    assert frames == ["__init__"]


@pytest.mark.parametrize("axes", ["B (T", ("B", "T T"), "B T,C"])
def test_malformed_axes_given_to_neural_type_raise_from_the_call(axes: str | tuple[str, ...]) -> None:
    error, frames = _frames_below_the_test(lambda: NeuralType(axes, LogitsType()))
    assert isinstance(error, ValueError)
    assert frames == ["__init__"]


def test_malformed_axes_raise_from_parse_axes_and_nt() -> None:
    error, frames = _frames_below_the_test(lambda: parse_axes("B T+"))
    assert isinstance(error, AxesSyntaxError) and frames == ["parse_axes"]
    error, frames = _frames_below_the_test(lambda: NT[Tensor, "B (T+1", LogitsType])
    assert isinstance(error, AxesSyntaxError) and frames[-1] == "parse_axes" and len(frames) <= 3


@pytest.fixture
def archives(tmp_path: Path) -> Path:
    TypedModel(4, 8).save_to(tmp_path / "good.nta")
    data = bytearray((tmp_path / "good.nta").read_bytes())
    data[-10] ^= 0xFF
    (tmp_path / "corrupt.nta").write_bytes(bytes(data))
    (tmp_path / "junk.nta").write_bytes(b"not an archive")
    return tmp_path


@pytest.mark.parametrize("name", ["corrupt.nta", "junk.nta"])
def test_a_bad_archive_is_one_line_raised_from_restore_from(archives: Path, name: str) -> None:
    error, frames = _frames_below_the_test(lambda: TypedModel.restore_from(archives / name))
    assert isinstance(error, ArchiveError) and "\n" not in str(error)
    assert frames == ["restore_from"]
    assert error.__cause__ is None  # nothing but the message to show
    shown = "".join(traceback.format_exception(error))
    assert shown.count("Traceback (most recent call last)") == 1


@pytest.mark.parametrize("name", ["junk.nta", "missing.nta"])
def test_archive_helpers_raise_from_the_call_too(archives: Path, name: str) -> None:
    error, frames = _frames_below_the_test(lambda: archived_config(archives / name))
    assert isinstance(error, ArchiveError | FileNotFoundError) and frames == ["archived_config"]
    error, frames = _frames_below_the_test(
        lambda: TypedModel.extract_state_dict_from(archives / name, archives / "weights")
    )
    assert isinstance(error, ArchiveError | FileNotFoundError) and frames == ["extract_state_dict_from"]


def test_a_model_that_fails_to_build_keeps_its_own_traceback(archives: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the constructor's own bug")

    monkeypatch.setattr(TypedModel, "from_config_dict", classmethod(broken))
    error, frames = _frames_below_the_test(lambda: TypedModel.restore_from(archives / "good.nta"))
    assert isinstance(error, ArchiveError) and frames == ["restore_from"]
    assert isinstance(error.__cause__, RuntimeError)  # chained on purpose: where the user's code failed
