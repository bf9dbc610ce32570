"""The archive layout: one safetensors file whose header carries a manifest.

Why safetensors as the container, not tar: the weights must be safetensors anyway, and a safetensors file is
a fixed-layout container that the safetensors library validates (header size, dtypes, offsets, overlaps,
trailing bytes) and reads without pickle. Keeping the config and the artifacts inside it as byte tensors
gives one file with no paths, links, modes or duplicate names to attack, and ``safetensors.safe_open`` on
the archive yields the weights directly. The manifest (JSON, in the header metadata) lists every member with
its size and sha256, and its own sha256 sits next to it.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = [
    "ARTIFACT_PREFIX",
    "CONFIG_MEMBER",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "MAX_CONFIG_BYTES",
    "META_FORMAT",
    "META_MANIFEST",
    "META_MANIFEST_SHA256",
    "RESERVED_PREFIX",
    "artifact_member",
    "check_artifact_name",
]

FORMAT_NAME: Final = "neuraltypes-archive"
#: The version this library writes; readers refuse anything newer with a clear message.
FORMAT_VERSION: Final = 1

#: Header metadata keys (safetensors metadata is a str -> str map).
META_FORMAT: Final = "neuraltypes.format"
META_MANIFEST: Final = "neuraltypes.manifest"
META_MANIFEST_SHA256: Final = "neuraltypes.manifest_sha256"

#: Tensor names under this prefix are ours (config, artifacts); weights may not use it.
RESERVED_PREFIX: Final = "__neuraltypes__/"
CONFIG_MEMBER: Final = RESERVED_PREFIX + "config.yaml"
ARTIFACT_PREFIX: Final = RESERVED_PREFIX + "artifacts/"

#: A config larger than this is an attack or a mistake, not a model. (The limits a user may raise, on the
#: manifest, the number of members and what a restore extracts, are ``ArchiveLimits``.)
MAX_CONFIG_BYTES: Final = 1 << 20

_ARTIFACT_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,199}")


def check_artifact_name(name: str) -> str | None:
    """Why ``name`` may not be an artifact's file name, or None when it may.

    Artifact names become file names when a restored model asks for a path, so only plain names are
    allowed: no separators, no ``..``, no leading dot, at most 200 characters.
    """
    if _ARTIFACT_NAME.fullmatch(name) is None or ".." in name:
        return (
            "artifact names must be plain file names (letters, digits, '.', '_', '-'; no path separators, "
            "no '..', no leading dot; at most 200 characters)"
        )
    return None


def artifact_member(name: str) -> str:
    """The member name under which the artifact file ``name`` is stored."""
    return ARTIFACT_PREFIX + name
