"""Reading NeMo 1.x ``.nemo`` files (a tar of ``model_config.yaml``, ``model_weights.ckpt`` and artifacts).

For migration only, and without NeMo's hazards: members are read in place (never extracted), every member
must be a plain regular, non-sparse file with a safe name, appearing once, within what the file can hold (see
``_tar``); the weights are loaded only through ``torch.load(weights_only=True)`` with no fallback, so a pickle
payload is refused, never run. Artifacts are copied out only when the config refers to them, a chunk at a time.
"""

from __future__ import annotations

import functools
import io
import os
import stat
import tarfile
from collections.abc import Callable, Iterator
from pathlib import PurePosixPath
from typing import IO, BinaryIO, Final

import torch

from ._config_text import parse_config
from ._errors import ArchiveError
from ._format import MAX_CONFIG_BYTES, check_artifact_name
from ._limits import DEFAULT_LIMITS, ArchiveLimits
from ._reader import call_library
from ._source import ArchiveSource, ArtifactMember, WeightSpec
from ._tar import BoundedTar, open_tar

__all__ = ["NEMO_ARTIFACT_REF", "NEMO_CONFIG", "NEMO_WEIGHTS", "looks_like_tar", "open_nemo", "read_nemo_index"]

NEMO_CONFIG: Final = "model_config.yaml"
NEMO_WEIGHTS: Final = "model_weights.ckpt"
#: NeMo's prefix for config values that name an artifact member (``nemo:3f2a..._tokenizer.model``).
NEMO_ARTIFACT_REF: Final = "nemo:"
_CHUNK: Final = 1 << 20


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
    if info.issparse():
        raise ArchiveError(
            f"sparse members are not allowed (this one declares {info.size} bytes that the file does not hold)",
            path=path,
            member=raw,
        )
    if not info.isreg():
        raise ArchiveError("only regular files are allowed in an archive", path=path, member=raw)
    if info.mode & 0o7000:
        raise ArchiveError("setuid, setgid or sticky mode bits are not allowed", path=path, member=raw)
    return name


def _check_bounds(info: tarfile.TarInfo, bounded: BoundedTar, count: int, limits: ArchiveLimits, path: str) -> None:
    """Refuse member number ``count`` if it is one too many or ends past what the file can hold."""
    if count > limits.max_members:
        reason = limits.refusal(f"the archive has more than {limits.max_members} members", "max_members")
        raise ArchiveError(reason, path=path, member=info.name)
    end = info.offset_data + info.size
    if end <= bounded.limit:
        return
    if not bounded.compressed:
        reason = f"it declares {info.size} bytes, which end past the end of the {bounded.file_size}-byte file"
        raise ArchiveError(reason + " (truncated?)", path=path, member=info.name)
    ratio = f"{limits.max_expansion_ratio:g}"
    problem = (
        f"it declares {info.size} bytes: the archive would expand to at least {end} bytes, more than {ratio} "
        f"times its {bounded.file_size} bytes on disk"
    )
    raise ArchiveError(limits.refusal(problem, "max_expansion_ratio"), path=path, member=info.name)


def read_nemo_index(bounded: BoundedTar, path: str, limits: ArchiveLimits) -> dict[str, tarfile.TarInfo]:
    """Check every member of a NeMo tar, before any member's data is read, and return them by normalized name.

    Raises:
        ArchiveError: a link, special file, sparse member, escaping or duplicate name, a member ending past what
            the file can hold (``limits``), too many members, oversize config, missing required member.
    """
    members = _index_members(bounded, path, limits)
    _check_required_members(members, path)
    _check_artifact_names(members, path)
    bounded.index_read()
    return members


def _index_members(bounded: BoundedTar, path: str, limits: ArchiveLimits) -> dict[str, tarfile.TarInfo]:
    """Every member's header, checked one at a time as it is read, by normalized name (directories left out)."""
    members: dict[str, tarfile.TarInfo] = {}
    last_offset = -1
    count = 0
    while (info := call_library(bounded.tar.next, "not a readable tar", path=path)) is not None:
        if info.offset <= last_offset or info.size < 0:  # Python < 3.11.13 can loop forever on these
            raise ArchiveError("corrupt tar header (member offsets go backwards)", path=path, member=info.name)
        last_offset = info.offset
        name = _member_name(info, path)
        count += 1
        _check_bounds(info, bounded, count, limits, path)
        if name == "":
            continue
        if name in members:
            raise ArchiveError("the member name appears twice in the archive", path=path, member=name)
        members[name] = info
    return members


def _check_required_members(members: dict[str, tarfile.TarInfo], path: str) -> None:
    """Refuse an archive without its config and weights, or with a config over the cap."""
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


def _check_artifact_names(members: dict[str, tarfile.TarInfo], path: str) -> None:
    """Refuse a member other than the config and weights whose name is not an artifact's."""
    for name in members:
        if name in (NEMO_CONFIG, NEMO_WEIGHTS):
            continue
        reason = check_artifact_name(name)
        if reason is not None:
            raise ArchiveError(f"unexpected member: {reason}", path=path, member=name)


def _read(tar: tarfile.TarFile, info: tarfile.TarInfo, path: str, name: str) -> bytes:
    def read() -> bytes:
        file = tar.extractfile(info)
        assert file is not None  # a regular member
        data = file.read(info.size + 1)
        if len(data) != info.size:
            raise EOFError(f"expected {info.size} bytes, got {len(data)}")
        return data

    return call_library(read, "cannot be read (truncated?)", path=path, member=name)


def _copier(tar: tarfile.TarFile, info: tarfile.TarInfo, path: str, name: str) -> Callable[[BinaryIO], None]:
    """Copies member ``info`` into a file a chunk at a time."""

    def copy(out: BinaryIO) -> None:
        source = tar.extractfile(info)
        assert source is not None  # a regular member
        left = info.size
        while left:
            read = functools.partial(source.read, min(_CHUNK, left))
            chunk = call_library(read, "cannot be read", path=path, member=name)
            if not chunk:
                raise ArchiveError(
                    f"the file ended after {info.size - left} of {info.size} bytes", path=path, member=name
                )
            out.write(chunk)
            left -= len(chunk)

    return copy


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


def open_nemo(path: str | os.PathLike[str], limits: ArchiveLimits = DEFAULT_LIMITS) -> ArchiveSource:
    """Open a NeMo 1.x archive for restoring; its config is read now, its weights when asked for."""
    shown = os.fspath(path)
    bounded = open_tar(shown, limits)  # kept open until the source is closed (after restore has read it)
    tar = bounded.tar
    try:
        members = read_nemo_index(bounded, shown, limits)
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
        bounded.close()
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
        name: ArtifactMember(name, info.size, _copier(tar, info, shown, name))
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
        close=bounded.close,
    )
