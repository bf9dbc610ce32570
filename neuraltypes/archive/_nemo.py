"""Reading NeMo 1.x ``.nemo`` files (a tar of ``model_config.yaml``, ``model_weights.ckpt`` and artifacts).

For migration only, and without NeMo's hazards: members are read in place (never extracted), every member
must be a plain regular file with a safe name, appearing once; the weights are loaded only through
``torch.load(weights_only=True)`` with no fallback, so a pickle payload is refused, never run.
"""

from __future__ import annotations

import io
import os
import stat
import tarfile
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import IO, Final

import torch

from ._config_text import parse_config
from ._errors import ArchiveError
from ._format import MAX_ARTIFACT_BYTES, MAX_CONFIG_BYTES, check_artifact_name
from ._reader import call_library
from ._source import ArchiveSource, WeightSpec

__all__ = ["NEMO_ARTIFACT_REF", "NEMO_CONFIG", "NEMO_WEIGHTS", "looks_like_tar", "open_nemo", "read_nemo_index"]

NEMO_CONFIG: Final = "model_config.yaml"
NEMO_WEIGHTS: Final = "model_weights.ckpt"
#: NeMo's prefix for config values that name an artifact member (``nemo:3f2a..._tokenizer.model``).
NEMO_ARTIFACT_REF: Final = "nemo:"


