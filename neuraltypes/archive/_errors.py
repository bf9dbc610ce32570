"""The archive's exceptions: ``ArchiveError`` for a file it will not read, ``ArchiveWriteError`` for a failed write."""

from __future__ import annotations

import os
import re

__all__ = ["ArchiveError", "ArchiveWriteError"]


class ArchiveError(ValueError):
    """An archive is malformed, corrupt, unsafe or does not fit the model it is restored into.

    The message names the archive, the member (when one is to blame) and the reason, so that a user can tell
    a truncated download from a tampered file from a model/code mismatch without a debugger.

    Attributes:
        path: the archive's path, or None when not known.
        member: the member at fault (``config.yaml``, a weight's name, an artifact), or None for the whole file.
        reason: what is wrong, in words.
    """

    def __init__(self, reason: str, *, path: str | os.PathLike[str] | None = None, member: str | None = None):
        self.path = None if path is None else os.fspath(path)
        self.member = member
        self.reason = reason
        where = f"archive {self.path!r}" if self.path is not None else "archive"
        if member is not None:
            where += f", member {member!r}"
        super().__init__(f"{where}: {reason}")


class ArchiveWriteError(ArchiveError, OSError):
    """Writing an archive failed (disk full, file too large, no permission): the previous file is unchanged.

    Both an ``ArchiveError`` and an ``OSError``, so ``except OSError`` around a save catches a full disk however
    the writing library reported it. ``errno`` and ``strerror`` are the system's, when it gave one.
    """

    def __init__(
        self, reason: str, *, path: str | os.PathLike[str] | None = None, member: str | None = None,
        errno: int | None = None,
    ) -> None:  # fmt: skip
        super().__init__(reason, path=path, member=member)
        self.errno = errno
        self.strerror = None if errno is None else os.strerror(errno)
        self.filename = self.path

    def __str__(self) -> str:
        return str(self.args[0])  # OSError's own __str__ would show only errno and strerror

    @classmethod
    def from_error(cls, error: BaseException, path: str | os.PathLike[str]) -> ArchiveWriteError:
        """The error for a failed write that raised ``error`` (an ``OSError``, or safetensors' error text)."""
        number = error.errno if isinstance(error, OSError) else None
        if number is None:
            found = re.search(r"\(os error (\d+)\)", str(error))  # safetensors: "... (os error 28)"
            number = None if found is None else int(found.group(1))
        cause = f"[Errno {number}] {os.strerror(number)}" if number is not None else f"{type(error).__name__}: {error}"
        return cls(f"writing failed: {cause}; any previous file at this path is unchanged", path=path, errno=number)
