"""``instantiate``: Hydra's ``_target_`` instantiation, with every target checked against the allowlist."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ._build import build
from ._limits import DEFAULT_LIMITS, ConfigLimits
from ._serialization import Serialization

__all__ = ["instantiate"]


def instantiate(
    config: object,
    *args: Any,
    allow: Iterable[object] = (),
    allow_resolvers: bool = False,
    limits: ConfigLimits = DEFAULT_LIMITS,
    **kwargs: Any,
) -> Any:
    """Build the object a config describes, with Hydra's semantics and nothing off the allowlist.

    Every ``_target_`` in the tree (including under ``_recursive_: false`` and inside values passed as
    ``kwargs``) is resolved and checked before anything is called; only ``NeuralModule``/``Serialization``
    subclasses, classes and functions marked :func:`instantiable`, the public ``torch.nn`` module classes,
    ``torch.optim`` optimizers and schedulers, and what ``allow`` names may be called, and a target is found
    only among modules already imported. The config is resolved once, here (see
    :func:`~neuraltypes.config.resolve_config`), and the objects are built from that resolved data: a string
    in it is never interpolated again. Resolver calls such as ``${oc.env:...}`` are refused unless
    ``allow_resolvers`` is set, since an untrusted config must not read the environment. A ``Serialization``
    object built from the config alone keeps that (unresolved) config for ``to_config_dict``.

    Args:
        config: a mapping, DictConfig/ListConfig (a node of a larger config is detached from it first) or a
            dataclass config, with ``_target_``, ``_recursive_``, ``_convert_``, ``_partial_`` and ``_args_``
            meaning what they mean to ``hydra.utils.instantiate``.
        args: positional arguments for the top-level target.
        allow: further classes or functions allowed for this call only (compared by identity).
        allow_resolvers: evaluate resolver calls (for a config the caller trusts, such as its own YAML).
        limits: how deep and large the config may be, as written and as resolved.
        kwargs: values merged into the config before instantiation, as in Hydra.

    Raises:
        UnsafeTargetError: a target the allowlist refuses (a ``ValueError``), naming it and why.
        UnsafeConfigError: a resolver call when ``allow_resolvers`` is false.
        ConfigLimitError: the config is deeper or larger than ``limits`` (an ``UnsafeConfigError``).
        hydra.errors.InstantiationException: a target's call failed (as in Hydra).
    """
    if config is None:  # as in Hydra: an absent optional component
        return None
    built, raw, target = build(config, args, kwargs, allow=allow, allow_resolvers=allow_resolvers, limits=limits)
    if isinstance(built, Serialization) and target is type(built) and not args and not kwargs:
        built._store_config(raw)
    return built
