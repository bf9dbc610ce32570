"""Where a restored model's artifacts live: a private folder that exists exactly as long as the model.

Tokenizer and vocabulary libraries open files by path, so artifacts (vocabularies, tokenizer models, label
lists) are copied, a chunk at a time and verified as they are copied, into a folder only this user can read; the
folder is removed when the last model referring to it is garbage-collected. Weights never go to disk.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from ._format import check_artifact_name

__all__ = ["ArtifactDirectory"]


class ArtifactDirectory:
    """A private temp folder of artifact files, made on the first one, deleted when this object is collected."""

    def __init__(self) -> None:
        self._path: Path | None = None
        self._cleanup: weakref.finalize[[str, bool], ArtifactDirectory] | None = None

    @property
    def path(self) -> Path:
        """The folder (created now if it does not exist yet)."""
        if self._path is None:
            self._path = Path(tempfile.mkdtemp(prefix="neuraltypes-artifacts-"))
            self._cleanup = weakref.finalize(self, shutil.rmtree, str(self._path), True)
        return self._path

    def add(self, name: str, copy: Callable[[BinaryIO], None]) -> Path:
        """Create artifact ``name`` (a plain file name, checked), filled by ``copy``, read-only; returns its path.

        A ``copy`` that raises (a checksum mismatch found at the end, a full disk) leaves no file behind.
        """
        reason = check_artifact_name(name)
        if reason is not None:
            raise ValueError(f"artifact {name!r}: {reason}")
        path = self.path / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            with os.fdopen(fd, "wb") as file:
                copy(file)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        os.chmod(path, 0o400)
        return path

    def discard(self) -> None:
        """Delete the folder now (a restore that failed)."""
        if self._cleanup is not None:
            self._cleanup()

    def __deepcopy__(self, memo: dict[int, object]) -> ArtifactDirectory:
        # A deep-copied model shares the files; the folder lives until the last copy is gone.
        return self
