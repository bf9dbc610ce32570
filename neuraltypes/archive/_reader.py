"""Reading an archive in place: header and manifest checked on open, members verified as they are read.

Nothing is extracted: weights are read with ``pread`` straight into the tensors the model will own (one copy
in RAM, none on disk) and hashed while reading; the config and artifacts are small byte members.
"""

from __future__ import annotations

import functools
import json
import os
import stat
import struct
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any, Final, TypeVar

import torch
from safetensors import safe_open

from ._errors import ArchiveError
from ._format import CONFIG_MEMBER, FORMAT_NAME, MAX_MANIFEST_BYTES, META_FORMAT, META_MANIFEST, META_MANIFEST_SHA256
from ._hashing import hash_workers, parallel_sha256, tensor_bytes
from ._manifest import Manifest, ManifestError, MemberRecord, sha256_hex
from ._progress import progress_bar

__all__ = ["ArchiveReader", "call_library"]

# safetensors' header dtype codes -> torch's dtype names used in the manifest.
_SAFETENSORS_DTYPES: Final = {
    "F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16",
    "F8_E4M3": "float8_e4m3fn", "F8_E5M2": "float8_e5m2",
    "I64": "int64", "I32": "int32", "I16": "int16", "I8": "int8",
    "U64": "uint64", "U32": "uint32", "U16": "uint16", "U8": "uint8",
    "BOOL": "bool", "C64": "complex64",
}  # fmt: skip
_ALLOWED_METADATA: Final = frozenset({META_FORMAT, META_MANIFEST, META_MANIFEST_SHA256, "format"})

_T = TypeVar("_T")


def call_library(call: Callable[[], _T], reason: str, *, path: str, member: str | None = None) -> _T:
    """Run a library call on archive data, turning whatever it raises into an ``ArchiveError``.

    safetensors (Rust) can raise a panic exception that derives from ``BaseException``, so everything but
    interpreter exits is caught.
    """
    try:
        return call()
    except (KeyboardInterrupt, SystemExit, GeneratorExit, MemoryError, ArchiveError):
        raise
    except BaseException as error:
        raise ArchiveError(f"{reason}: {type(error).__name__}: {error}", path=path, member=member) from error


