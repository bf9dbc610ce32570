"""What restore needs from an archive, whatever its format: config, artifacts, weight specs and weights."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import BinaryIO

import torch
from omegaconf import DictConfig

__all__ = ["ArchiveSource", "ArtifactMember", "WeightSpec"]

#: A weight's dtype name (torch's, ``float32``) and shape.
WeightSpec = tuple[str, tuple[int, ...]]


@dataclass(frozen=True)
class ArtifactMember:
    """An artifact in an archive, before it is read.

    Attributes:
        member: its member name in the archive, for error messages.
        size: its size in bytes, as the archive declares it (checked while copying).
        copy_to: writes its bytes into a file a chunk at a time, verifying them where the archive has checksums
            (a mismatch raises ``ArchiveError`` after the bytes were written: the caller discards the file).
    """

    member: str
    size: int
    copy_to: Callable[[BinaryIO], None]


@dataclass
class ArchiveSource:
    """An opened archive as restore sees it; ``close`` releases its file.

    Attributes:
        path: the archive, for error messages.
        config: the stored config (artifact references not yet replaced by paths).
        config_member: the member the config came from, for error messages.
        artifact_prefix: the prefix of config values that refer to artifacts (``nt-artifact:``, ``nemo:``).
        artifacts: artifact name (what follows the prefix) -> the artifact, to copy out when referred to.
        weight_specs: each weight name (tied names included) -> its dtype and shape, before reading them.
        read_weights: reads the weights (tied names included), each verified, lazily.
    """

    path: str
    config: DictConfig
    config_member: str
    artifact_prefix: str
    artifacts: Mapping[str, ArtifactMember]
    weight_specs: Callable[[], Mapping[str, WeightSpec]]
    read_weights: Callable[[], Iterator[tuple[str, torch.Tensor]]]
    close: Callable[[], None]
