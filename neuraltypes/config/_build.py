"""Building from a config: detach, refuse resolvers, resolve, check every target, then call Hydra."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import hydra.utils
from omegaconf import OmegaConf

from ._interpolation import detached_container, refuse_resolvers
from ._resolve import check_target

__all__ = ["TARGET_KEY", "build", "prepare_config"]

TARGET_KEY = "_target_"


def _check_targets(value: object, path: str, allow: tuple[object, ...]) -> None:
    """Check every ``_target_`` of a resolved container, wherever it is (also under ``_recursive_: false``).

    The strings are left in place for Hydra, whose resolution follows the same import-then-getattr rule as
    :func:`locate`; every module it needs was imported here already, so both reach the same object.
    """
    if isinstance(value, Mapping):
        if TARGET_KEY in value:
            check_target(value[TARGET_KEY], allow, where=path)
        for key, item in value.items():
            _check_targets(item, f"{path}.{key}" if path else str(key), allow)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_targets(item, f"{path}[{index}]", allow)


def prepare_config(
    config: object, kwargs: Mapping[str, Any], *, allow: Iterable[object], allow_resolvers: bool
) -> tuple[Any, Any]:
    """The raw standalone config (for Hydra, and to store) and its resolved copy, whose targets were checked.

    Raises:
        UnsafeConfigError: a resolver call, when resolvers are not allowed.
        UnsafeTargetError: a ``_target_`` anywhere in the tree that the allowlist refuses.
    """
    raw = detached_container(config)
    if kwargs:
        merged = OmegaConf.merge(OmegaConf.create(raw, flags={"allow_objects": True}), dict(kwargs))
        raw = OmegaConf.to_container(merged, resolve=False)
    if not allow_resolvers:
        refuse_resolvers(raw)
    resolved = OmegaConf.to_container(OmegaConf.create(raw, flags={"allow_objects": True}), resolve=True)
    _check_targets(resolved, "", tuple(allow))
    return raw, resolved


def build(
    config: object,
    args: tuple[Any, ...] = (),
    kwargs: Mapping[str, Any] | None = None,
    *,
    allow: Iterable[object] = (),
    allow_resolvers: bool = False,
) -> tuple[Any, Any, object]:
    """Instantiate ``config`` through ``hydra.utils.instantiate``.

    Returns:
        The result, the raw (unresolved, standalone) config, and the checked top-level target (or None).

    See :func:`neuraltypes.config.instantiate` for the rules.
    """
    raw, checked = prepare_config(config, kwargs or {}, allow=allow, allow_resolvers=allow_resolvers)
    # Hydra gets the raw config and resolves it once itself. Handing it the resolved copy would resolve twice:
    # an escaped `\${oc.env:X}` becomes `${oc.env:X}` after the first pass and would be evaluated in the second.
    built = hydra.utils.instantiate(OmegaConf.create(raw, flags={"allow_objects": True}), *args)
    target = check_target(checked[TARGET_KEY], allow) if isinstance(checked, dict) and TARGET_KEY in checked else None
    return built, raw, target
