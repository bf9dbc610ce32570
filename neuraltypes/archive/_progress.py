"""Progress bars for saving and restoring large models (tqdm when installed, silent otherwise)."""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator
from typing import Any, Final, Protocol

__all__ = ["AUTO_PROGRESS_BYTES", "Progress", "progress_bar"]

#: With ``progress=None``, a bar is shown when the weights are at least this large.
AUTO_PROGRESS_BYTES: Final = 256 << 20


class Progress(Protocol):
    """What the archive code needs from a progress bar."""

    def update(self, n: int) -> object: ...


class _Silent:
    def update(self, n: int) -> None:
        pass


@contextlib.contextmanager
def progress_bar(total_bytes: int, description: str, enabled: bool | None) -> Iterator[Progress]:
    """A byte-counting progress bar on stderr; ``enabled=None`` shows it for models of 256 MiB or more."""
    show = total_bytes >= AUTO_PROGRESS_BYTES if enabled is None else enabled
    tqdm: Any = None
    if show:
        with contextlib.suppress(ImportError):
            tqdm = importlib.import_module("tqdm").tqdm
    if tqdm is None:
        yield _Silent()
        return
    bar = tqdm(total=total_bytes, desc=description, unit="B", unit_scale=True, unit_divisor=1024, leave=False)
    try:
        yield bar
    finally:
        bar.close()
