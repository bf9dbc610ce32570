"""sha256 of in-memory tensors without copying them, spread over a few threads (hashlib releases the GIL)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import torch

__all__ = ["hash_workers", "parallel_sha256", "tensor_bytes"]


def tensor_bytes(tensor: torch.Tensor) -> memoryview:
    """The bytes of a contiguous CPU tensor, as a zero-copy view."""
    flat = tensor.reshape(-1)
    if flat.dtype != torch.uint8:
        flat = flat.view(torch.uint8)
    return flat.numpy().data


def hash_workers() -> int:
    """Threads used for hashing: the CPUs this process may use, at most 8."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(8, cpus))


def _digest(data: memoryview) -> str:
    return hashlib.sha256(data).hexdigest()


def parallel_sha256(items: Iterable[tuple[str, torch.Tensor]], workers: int) -> Iterator[tuple[str, torch.Tensor, str]]:
    """Yield ``(name, tensor, sha256)`` in input order, hashing up to ``workers`` tensors at once.

    ``items`` is consumed lazily; at most ``2 * workers`` tensors are pending at a time. Used when saving;
    reading hashes as it reads (see ``ArchiveReader``).
    """
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="neuraltypes-sha256") as pool:
        pending: list[tuple[str, torch.Tensor, Future[str]]] = []
        for name, tensor in items:
            pending.append((name, tensor, pool.submit(_digest, tensor_bytes(tensor))))
            while len(pending) > 2 * workers:
                done_name, done_tensor, future = pending.pop(0)
                yield done_name, done_tensor, future.result()
        for done_name, done_tensor, future in pending:
            yield done_name, done_tensor, future.result()
