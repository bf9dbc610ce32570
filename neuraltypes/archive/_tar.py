"""Opening a tar (NeMo's ``.nemo``) so that what it may cost to read is bounded by its size on disk.

A plain tar holds its members' bytes, so nothing in it may reach past the end of the file; a gzip-compressed one
may expand, but only ``max_expansion_ratio`` times its size on disk. The (decompressed) stream refuses to be read
or sought past that bound, so that a member's declared size cannot make a small file cost gigabytes of disk or
time. ``tarfile`` reads a PAX or GNU long-name header whole, into a buffer of its declared size, before the member
is seen: until the index is read (``BoundedTar.index_read``), no single read may exceed ``MAX_HEADER_BYTES``.
Only plain and gzip tars are opened (NeMo wrote both); no other decompressor is ever run.
"""

from __future__ import annotations

import functools
import gzip
import os
import stat
import sys
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, BinaryIO, Final, cast

from ._errors import ArchiveError
from ._limits import ArchiveLimits
from ._reader import call_library

__all__ = ["MAX_HEADER_BYTES", "BoundedTar", "open_tar"]

#: The largest read while member headers are parsed (real PAX headers hold a long name: a few KiB).
MAX_HEADER_BYTES: Final = 1 << 20


class _BoundedStream:
    """A seekable stream that raises ``refusal()`` instead of reading or seeking past ``limit``.

    While ``read_cap`` is set, a read of more bytes than that is refused too (a tar header claiming to be huge).
    """

    def __init__(self, inner: BinaryIO | gzip.GzipFile, limit: int, path: str, refusal: str) -> None:
        self._inner = inner
        self._limit = limit
        self._path = path
        self._refusal = refusal
        self.read_cap: int | None = MAX_HEADER_BYTES

    def read(self, size: int = -1) -> bytes:
        if self.read_cap is not None and not 0 <= size <= self.read_cap:
            reason = f"a tar header of {size} bytes; real ones are under {self.read_cap} (a few KiB)"
            raise ArchiveError(reason, path=self._path)
        allowed = self._limit - self._inner.tell()
        data = self._inner.read(allowed + 1 if size < 0 or size > allowed else size)
        if len(data) > allowed:
            raise ArchiveError(self._refusal, path=self._path)
        return data

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        target = offset + (self._inner.tell() if whence == os.SEEK_CUR else 0)
        if whence == os.SEEK_END or target > self._limit:
            raise ArchiveError(self._refusal, path=self._path)
        return self._inner.seek(target)

    def tell(self) -> int:
        return self._inner.tell()

    def seekable(self) -> bool:
        return True

    def close(self) -> None:
        self._inner.close()


@dataclass
class BoundedTar:
    """An open tar and the bound on it: no member may end past ``limit`` bytes into its (decompressed) stream.

    Attributes:
        tar: the tar, read through a stream that enforces ``limit``.
        file_size: the file's size on disk.
        compressed: whether it is gzip-compressed (``limit`` is then ``max_expansion_ratio * file_size``).
        limit: how far into the tar's stream anything may reach.
        close: releases the file.
    """

    tar: tarfile.TarFile
    file_size: int
    compressed: bool
    limit: int
    close: Callable[[], None]
    _stream: _BoundedStream

    def index_read(self) -> None:
        """Every header has been read: lift the cap on a single read, for members' data."""
        self._stream.read_cap = None


def open_tar(path: str, limits: ArchiveLimits) -> BoundedTar:
    """Open a plain or gzip tar, bounded as the module says.

    Raises:
        ArchiveError: not a regular file, or not a readable tar (including a stream that expands too far).
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    raw: BinaryIO = os.fdopen(fd, "rb")
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ArchiveError("not a regular file", path=path)
        size = os.fstat(fd).st_size
        compressed = os.pread(fd, 2, 0) == b"\x1f\x8b"
        limit, reason = size, f"the tar reaches past the end of its {size}-byte file (truncated?)"
        if compressed:
            limit = int(min(size * limits.max_expansion_ratio, sys.maxsize))  # a ratio of inf: no bound
            ratio = f"{limits.max_expansion_ratio:g}"
            problem = f"it expands to more than {limit} bytes, {ratio} times its {size} bytes on disk"
            reason = limits.refusal(problem, "max_expansion_ratio")
        inner = gzip.GzipFile(fileobj=raw, mode="rb") if compressed else raw
        stream = _BoundedStream(inner, limit, path, reason)
        # Kept open until the caller closes it.
        opened = functools.partial(tarfile.open, fileobj=cast(IO[bytes], stream), mode="r:")
        tar = call_library(opened, "not a readable tar", path=path)
    except BaseException:
        raw.close()
        raise

    def close() -> None:
        tar.close()
        stream.close()
        raw.close()

    return BoundedTar(tar=tar, file_size=size, compressed=compressed, limit=limit, close=close, _stream=stream)
