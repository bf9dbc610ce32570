"""Opening a neuraltypes archive as an ``ArchiveSource``."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import BinaryIO

import torch

from ._config_text import ARTIFACT_REF, parse_config
from ._errors import ArchiveError
from ._format import ARTIFACT_PREFIX, CONFIG_MEMBER
from ._limits import DEFAULT_LIMITS, ArchiveLimits
from ._reader import ArchiveReader
from ._source import ArchiveSource, ArtifactMember, WeightSpec

__all__ = ["open_native"]


def open_native(
    path: str | os.PathLike[str], progress: bool | None, mmap: bool = False, limits: ArchiveLimits = DEFAULT_LIMITS
) -> ArchiveSource:
    """Open, check the header and manifest, and read the config of a neuraltypes archive.

    Artifacts are stored as they are (no compression), so what a restore extracts never exceeds the file.

    Raises:
        ArchiveError: anything wrong with the file, naming the member and reason.
    """
    reader = ArchiveReader(path, mmap=mmap, limits=limits)
    try:
        config = parse_config(reader.read_config_text(), what=CONFIG_MEMBER)
    except ArchiveError as error:
        reader.close()
        raise ArchiveError(error.reason, path=reader.path, member=error.member) from None
    except BaseException:
        reader.close()
        raise
    manifest = reader.manifest
    weights: dict[str, WeightSpec] = {record.name: (record.dtype, record.shape) for record in manifest.weights}
    for alias, original in manifest.aliases:
        weights[alias] = weights[original]

    def copier(member: str) -> Callable[[BinaryIO], None]:
        return lambda out: reader.copy_member(member, out)

    artifacts = {
        record.name.removeprefix(ARTIFACT_PREFIX): ArtifactMember(record.name, record.size, copier(record.name))
        for record in manifest.artifacts
    }

    def read_weights() -> Iterator[tuple[str, torch.Tensor]]:
        loaded: dict[str, torch.Tensor] = {}
        for name, tensor in reader.iter_weights(progress):
            loaded[name] = tensor
            yield name, tensor
        for alias, original in manifest.aliases:
            yield alias, loaded[original]

    return ArchiveSource(
        path=reader.path,
        config=config,
        config_member=CONFIG_MEMBER,
        artifact_prefix=ARTIFACT_REF,
        artifacts=artifacts,
        weight_specs=lambda: weights,
        read_weights=read_weights,
        close=reader.close,
    )
