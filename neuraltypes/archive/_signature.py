"""A model's typed signature for the manifest, read from its ``input_types`` / ``output_types``."""

from __future__ import annotations

from collections.abc import Mapping

from ._manifest import Signature

__all__ = ["signature_of"]


def _types(model: object, attribute: str) -> tuple[tuple[str, str], ...]:
    try:
        types = getattr(model, attribute, None)
    except Exception:  # a property that cannot be computed here: no signature rather than no archive
        return ()
    if not isinstance(types, Mapping):
        return ()
    return tuple((str(name), str(neural_type)) for name, neural_type in types.items())


def signature_of(model: object) -> Signature:
    """The ``str()`` of each declared input and output neural type, by name (empty when undeclared)."""
    return Signature(inputs=_types(model, "input_types"), outputs=_types(model, "output_types"))
