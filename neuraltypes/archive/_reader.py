"""Reading an archive in place: header and manifest checked on open, members hashed as they are read.

The safetensors library validates the header (size, JSON, dtypes, offsets that tile the data exactly, no
trailing bytes) before anything else happens; the manifest's target must be the config's ``_target_``. Members
are then read with ``pread`` straight into the tensors the model will own, in chunks, each chunk hashed while it
is still in the CPU cache, so verifying costs one pass over the data (one copy in RAM, none on disk, no memory
map that a later write to the file could change). Artifacts are copied out a chunk at a time, hashed as copied.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import stat
import struct
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from types import MappingProxyType, TracebackType
from typing import Any, BinaryIO, Final, TypeVar

import torch
from safetensors import safe_open

from ._errors import ArchiveError
from ._format import CONFIG_MEMBER, FORMAT_NAME, META_FORMAT, META_MANIFEST, META_MANIFEST_SHA256
from ._hashing import hash_workers, tensor_bytes
from ._limits import DEFAULT_LIMITS, ArchiveLimits
from ._manifest import Manifest, ManifestError, MemberRecord, sha256_hex
from ._progress import progress_bar
from ._target import check_target

__all__ = ["ArchiveReader", "call_library"]

# safetensors' header dtype codes -> torch dtypes (their names are what the manifest records).
_DTYPES: Final[Mapping[str, torch.dtype]] = MappingProxyType({
    "F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
    "F8_E4M3": torch.float8_e4m3fn, "F8_E5M2": torch.float8_e5m2,
    "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8,
    "U64": torch.uint64, "U32": torch.uint32, "U16": torch.uint16, "U8": torch.uint8,
    "BOOL": torch.bool, "C64": torch.complex64,
})  # fmt: skip
_ALLOWED_METADATA: Final = frozenset({META_FORMAT, META_MANIFEST, META_MANIFEST_SHA256, "format"})
_CHUNK: Final = 8 << 20
_COPY_CHUNK: Final = 1 << 20

_T = TypeVar("_T")


def call_library(call: Callable[[], _T], reason: str, *, path: str, member: str | None = None) -> _T:
    """Run a library call on archive data, turning whatever it raises into an ``ArchiveError``.

    safetensors (Rust) can raise a panic exception that derives from ``BaseException``, so everything but
    interpreter exits (and our own ``ArchiveError``) is caught.
    """
    try:
        return call()
    except (KeyboardInterrupt, SystemExit, GeneratorExit, MemoryError, ArchiveError):
        raise
    except BaseException as error:
        # The message carries the library's error; its traceback (Rust, or the library's internals) tells no more.
        raise ArchiveError(f"{reason}: {type(error).__name__}: {error}", path=path, member=member) from None


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


class ArchiveReader:
    """An open archive whose header and manifest have been checked; use as a context manager.

    With ``mmap=True`` weights are not copied: they are views of a private (copy-on-write) memory map of the
    file, hashed in place. That halves the memory a restore needs (the page cache is the only copy) and skips
    a copy, but the weights stay backed by the file: a later in-place write to it (``cp`` over it; not our own
    ``save_to``, which replaces the file) can change them or, if it truncates the file, crash the process.

    Raises:
        ArchiveError: on open, for a malformed header or manifest, a member missing or unlisted, a manifest over
            ``limits``, or a manifest target that is not the config's ``_target_``.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, mmap: bool = False, limits: ArchiveLimits = DEFAULT_LIMITS
    ) -> None:
        self.path = os.fspath(path)
        self.limits = limits
        self._mapped: torch.Tensor | None = None
        # O_NONBLOCK: opening a FIFO must not wait for a writer (it is then refused as not a regular file).
        self._fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            self.manifest, self._entries, self._data_start = self._open_checked()
            check_target(self.manifest, self.read_config_text(), self.path)
            if mmap:
                self._mapped = self._map()
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> ArchiveReader:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Release the file; the reader cannot read after this."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def error(self, reason: str, member: str | None = None) -> ArchiveError:
        """An ``ArchiveError`` about this archive."""
        return ArchiveError(reason, path=self.path, member=member)

    def _open_checked(self) -> tuple[Manifest, dict[str, dict[str, Any]], int]:
        if not stat.S_ISREG(os.fstat(self._fd).st_mode):
            raise self.error("not a regular file")
        # Validate the very inode we hold open (not the path again, which another process could swap).
        name = f"/proc/self/fd/{self._fd}" if os.path.exists(f"/proc/self/fd/{self._fd}") else self.path
        opener: Any = safe_open
        handle = call_library(
            lambda: opener(name, framework="pt", device="cpu").__enter__(),
            "not a valid archive (its safetensors header was rejected)",
            path=self.path,
        )
        try:
            metadata = call_library(handle.metadata, "unreadable header metadata", path=self.path) or {}
        finally:
            handle.__exit__(None, None, None)
        manifest = self._read_manifest(metadata)
        entries, data_start = self._read_header(len(manifest.members))
        self._check_members(manifest, entries)
        return manifest, entries, data_start

    def _read_manifest(self, metadata: dict[str, str]) -> Manifest:
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
        limit = self.limits.max_manifest_bytes
        if len(text) > limit:
            refusal = self.limits.refusal(f"the manifest is over {limit} bytes", "max_manifest_bytes")
            raise self.error(refusal, member="manifest")
        if sha256_hex(text.encode("utf-8", "surrogatepass")) != metadata.get(META_MANIFEST_SHA256):
            raise self.error("sha256 mismatch: the manifest is corrupt", member="manifest")
        try:
            return Manifest.from_json(text, self.limits)
        except (ManifestError, ValueError) as error:
            raise self.error(str(error), member="manifest") from None

    def _read_header(self, listed: int) -> tuple[dict[str, dict[str, Any]], int]:
        """The header safetensors has just validated, parsed once more to refuse repeated names.

        safetensors keeps the last of two equal tensor names; two readers must never see different files.
        Parsing stops once the header holds far more entries than the manifest lists (``listed``): it costs time
        and memory in proportion to the manifest, which is capped. (A few more are left to be named below.)
        """
        (length,) = struct.unpack("<Q", os.pread(self._fd, 8, 0))
        header = os.pread(self._fd, length, 8)
        objects = 0

        def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
            nonlocal objects
            objects += 1  # one per tensor entry, one for the metadata, one for the header itself
            if objects > 2 * listed + 16:
                raise self.error(f"the header holds far more entries than the {listed} members the manifest lists")
            seen: set[str] = set()
            for key, _ in pairs:
                if key in seen:
                    raise self.error("the member name appears twice in the header", member=key)
                seen.add(key)
            return dict(pairs)

        parsed = call_library(lambda: json.loads(header, object_pairs_hook=no_duplicates), "bad header", path=self.path)
        parsed.pop("__metadata__", None)
        return parsed, 8 + length

    def _check_members(self, manifest: Manifest, entries: dict[str, dict[str, Any]]) -> None:
        for record in manifest.members:
            if record.name not in entries:
                raise self.error("listed in the manifest but missing from the archive (truncated?)", record.name)
        listed = {record.name for record in manifest.members}
        for name in sorted(set(entries) - listed):
            raise self.error("not listed in the manifest", name)
        for record in manifest.members:
            entry = entries[record.name]
            dtype = _DTYPES.get(entry["dtype"])
            shown = entry["dtype"] if dtype is None else _dtype_name(dtype)
            shape = tuple(entry["shape"])
            if (shown, shape) != (record.dtype, record.shape):
                raise self.error(
                    f"the manifest says {record.dtype} {list(record.shape)} but the data is {shown} {list(shape)}",
                    record.name,
                )

    def _map(self) -> torch.Tensor:
        size = os.fstat(self._fd).st_size
        name = f"/proc/self/fd/{self._fd}" if os.path.exists(f"/proc/self/fd/{self._fd}") else self.path
        storage: Any = call_library(
            lambda: torch.UntypedStorage.from_file(name, shared=False, nbytes=size), "cannot be mapped", path=self.path
        )
        return torch.empty(0, dtype=torch.uint8).set_(storage)

    def _read_member(self, record: MemberRecord) -> tuple[torch.Tensor, str]:
        """Read one member into a new tensor (or map it), hashing chunk by chunk; returns it and its sha256."""
        start, end = self._entries[record.name]["data_offsets"]
        dtype = _DTYPES[self._entries[record.name]["dtype"]]
        digest = hashlib.sha256()
        if self._mapped is not None:
            flat = self._mapped[self._data_start + start : self._data_start + end]
            view = flat.numpy().data
            for offset in range(0, len(view), _CHUNK):
                digest.update(view[offset : offset + _CHUNK])
            if (self._data_start + start) % dtype.itemsize:
                flat = flat.clone()  # misaligned for its dtype (a file not written by safetensors): copy it
            return flat.view(dtype).reshape(record.shape), digest.hexdigest()
        flat = torch.empty(end - start, dtype=torch.uint8)
        view = flat.numpy().data
        offset = 0
        while offset < len(view):
            chunk = view[offset : offset + _CHUNK]
            count = os.preadv(self._fd, [chunk], self._data_start + start + offset)
            if count <= 0:
                raise self.error("the file ended while reading (truncated while open?)", record.name)
            digest.update(chunk[:count])
            offset += count
        return flat.view(dtype).reshape(record.shape), digest.hexdigest()

    def _verify(self, record: MemberRecord, digest: str) -> None:
        if digest != record.sha256:
            raise self.error(
                f"sha256 mismatch, the archive is corrupt (manifest {record.sha256[:16]}..., data {digest[:16]}...)",
                record.name,
            )

    def _byte_member(self, name: str) -> MemberRecord:
        record = self.manifest.member(name)
        if record is None or record.kind == "weight":
            raise self.error("no such byte member", name)
        return record

    def read_bytes(self, name: str) -> bytes:
        """A byte member (the config, an artifact), verified against its sha256."""
        record = self._byte_member(name)
        tensor, digest = self._read_member(record)
        self._verify(record, digest)
        return bytes(tensor_bytes(tensor))

    def copy_member(self, name: str, out: BinaryIO | None) -> None:
        """Copy a byte member into ``out`` (or only hash it) a chunk at a time, then check its sha256.

        Memory stays at one chunk however large the member. The bytes are written before the last chunk is
        hashed, so on a mismatch (``ArchiveError``) the caller discards what was written.
        """
        record = self._byte_member(name)
        start, end = self._entries[name]["data_offsets"]
        digest = hashlib.sha256()
        buffer = memoryview(bytearray(min(_COPY_CHUNK, end - start)))
        offset = self._data_start + start
        while offset < self._data_start + end:
            count = os.preadv(self._fd, [buffer[: self._data_start + end - offset]], offset)
            if count <= 0:
                raise self.error("the file ended while reading (truncated while open?)", name)
            digest.update(buffer[:count])
            if out is not None:
                out.write(buffer[:count])
            offset += count
        self._verify(record, digest.hexdigest())

    def read_config_text(self) -> str:
        """The stored config YAML, verified."""
        try:
            return self.read_bytes(CONFIG_MEMBER).decode("utf-8")
        except UnicodeDecodeError as error:
            raise self.error(f"the config is not UTF-8: {error}", CONFIG_MEMBER) from None

    def iter_weights(self, progress: bool | None = None) -> Iterator[tuple[str, torch.Tensor]]:
        """Read every weight (in archive order), each verified against its sha256 before it is yielded.

        Several weights are read at once by a few threads (``pread`` and ``hashlib`` release the GIL).
        """
        records = self.manifest.weights
        workers = hash_workers()
        with progress_bar(sum(r.size for r in records), "restoring", progress) as bar:
            if workers == 1:
                for record in records:
                    tensor, digest = self._read_member(record)
                    self._verify(record, digest)
                    bar.update(record.size)
                    yield record.name, tensor
                return
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="neuraltypes-read") as pool:
                pending: list[tuple[MemberRecord, Future[tuple[torch.Tensor, str]]]] = []
                queue = iter(records)
                for record in queue:
                    pending.append((record, pool.submit(functools.partial(self._read_member, record))))
                    if len(pending) >= 2 * workers:
                        break
                while pending:
                    record, future = pending.pop(0)
                    tensor, digest = future.result()
                    self._verify(record, digest)
                    bar.update(record.size)
                    following = next(queue, None)
                    if following is not None:
                        pending.append((following, pool.submit(functools.partial(self._read_member, following))))
                    yield record.name, tensor

    def verify(self, progress: bool | None = None) -> None:
        """Read and check every member; raises ``ArchiveError`` at the first bad one."""
        for record in self.manifest.members:
            if record.kind != "weight":
                self.copy_member(record.name, None)
        for _ in self.iter_weights(progress):
            pass
