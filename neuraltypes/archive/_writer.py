"""Writing an archive: hash every member, then write one safetensors file atomically."""

from __future__ import annotations

import os
from collections.abc import Mapping

import torch
from safetensors.torch import save_file

from ._atomic import atomic_destination, write_errors
from ._errors import ArchiveError
from ._format import CONFIG_MEMBER, FORMAT_NAME, META_FORMAT, META_MANIFEST, META_MANIFEST_SHA256, artifact_member
from ._hashing import hash_workers, parallel_sha256
from ._manifest import DTYPE_SIZES, Manifest, MemberRecord, Signature, sha256_hex
from ._progress import progress_bar

__all__ = ["write_archive"]


def _byte_tensor(data: bytes) -> torch.Tensor:
    return torch.frombuffer(bytearray(data), dtype=torch.uint8) if data else torch.empty(0, dtype=torch.uint8)


def write_archive(
    path: str | os.PathLike[str],
    *,
    weights: Mapping[str, torch.Tensor],
    config_text: str,
    target: str,
    artifacts: Mapping[str, bytes] = {},
    aliases: Mapping[str, str] = {},
    signature: Signature | None = None,
    created_by: str = "",
    progress: bool | None = None,
) -> Manifest:
    """Write an archive to ``path`` atomically and return its manifest.

    Args:
        weights: contiguous CPU tensors that share no memory, by state-dict name.
        config_text: the config YAML, as it is to be stored (unresolved).
        target: the model class's import path (also the config's ``_target_``).
        artifacts: artifact file name -> content.
        aliases: weight name -> the stored weight it is tied to.

    Raises:
        ArchiveError: a weight is not a contiguous CPU tensor or has a dtype archives cannot hold.
        ArchiveWriteError: writing failed (disk full ...); an ``OSError`` too. The previous file is unchanged.
    """
    members: dict[str, tuple[str, torch.Tensor]] = {CONFIG_MEMBER: ("config", _byte_tensor(config_text.encode()))}
    for name, tensor in weights.items():
        if tensor.device.type != "cpu" or not tensor.is_contiguous():
            raise ArchiveError(f"weights must be contiguous CPU tensors, got {tensor.device} tensor", member=name)
        if str(tensor.dtype).removeprefix("torch.") not in DTYPE_SIZES:
            raise ArchiveError(f"dtype {tensor.dtype} cannot be archived", member=name)
        members[name] = ("weight", tensor)
    for name, content in artifacts.items():
        members[artifact_member(name)] = ("artifact", _byte_tensor(content))
    total = sum(tensor.nbytes for _, tensor in members.values())
    records: list[MemberRecord] = []
    with progress_bar(2 * total, "saving", progress) as bar:
        items = ((name, tensor) for name, (_, tensor) in members.items())
        for name, tensor, digest in parallel_sha256(items, hash_workers()):
            kind = members[name][0]
            dtype = str(tensor.dtype).removeprefix("torch.")
            records.append(MemberRecord(name, kind, tensor.nbytes, digest, dtype, tuple(tensor.shape)))  # type: ignore[arg-type]
            bar.update(tensor.nbytes)
        manifest = Manifest(
            target=target, members=tuple(records), signature=signature or Signature(), aliases=tuple(aliases.items()),
            created_by=created_by,
        )  # fmt: skip
        text = manifest.to_json()
        metadata = {
            "format": "pt",
            META_FORMAT: FORMAT_NAME,
            META_MANIFEST: text,
            META_MANIFEST_SHA256: sha256_hex(text.encode()),
        }
        with atomic_destination(path) as temp, write_errors(path):
            save_file({name: tensor for name, (_, tensor) in members.items()}, temp, metadata=metadata)
        bar.update(total)
    return manifest
