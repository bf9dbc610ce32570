"""Atomic replacement of a file: write inside a locked temp folder beside it, fsync, ``os.replace``.

A reader of the destination sees the old file or the new one, never a mix; a crash (even ``kill -9``) leaves
the old file intact and at worst a temp folder, which the next save to that destination removes. The temp
folder (not a temp file) holds whatever the writing library creates, including its own temp files, and is
locked with ``flock`` while in use: it is stale when no process holds that lock (the kernel drops the locks
of dead processes), so concurrent saves never remove each other's work. A write that fails (a full disk, a
file size limit) raises ``ArchiveWriteError``, an ``OSError`` carrying the system's errno.
"""

from __future__ import annotations

import contextlib
import fcntl  # POSIX only, as are O_DIRECTORY and O_NOFOLLOW
import os
import secrets
import shutil
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from safetensors import SafetensorError

from ._errors import ArchiveWriteError

__all__ = ["TEMP_MARK", "atomic_destination", "remove_stale_temps", "write_errors"]

TEMP_MARK: Final = ".nt-tmp-"
# Between mkdir() and flock() a new temp folder is unlocked for an instant. Its owner writes an ``owner`` file
# once it holds the lock, so an unlocked folder with files in it is stale, and an empty one only when old.
_FRESH_SECONDS: Final = 30.0
_DIRECTORY_FLAGS: Final = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _temp_prefix(dest: Path) -> str:
    return f".{dest.name}{TEMP_MARK}"


def remove_stale_temps(dest: str | os.PathLike[str]) -> list[Path]:
    """Delete temp folders left next to ``dest`` by saves that died; returns what was removed."""
    target = Path(dest)
    removed: list[Path] = []
    prefix = _temp_prefix(target)
    with contextlib.suppress(OSError):
        for entry in target.parent.iterdir():
            if entry.name.startswith(prefix) and _remove_if_stale(entry):
                removed.append(entry)
    return removed


def _remove_if_stale(candidate: Path) -> bool:
    try:
        fd = os.open(candidate, _DIRECTORY_FLAGS)
    except OSError:
        return False  # gone, a symlink, or not a folder: not ours to touch
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False  # a live save holds it
        info = os.fstat(fd)
        if not os.listdir(fd) and time.time() - info.st_mtime < _FRESH_SECONDS:
            return False
        current = os.lstat(candidate)
        if current.st_ino != info.st_ino or not stat.S_ISDIR(current.st_mode):
            return False
        shutil.rmtree(candidate, ignore_errors=True)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def _fsync(path: Path, flags: int) -> None:
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def write_errors(dest: str | os.PathLike[str]) -> Iterator[None]:
    """Raise a failed write (an ``OSError``, or safetensors' error for one) as an ``ArchiveWriteError`` about ``dest``.

    safetensors reports a full disk as ``SafetensorError``, which ``except OSError`` does not catch.
    """
    try:
        yield
    except ArchiveWriteError:
        raise
    except (OSError, SafetensorError) as error:
        raise ArchiveWriteError.from_error(error, dest) from error


@contextlib.contextmanager
def atomic_destination(dest: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a path to write the new file to; on a clean exit it atomically becomes ``dest``.

    The caller may write that path by any means (a library that takes a file name and makes its own temp
    files). On an exception nothing at ``dest`` changes and the temp folder is removed.

    Raises:
        FileNotFoundError: the destination's folder does not exist.
        ArchiveWriteError: creating, syncing or renaming the file failed (an ``OSError`` too).
    """
    target = Path(dest)
    directory = target.parent
    if not directory.is_dir():
        raise FileNotFoundError(f"cannot save to {str(target)!r}: folder {str(directory)!r} does not exist")
    remove_stale_temps(target)
    temp_dir = directory / f"{_temp_prefix(target)}{os.getpid()}-{secrets.token_hex(8)}"
    with write_errors(target):
        temp_dir.mkdir(mode=0o700)
        lock = os.open(temp_dir, _DIRECTORY_FLAGS)
    try:
        with write_errors(target):
            fcntl.flock(lock, fcntl.LOCK_EX)
            (temp_dir / "owner").write_text(f"pid {os.getpid()}\n")
        temp = temp_dir / target.name
        yield temp
        with write_errors(target):
            _fsync(temp, os.O_RDONLY | os.O_CLOEXEC)
            os.chmod(temp, 0o666 & ~_umask())
            os.replace(temp, target)
        with contextlib.suppress(OSError):  # some file systems cannot fsync a folder
            _fsync(directory, os.O_RDONLY | os.O_CLOEXEC)
    finally:
        shutil.rmtree(temp_dir, ignore_errors=True)
        os.close(lock)


def _umask() -> int:
    # The umask can only be read by setting it; read it from /proc where possible to stay thread-safe.
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    return 0o022
