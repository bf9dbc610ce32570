"""Resolving a ``_target_`` import path to an object, and checking that object against the allowlist."""

from __future__ import annotations

import importlib.util
import sys
import types
from collections.abc import Iterable, Mapping
from types import MappingProxyType

from ._allowlist import refusal_reason
from ._errors import UnsafeTargetError

__all__ = ["NEMO_COUNTERPARTS", "check_target", "locate", "resolve_target"]

#: Where NeMo's classes have counterparts, for configs written for NeMo: NeMo package -> ours. Used only while
#: NeMo itself is not imported; the counterpart must be imported already, as any target must.
NEMO_COUNTERPARTS: Mapping[str, str] = MappingProxyType(
    {
        "nemo.collections.asr.modules": "neuraltypes_modules.asr",
        "nemo.collections.asr.models": "neuraltypes_modules.asr",
        "nemo.collections.asr.losses": "neuraltypes_modules.asr",
        "nemo.core.optim.lr_scheduler": "neuraltypes.optim",
    }
)


def locate(path: str) -> object:
    """Find the object an import path names, importing nothing: a config may not make Python run new code.

    The path is walked as Hydra walks it (the first component, then attributes, a submodule where an attribute
    is missing), but only through what is loaded already (a NeMo class path, while NeMo is not imported, names its
    counterpart: see ``NEMO_COUNTERPARTS``): a module's attributes are read from its ``__dict__``
    (a module-level ``__getattr__`` may import lazily) and a submodule must already be in ``sys.modules``. So
    ``torch.testing._internal.hypothesis_utils`` is refused in a program that never imported it, rather than
    imported along with ``hypothesis``.

    Raises:
        ValueError: the path is not a dotted sequence of identifiers.
        UnsafeTargetError: a module on the path is not imported yet (it would have to be imported).
        ImportError: nothing exists at that path.
    """
    parts = path.split(".")
    if not path or not all(part.isidentifier() for part in parts):
        raise ValueError(f"target {path!r} is not a dotted import path such as 'package.module.Class'")
    counterpart = _nemo_counterpart(path)
    if counterpart is not None:
        return locate(counterpart)
    obj: object = sys.modules.get(parts[0])
    if obj is None:
        raise _not_imported(path, parts[0])
    for index, part in enumerate(parts[1:], start=1):
        if not isinstance(obj, types.ModuleType):
            try:
                obj = getattr(obj, part)
            except AttributeError:
                raise ImportError(
                    f"cannot resolve target {path!r}: {'.'.join(parts[:index])!r} has no attribute {part!r}"
                ) from None
            continue
        found = vars(obj).get(part, _ABSENT)
        name = ".".join(parts[: index + 1])
        obj = sys.modules.get(name) if found is _ABSENT else found
        if obj is None:
            raise _not_imported(path, name)
    return obj


_ABSENT = object()


def _nemo_counterpart(path: str) -> str | None:
    """``nemo.collections.asr.modules.ConvASREncoder`` -> ``neuraltypes_modules.asr.ConvASREncoder`` while NeMo is
    not imported (NeMo writes the defining module too: ``nemo.collections.asr.models.ctc_models.EncDecCTCModel``)."""
    if not path.startswith("nemo.") or "nemo" in sys.modules:
        return None
    name = path.rpartition(".")[2]
    for package, ours in NEMO_COUNTERPARTS.items():
        if path.startswith(f"{package}."):
            return f"{ours}.{name}"
    return None


def _not_imported(path: str, module: str) -> Exception:
    """Refuse a path through a module that is not loaded; for a submodule, say whether it exists (not importing).

    A package that is not imported is refused whether or not it is installed; a submodule that does not exist in
    an imported package is a mistake in the path (``torch.nn.NoSuchLayer``), reported as such.
    """
    parent, _, last = module.rpartition(".")
    if parent:
        # Only a package (a module with ``__path__``) has submodules; reading it from the module's __dict__ keeps a
        # module-level __getattr__ from running (find_spec reads it as an attribute).
        loaded = sys.modules.get(parent)
        try:
            exists = loaded is not None and "__path__" in vars(loaded) and importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            exists = False
        if not exists:
            return ImportError(
                f"cannot resolve target {path!r}: module {parent!r} has no attribute or submodule {last!r}"
            )
    kind = "module" if parent else "package"
    return UnsafeTargetError(
        f"refusing target {path!r}: resolving it would import {kind} {module!r}, which this program has not "
        f"imported; a config may not make Python import new {kind}s (import {module!r} in your code first)"
    )


def check_target(target: object, allow: Iterable[object] = (), *, where: str = "") -> object:
    """Resolve ``target`` (an import path or an object) and return it if the allowlist admits it.

    Args:
        target: the ``_target_`` value: a dotted path, or a class or function given directly.
        allow: extra objects allowed for this call, compared by identity.
        where: the config key holding the target, named in the error.

    Raises:
        UnsafeTargetError: the resolved object is not allowed, naming the target and why.
    """
    obj = locate(target) if isinstance(target, str) else target
    reason = refusal_reason(obj, allow)
    if reason is not None:
        shown = target if isinstance(target, str) else getattr(target, "__qualname__", repr(target))
        at = f" at {where!r}" if where else ""
        raise UnsafeTargetError(f"refusing to instantiate target {shown!r}{at}: {reason}")
    return obj


def resolve_target(path: str, *, allow: Iterable[object] = ()) -> object:
    """Resolve an import path (as stored in a config's ``_target_``) to its object, checked.

    ``resolve_target(cfg["_target_"]).from_config_dict(cfg)`` rebuilds an object from its stored config.

    Raises:
        UnsafeTargetError: the object is not allowed to be instantiated from a config.
        ValueError, ImportError: the path is malformed or names nothing.
    """
    return check_target(path, allow)
