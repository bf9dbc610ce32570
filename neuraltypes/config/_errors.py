"""Errors raised when a config asks for something that must not run, or is too large to read."""

from __future__ import annotations

__all__ = ["ConfigLimitError", "ConfigOverrideError", "UnsafeConfigError", "UnsafeTargetError"]


class UnsafeConfigError(ValueError):
    """A config asked for code to run that is not allowed: an unlisted target or a resolver call."""


class UnsafeTargetError(UnsafeConfigError):
    """A ``_target_`` names (or resolves to) an object that is not on the instantiation allowlist."""


class ConfigLimitError(UnsafeConfigError):
    """A config is deeper or larger than :class:`~neuraltypes.config.ConfigLimits` allows (as written or resolved)."""


class ConfigOverrideError(ValueError):
    """A command-line override could not be parsed or applied to the config."""