class ArchiveReader:
    """An open archive whose header and manifest have been checked; use as a context manager."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self._fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        self._handle: Any = None
        try:
            self._handle, self.manifest = self._open_checked()
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> ArchiveReader:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Release the file; the reader cannot read after this."""
        if self._handle is not None:
            self._handle.__exit__(None, None, None)
            self._handle = None
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def error(self, reason: str, member: str | None = None) -> ArchiveError:
        """An ``ArchiveError`` about this archive."""
        return ArchiveError(reason, path=self.path, member=member)

    def _open_checked(self) -> tuple[Any, Manifest]:
        info = os.fstat(self._fd)
        if not stat.S_ISREG(info.st_mode):
            raise self.error("not a regular file")
        # Open the same inode we just checked (not the path again, which another process could swap).
        name = f"/proc/self/fd/{self._fd}" if os.path.exists(f"/proc/self/fd/{self._fd}") else self.path
        opener: Any = safe_open
        handle = call_library(
            lambda: opener(name, framework="pt", device="cpu", backend="pread").__enter__(),
            "not a valid archive (its safetensors header was rejected)",
            path=self.path,
        )
        try:
            manifest = self._read_manifest(handle)
            self._check_header_names()
            self._check_members(handle, manifest)
        except BaseException:
            handle.__exit__(None, None, None)
            raise
        return handle, manifest

    def _read_manifest(self, handle: Any) -> Manifest:
        metadata = call_library(handle.metadata, "unreadable header metadata", path=self.path) or {}
        if metadata.get(META_FORMAT) != FORMAT_NAME:
            raise self.error(
                "not a neuraltypes archive: its safetensors header has no neuraltypes manifest (a plain "
                "safetensors file holds weights only; load it with safetensors)"
            )
        unknown = sorted(set(metadata) - _ALLOWED_METADATA)
        if unknown:
            raise self.error(f"unexpected header metadata key {unknown[0]!r}", member="manifest")
        text = metadata.get(META_MANIFEST)
        if not isinstance(text, str):
            raise self.error("the manifest is missing", member="manifest")
        if len(text) > MAX_MANIFEST_BYTES:
            raise self.error(f"the manifest exceeds the {MAX_MANIFEST_BYTES}-byte cap", member="manifest")
        if sha256_hex(text.encode("utf-8", "surrogatepass")) != metadata.get(META_MANIFEST_SHA256):
            raise self.error("sha256 mismatch: the manifest is corrupt", member="manifest")
        try:
            return Manifest.from_json(text)
        except (ManifestError, ValueError) as error:
            raise self.error(str(error), member="manifest") from None

    def _check_header_names(self) -> None:
        # safetensors keeps the last of two equal tensor names; refuse them so no reader can see another file.
        (length,) = struct.unpack("<Q", os.pread(self._fd, 8, 0))
        header = os.pread(self._fd, length, 8)

        def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
            seen: set[str] = set()
            for key, _ in pairs:
                if key in seen:
                    raise self.error("the member name appears twice in the header", member=key)
                seen.add(key)
            return dict(pairs)

        call_library(lambda: json.loads(header, object_pairs_hook=no_duplicates), "bad header", path=self.path)

    def _check_members(self, handle: Any, manifest: Manifest) -> None:
        present = set(call_library(handle.keys, "unreadable header", path=self.path))
        for record in manifest.members:
            if record.name not in present:
                raise self.error("listed in the manifest but missing from the archive (truncated?)", record.name)
        listed = {record.name for record in manifest.members}
        for name in sorted(present - listed):
            raise self.error("not listed in the manifest", name)
        for record in manifest.members:
            view = call_library(
                functools.partial(handle.get_slice, record.name), "unreadable", path=self.path, member=record.name
            )
            dtype = _SAFETENSORS_DTYPES.get(view.get_dtype(), view.get_dtype())
            shape = tuple(view.get_shape())
            if (dtype, shape) != (record.dtype, record.shape):
                raise self.error(
                    f"the manifest says {record.dtype} {list(record.shape)} but the data is {dtype} {list(shape)}",
                    record.name,
                )

    def _read_tensor(self, name: str) -> torch.Tensor:
        tensor: torch.Tensor = call_library(
            lambda: self._handle.get_tensor(name), "cannot be read", path=self.path, member=name
        )
        return tensor

    def _verify(self, record: MemberRecord, digest: str) -> None:
        if digest != record.sha256:
            raise self.error(
                f"sha256 mismatch, the archive is corrupt (manifest {record.sha256[:16]}..., data {digest[:16]}...)",
                record.name,
            )

    def read_bytes(self, name: str) -> bytes:
        """A byte member (the config, an artifact), verified against its sha256."""
        record = self.manifest.member(name)
        if record is None or record.kind == "weight":
            raise self.error("no such byte member", name)
        data = bytes(tensor_bytes(self._read_tensor(name)))
        self._verify(record, sha256_hex(data))
        return data

    def read_config_text(self) -> str:
        """The stored config YAML, verified."""
        try:
            return self.read_bytes(CONFIG_MEMBER).decode("utf-8")
        except UnicodeDecodeError as error:
            raise self.error(f"the config is not UTF-8: {error}", CONFIG_MEMBER) from None

    def iter_weights(self, progress: bool | None = None) -> Iterator[tuple[str, torch.Tensor]]:
        """Read every weight (in archive order), each verified against its sha256 before it is yielded."""
        records = {record.name: record for record in self.manifest.weights}
        total = sum(record.size for record in records.values())
        with progress_bar(total, "restoring", progress) as bar:
            reads = ((name, self._read_tensor(name)) for name in records)
            for name, tensor, digest in parallel_sha256(reads, hash_workers()):
                self._verify(records[name], digest)
                bar.update(records[name].size)
                yield name, tensor

    def verify(self, progress: bool | None = None) -> None:
        """Read and check every member; raises ``ArchiveError`` at the first bad one."""
        for record in self.manifest.members:
            if record.kind != "weight":
                self.read_bytes(record.name)
        for _ in self.iter_weights(progress):
            pass
