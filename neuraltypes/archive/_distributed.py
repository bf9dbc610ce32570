"""Only one process of a distributed job writes an archive: rank 0 writes, everyone meets at a barrier."""

from __future__ import annotations

import torch.distributed as dist

__all__ = ["is_distributed", "is_writer", "wait_for_writer"]


def is_distributed() -> bool:
    """Whether a default process group is initialized."""
    return dist.is_available() and dist.is_initialized()


def is_writer() -> bool:
    """True in rank 0 of a distributed job, and always outside one."""
    return not is_distributed() or dist.get_rank() == 0


def wait_for_writer() -> None:
    """Barrier, so that no rank reads the archive before rank 0 has finished writing it."""
    if is_distributed():
        dist.barrier()
