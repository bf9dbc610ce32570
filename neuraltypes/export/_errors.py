"""The export's exceptions: what cannot be exported, and an exported graph that does not match the types."""

from __future__ import annotations

__all__ = ["DynamicShapesError", "ExportError", "ExportedSignatureError"]


class ExportError(Exception):
    """Base of the export's errors."""


class DynamicShapesError(ExportError, ValueError):
    """The types (with the example and the options) cannot be expressed as dynamic shapes, or the module
    needs sizes the types or the options rule out; the message names the port, the axis or the size."""


class ExportedSignatureError(ExportError, TypeError):
    """The exported graph's inputs or outputs do not match the declared ports (count, rank, dtype, or which
    axes are dynamic); the message names the port and the axis."""
