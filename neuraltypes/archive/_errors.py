"""The one exception type the archive raises for a file it will not read or cannot write."""

from __future__ import annotations

import os

__all__ = ["ArchiveError"]


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
