"""Model archives: one safetensors file holding config, weights, artifacts and a checksummed manifest.

``Archivable`` gives modules ``save_to`` / ``restore_from``; ``ArchiveReader`` and ``verify_archive`` read
archives without building a model; ``python -m neuraltypes.archive`` inspects and verifies them. ``ArchiveLimits``
bounds what reading an archive may cost; ``ArchiveWriteError`` (an ``OSError``) reports a save that could not write.
"""

from ._errors import ArchiveError as ArchiveError
from ._errors import ArchiveWriteError as ArchiveWriteError
from ._format import FORMAT_VERSION as FORMAT_VERSION
from ._inspect import verify_archive as verify_archive
from ._limits import ArchiveLimits as ArchiveLimits
from ._manifest import Manifest as Manifest
from ._manifest import MemberRecord as MemberRecord
from ._manifest import Signature as Signature
from ._mixin import Archivable as Archivable
from ._mixin import archived_config as archived_config
from ._reader import ArchiveReader as ArchiveReader

__all__ = [
    "FORMAT_VERSION",
    "Archivable",
    "ArchiveError",
    "ArchiveLimits",
    "ArchiveReader",
    "ArchiveWriteError",
    "Manifest",
    "MemberRecord",
    "Signature",
    "archived_config",
    "verify_archive",
]
