"""The package's version, read from its installed distribution metadata (pyproject.toml is the one source)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

# Shown when no distribution metadata is found: a source tree on sys.path that was never installed.
UNKNOWN_VERSION = "0+unknown"


def installed_version(distribution: str = "neuraltypes") -> str:
    """The version of ``distribution`` as installed, or ``UNKNOWN_VERSION`` where it is not installed."""
    try:
        return version(distribution)
    except PackageNotFoundError:
        return UNKNOWN_VERSION


__version__ = installed_version()
