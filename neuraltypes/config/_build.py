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


def _check_targets(value: object, path: str, allow: Iterable[object]) -> object:
    """A copy of a resolved container in which every ``_target_`` is replaced by its checked object."""
    if isinstance(value, Mapping):
        checked = {str(k): _check_targets(v, f"{path}.{k}" if path else str(k), allow) for k, v in value.items()}
        if TARGET_KEY in value:
            checked[TARGET_KEY] = check_target(value[TARGET_KEY], allow, where=path)
        return checked
    if isinstance(value, list):
        return [_check_targets(v, f"{path}[{i}]", allow) for i, v in enumerate(value)]
    return value


def prepare_config(
    config: object, kwargs: Mapping[str, Any], *, allow: Iterable[object], allow_resolvers: bool
) -> tuple[Any, Any]:
    """The raw standalone config (to store) and the resolved, target-checked one (to hand to Hydra).

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
    return raw, _check_targets(resolved, "", tuple(allow))


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
    built = hydra.utils.instantiate(OmegaConf.create(checked, flags={"allow_objects": True}), *args)
    target = checked.get(TARGET_KEY) if isinstance(checked, dict) else None
    return built, raw, target
