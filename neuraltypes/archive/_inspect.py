"""Inspecting and verifying archives without building a model (used by ``python -m neuraltypes.archive``)."""

from __future__ import annotations

import os
from collections.abc import Iterator

from ._format import ARTIFACT_PREFIX, CONFIG_MEMBER
from ._limits import DEFAULT_LIMITS, ArchiveLimits
from ._manifest import Manifest
from ._reader import ArchiveReader

__all__ = ["describe_manifest", "verify_archive"]


def verify_archive(
    path: str | os.PathLike[str], progress: bool | None = None, limits: ArchiveLimits = DEFAULT_LIMITS
) -> Manifest:
    """Check an archive completely (header, manifest, target, every member's sha256) and return its manifest.

    Raises:
        ArchiveError: at the first problem, naming the member and the reason.
    """
    with ArchiveReader(path, mmap=True, limits=limits) as reader:  # hashed in place, nothing copied
        reader.verify(progress)
        return reader.manifest


def _size(count: int) -> str:
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def _member_label(name: str) -> str:
    if name == CONFIG_MEMBER:
        return "config.yaml"
    return name.removeprefix(ARTIFACT_PREFIX)


def describe_manifest(manifest: Manifest, *, full_hashes: bool = False) -> Iterator[str]:
    """Readable lines: format, model class, typed signature, then one line per member."""
    yield f"format version  {manifest.format_version}"
    yield f"model           {manifest.target}"
    if manifest.created_by:
        yield f"created by      {manifest.created_by}"
    yield "inputs" if manifest.signature.inputs else "inputs          (not declared)"
    for name, neural_type in manifest.signature.inputs:
        yield f"  {name}: {neural_type}"
    yield "outputs" if manifest.signature.outputs else "outputs         (not declared)"
    for name, neural_type in manifest.signature.outputs:
        yield f"  {name}: {neural_type}"
    total = sum(record.size for record in manifest.members)
    yield f"members         {len(manifest.members)}, {_size(total)}"
    width = max((len(_member_label(r.name)) for r in manifest.members), default=4)
    for record in manifest.members:
        digest = record.sha256 if full_hashes else record.sha256[:16]
        detail = f"{record.dtype} {list(record.shape)}" if record.kind == "weight" else ""
        label = _member_label(record.name)
        yield f"  {record.kind:<8} {label:<{width}}  {_size(record.size):>10}  {digest}  {detail}".rstrip()
    for alias, original in manifest.aliases:
        yield f"  tied     {alias} -> {original}"