def looks_like_tar(path: str | os.PathLike[str]) -> bool:
    """Whether the file starts like a tar (``ustar`` magic) or a gzip stream (NeMo wrote both).

    Raises:
        ArchiveError: the path is not a regular file (a FIFO or device would block or never end).
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ArchiveError("not a regular file", path=os.fspath(path))
        head = os.pread(fd, 512, 0)
    finally:
        os.close(fd)
    return head[:2] == b"\x1f\x8b" or head[257:262] == b"ustar"


def _member_name(info: tarfile.TarInfo, path: str) -> str:
    raw = info.name
    parts = PurePosixPath(raw).parts
    if raw.startswith("/") or ".." in parts or "\\" in raw:
        raise ArchiveError(
            "member path escapes the archive (absolute or '..'); refusing the archive", path=path, member=raw
        )
    name = "/".join(part for part in parts if part != ".")
    if info.issym() or info.islnk():
        raise ArchiveError("links are not allowed; an archive holds regular files only", path=path, member=raw)
    if info.isdir() and name == "":
        return ""
    if not info.isreg():
        raise ArchiveError("only regular files are allowed in an archive", path=path, member=raw)
    if info.mode & 0o7000:
        raise ArchiveError("setuid, setgid or sticky mode bits are not allowed", path=path, member=raw)
    return name


def read_nemo_index(tar: tarfile.TarFile, path: str) -> dict[str, tarfile.TarInfo]:
    """Check every member of a NeMo tar and return them by normalized name.

    Raises:
        ArchiveError: a link, special file, escaping or duplicate name, oversize config, missing required member.
    """
    members: dict[str, tarfile.TarInfo] = {}
    last_offset = -1
    while True:
        info = call_library(tar.next, "not a readable tar", path=path)
        if info is None:
            break
        if info.offset <= last_offset or info.size < 0:  # Python < 3.11.13 can loop forever on these
            raise ArchiveError("corrupt tar header (member offsets go backwards)", path=path, member=info.name)
        last_offset = info.offset
        name = _member_name(info, path)
        if name == "":
            continue
        if name in members:
            raise ArchiveError("the member name appears twice in the archive", path=path, member=name)
        members[name] = info
    for required in (NEMO_CONFIG, NEMO_WEIGHTS):
        if required not in members:
            raise ArchiveError(
                "required member is missing (truncated, or not a NeMo archive)", path=path, member=required
            )
    if members[NEMO_CONFIG].size > MAX_CONFIG_BYTES:
        raise ArchiveError(
            f"{members[NEMO_CONFIG].size} bytes exceeds the {MAX_CONFIG_BYTES}-byte config cap",
            path=path,
            member=NEMO_CONFIG,
        )
    for name, info in members.items():
        if name in (NEMO_CONFIG, NEMO_WEIGHTS):
            continue
        reason = check_artifact_name(name)
        if reason is not None:
            raise ArchiveError(f"unexpected member: {reason}", path=path, member=name)
        if info.size > MAX_ARTIFACT_BYTES:
            raise ArchiveError(
                f"{info.size} bytes exceeds the {MAX_ARTIFACT_BYTES}-byte artifact cap", path=path, member=name
            )
    return members


def _read(tar: tarfile.TarFile, info: tarfile.TarInfo, path: str, name: str) -> bytes:
    def read() -> bytes:
        file = tar.extractfile(info)
        assert file is not None  # a regular member
        data = file.read(info.size + 1)
        if len(data) != info.size:
            raise EOFError(f"expected {info.size} bytes, got {len(data)}")
        return data

    return call_library(read, "cannot be read (truncated?)", path=path, member=name)


def _load_weights(tar: tarfile.TarFile, info: tarfile.TarInfo, path: str) -> dict[str, torch.Tensor]:
    def load() -> object:
        file: IO[bytes] | None = tar.extractfile(info)
        assert file is not None
        return torch.load(file if file.seekable() else io.BytesIO(file.read()), map_location="cpu", weights_only=True)

    state = call_library(
        load, "refused by torch.load(weights_only=True) (pickled code is never run)", path=path, member=NEMO_WEIGHTS
    )
    if not isinstance(state, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise ArchiveError("the checkpoint is not a state dict of named tensors", path=path, member=NEMO_WEIGHTS)
    return state


def open_nemo(path: str | os.PathLike[str]) -> ArchiveSource:
    """Open a NeMo 1.x archive for restoring; its config is read now, its weights when asked for."""
    shown = os.fspath(path)
    # Kept open until the source is closed (after restore has read what it needs).
    tar = call_library(lambda: tarfile.open(shown, mode="r:*"), "not a readable tar", path=shown)  # noqa: SIM115
    try:
        members = read_nemo_index(tar, shown)
        raw = _read(tar, members[NEMO_CONFIG], shown, NEMO_CONFIG)
        try:
            config = parse_config(raw.decode("utf-8"), what=NEMO_CONFIG)
        except UnicodeDecodeError as error:
            raise ArchiveError(f"the config is not UTF-8: {error}", path=shown, member=NEMO_CONFIG) from None
        except ArchiveError as error:
            raise ArchiveError(error.reason, path=shown, member=error.member) from None
        # NeMo's ``target`` names a NeMo class; restore builds the class it is called on instead.
        config.pop("target", None)
    except BaseException:
        tar.close()
        raise
    cache: dict[str, dict[str, torch.Tensor]] = {}

    def state() -> dict[str, torch.Tensor]:
        if "weights" not in cache:
            cache["weights"] = _load_weights(tar, members[NEMO_WEIGHTS], shown)
        return cache["weights"]

    def specs() -> dict[str, WeightSpec]:
        return {name: (str(t.dtype).removeprefix("torch."), tuple(t.shape)) for name, t in state().items()}

    def read_weights() -> Iterator[tuple[str, torch.Tensor]]:
        weights = state()
        cache.clear()
        yield from weights.items()

    artifacts = {
        name: (lambda info=info, name=name: _read(tar, info, shown, name))
        for name, info in members.items()
        if name not in (NEMO_CONFIG, NEMO_WEIGHTS)
    }
    return ArchiveSource(
        path=shown,
        config=config,
        config_member=NEMO_CONFIG,
        artifact_prefix=NEMO_ARTIFACT_REF,
        artifacts=artifacts,
        weight_specs=specs,
        read_weights=read_weights,
        close=tar.close,
    )
