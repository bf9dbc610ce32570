"""How large an archive may be, and how much a restore may write to disk: checked before anything is read in full.

An archive is untrusted input, so what it costs to read must be bounded by what it is: a manifest is parsed in
time and memory proportional to its size, capped; a restore writes to disk only the artifacts its config refers
to, at most ``max_extract_bytes`` in all; and a NeMo ``.nemo`` tar may not declare more than its file holds
(sparse members refused; a gzip-compressed one may expand at most ``max_expansion_ratio`` times). Every refusal
names the limit, so a user who trusts the file can raise it.
"""

from __future__ import annotations

import dataclasses
from typing import Final

__all__ = ["DEFAULT_LIMITS", "ArchiveLimits"]


@dataclasses.dataclass(frozen=True)
class ArchiveLimits:
    """The largest archive that is read and the most a restore extracts; pass your own to raise a limit.

    ``restore_from(path, limits=ArchiveLimits(max_extract_bytes=16 << 30))``; also accepted by
    ``verify_archive``, ``archived_config``, ``extract_state_dict_from`` and ``ArchiveReader``.

    Attributes:
        max_manifest_bytes: the manifest's JSON (a member record is about 200 bytes: 16 MiB holds ~80,000).
        max_members: members plus tied-weight aliases listed in a manifest, and members of a ``.nemo`` tar.
        max_extract_bytes: artifact bytes one restore writes to disk, all artifacts together.
        max_expansion_ratio: how many times its size on disk a compressed (gzip) ``.nemo`` may expand to.
    """

    max_manifest_bytes: int = 16 << 20
    max_members: int = 100_000
    max_extract_bytes: int = 4 << 30
    max_expansion_ratio: float = 16.0

    def refusal(self, problem: str, field: str) -> str:
        """An error's reason: ``problem``, then how to raise the limit ``field`` if the archive is trusted."""
        return (
            f"{problem}; refusing it. If you trust this archive, pass "
            f"limits=ArchiveLimits({field}=...) with a larger value (now {getattr(self, field)})"
        )


DEFAULT_LIMITS: Final = ArchiveLimits()
