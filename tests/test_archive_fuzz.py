"""Mutated archives: the reader restores the identical model or raises ArchiveError; nothing else, no hang."""

from __future__ import annotations

import contextlib
import json
import signal
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import pytest
import torch
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from test_archive_support import TiedModel, TinyModel, same_weights

from neuraltypes.archive import ArchiveError

_SECONDS_PER_EXAMPLE = 10


@contextlib.contextmanager
def no_hang(seconds: int) -> Iterator[None]:
    """Fail (instead of hanging the suite) if the body runs longer than ``seconds``."""

    def expire(signum: int, frame: FrameType | None) -> None:
        raise TimeoutError(f"the reader hung for more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture(scope="module")
def originals(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[torch.nn.Module, bytes]]:
    folder = tmp_path_factory.mktemp("originals")
    result: dict[str, tuple[torch.nn.Module, bytes]] = {}
    for name, model in {"tiny": TinyModel(3, 5), "tied": TiedModel(6, 3)}.items():
        model.save_to(folder / f"{name}.nta")
        result[name] = (model, (folder / f"{name}.nta").read_bytes())
    return result


def _header_end(data: bytes) -> int:
    return 8 + int.from_bytes(data[:8], "little")


Mutation = tuple[str, int, int, bytes]


def mutations() -> st.SearchStrategy[list[Mutation]]:
    position = st.integers(0, 1 << 16)  # taken modulo the archive's length (header bias below)
    kinds = st.sampled_from(["flip", "set", "truncate", "insert", "delete", "flip-header", "set-header"])
    return st.lists(
        st.tuples(kinds, position, st.integers(0, 255), st.binary(min_size=1, max_size=8)), min_size=1, max_size=3
    )


def mutate(data: bytes, steps: list[Mutation]) -> bytes:
    buffer = bytearray(data)
    for kind, where, value, blob in steps:
        if not buffer:
            break
        header = max(1, min(len(buffer), _header_end(data)))
        at = where % (header if kind.endswith("header") else len(buffer))
        if kind.startswith("flip"):
            buffer[at] ^= 1 << (value % 8)
        elif kind.startswith("set"):
            buffer[at] = value
        elif kind == "truncate":
            del buffer[at:]
        elif kind == "insert":
            buffer[at:at] = blob
        else:
            del buffer[at : at + 1 + value % 16]
    return bytes(buffer)


@settings(
    max_examples=2500,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(which=st.sampled_from(["tiny", "tied"]), steps=mutations(), mmap=st.booleans())
def test_a_mutated_archive_restores_identically_or_raises_archive_error(
    tmp_path: Path,
    originals: dict[str, tuple[torch.nn.Module, bytes]],
    which: str,
    steps: list[Mutation],
    mmap: bool,
) -> None:
    model, data = originals[which]
    mutated = mutate(data, steps)
    path = tmp_path / f"fuzz-{which}.nta"
    path.write_bytes(mutated)
    with no_hang(_SECONDS_PER_EXAMPLE), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            restored = type(model).restore_from(path, mmap=mmap)  # type: ignore[attr-defined]
        except ArchiveError as error:
            event(f"refused: {error.reason.split(':')[0][:40]}")
            return
    event("restored")
    assert type(restored) is type(model)
    assert same_weights(model, restored)


def edit_header(data: bytes, entry: int, field: str, value: object) -> bytes:
    """The archive with one field of one header entry replaced (the header re-serialized, data kept)."""
    length = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + length])
    names = sorted(header)
    header[names[entry % len(names)]][field] = value
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    return len(text).to_bytes(8, "little") + text + data[8 + length :]


header_values = st.one_of(
    st.sampled_from(["F32", "F16", "BF16", "U8", "I64", "BOOL", "F64", "X9", ""]),
    st.lists(st.integers(-2, 70), max_size=3),
    st.integers(-1, 1 << 20),
    st.text(max_size=8),
    st.none(),
    st.dictionaries(st.sampled_from(["neuraltypes.format", "neuraltypes.manifest", "x"]), st.text(max_size=8)),
)


@settings(
    max_examples=800,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    entry=st.integers(0, 20),
    field=st.sampled_from(["dtype", "shape", "data_offsets"]),
    value=header_values,
    mmap=st.booleans(),
)
def test_an_edited_header_restores_identically_or_raises_archive_error(
    tmp_path: Path,
    originals: dict[str, tuple[torch.nn.Module, bytes]],
    entry: int,
    field: str,
    value: object,
    mmap: bool,
) -> None:
    model, data = originals["tiny"]
    path = tmp_path / "edited.nta"
    path.write_bytes(edit_header(data, entry, field, value))
    with no_hang(_SECONDS_PER_EXAMPLE), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            restored = TinyModel.restore_from(path, mmap=mmap)
        except ArchiveError as error:
            event(f"refused: {error.reason.split(':')[0][:40]}")
            return
    event("restored")
    assert same_weights(model, restored)


def test_mutate_changes_the_bytes() -> None:
    data = bytes(range(64)) * 4
    assert mutate(data, [("flip", 70, 3, b"x")]) != data
    assert mutate(data, [("truncate", 10, 0, b"x")]) == data[:10]
