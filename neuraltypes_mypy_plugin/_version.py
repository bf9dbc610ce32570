"""The plugin's version and the cache key that makes mypy re-check when the plugin or its rules change."""

from __future__ import annotations

import hashlib
import importlib.util
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

# The plugin ships in the neuraltypes distribution: its version is the package's, read from the same metadata.
# (Read here, not imported from neuraltypes.core: a run served from mypy's cache loads no core.)
try:
    __version__ = version("neuraltypes")
except PackageNotFoundError:  # a source tree on sys.path that was never installed
    __version__ = "0+unknown"

# The name the plugin adds to mypy's `always_true`, so that `neuraltypes.core` shows mypy the `NT` class.
PLUGIN_ALWAYS_TRUE = "_NEURALTYPES_MYPY_PLUGIN"


def cache_key(rule_files: tuple[Path, ...] = ()) -> dict[str, str]:
    """The version and a digest of the plugin's own sources, of the torch-free core it applies (the axes grammar,
    the size arithmetic), and of its rule files.

    mypy's cache key covers the plugin's entry module only; helper modules, the core and rule stubs are added here.
    """
    digest = hashlib.sha256()
    package = importlib.util.find_spec("neuraltypes")  # found, not imported: a cached run loads no core
    core_sources = sorted((Path(package.origin).parent / "core").glob("*.py")) if package and package.origin else []
    for path in sorted(Path(__file__).parent.glob("*.py")) + core_sources + sorted(rule_files):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return {"version": __version__, "sources": digest.hexdigest()[:16]}
