"""Optimizer and learning-rate scheduler built from a model's ``cfg.optim``, through safe instantiation.

``cfg.optim`` names the optimizer by ``_target_`` (any ``torch.optim`` optimizer, or a class marked
``@instantiable``) or by a short ``name`` (``adam``, ``adamw``, ``sgd``); its other keys are the optimizer's
arguments. An optional ``sched`` node does the same for a scheduler, plus Lightning's ``interval``,
``frequency`` and ``monitor``; a scheduler argument written ``auto`` (``total_steps: auto``, ``T_max: auto``)
becomes the number of optimizer steps the trainer will take.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import torch
from omegaconf import DictConfig

from neuraltypes.config import instantiate, quote, resolve_config

__all__ = ["OPTIMIZER_NAMES", "build_optimization"]

#: Short optimizer names accepted in ``cfg.optim.name``, as in NeMo configs.
OPTIMIZER_NAMES: Mapping[str, str] = {
    "adam": "torch.optim.Adam",
    "adamw": "torch.optim.AdamW",
    "sgd": "torch.optim.SGD",
    "rmsprop": "torch.optim.RMSprop",
}

_LIGHTNING_KEYS = ("interval", "frequency", "monitor")
_AUTO = "auto"


def _plain(config: object, where: str) -> dict[str, Any]:
    if isinstance(config, DictConfig | Mapping):  # the model's own config: resolvers may run, once
        container = resolve_config(config, allow_resolvers=True)
    else:
        raise TypeError(f"{where} must be a mapping, got {type(config).__name__}")
    assert isinstance(container, dict)
    return {str(key): value for key, value in container.items()}


def _optimizer_config(optim: dict[str, Any]) -> dict[str, Any]:
    name = optim.pop("name", None)
    if "_target_" in optim:
        if name is not None:
            raise ValueError("cfg.optim names the optimizer twice: give either 'name' or '_target_'")
        return optim
    if name is None:
        raise ValueError("cfg.optim must name the optimizer, by '_target_' (torch.optim.AdamW) or 'name' (adamw)")
    target = OPTIMIZER_NAMES.get(str(name).lower())
    if target is None:
        raise ValueError(f"cfg.optim.name {name!r} is not one of {sorted(OPTIMIZER_NAMES)}; use '_target_' instead")
    return {"_target_": target, **optim}


def _scheduler_entry(
    sched: dict[str, Any], optimizer: torch.optim.Optimizer, total_steps: Callable[[], int]
) -> dict[str, Any]:
    if "_target_" not in sched:
        raise ValueError("cfg.optim.sched must name the scheduler class by '_target_'")
    entry: dict[str, Any] = {key: sched.pop(key) for key in _LIGHTNING_KEYS if key in sched}
    arguments = {key: (total_steps() if value == _AUTO else value) for key, value in sched.items()}
    scheduler = instantiate(quote(arguments), optimizer)  # resolved already: its strings are data
    if not isinstance(scheduler, torch.optim.lr_scheduler.LRScheduler | torch.optim.lr_scheduler.ReduceLROnPlateau):
        raise TypeError(f"cfg.optim.sched built a {type(scheduler).__name__}, not a learning-rate scheduler")
    entry["scheduler"] = scheduler
    entry.setdefault("interval", "step")
    return entry


def build_optimization(
    optim_config: object, parameters: Iterable[torch.nn.Parameter], total_steps: Callable[[], int]
) -> dict[str, Any]:
    """What Lightning's ``configure_optimizers`` returns, built from ``cfg.optim``.

    Args:
        optim_config: the ``cfg.optim`` node.
        parameters: the parameters to optimize (those requiring gradients).
        total_steps: called only if a scheduler argument is ``auto``; the trainer's estimated stepping batches.

    Returns:
        ``{"optimizer": ...}``, with ``"lr_scheduler": {"scheduler": ..., "interval": ...}`` when configured.

    Raises:
        ValueError: the optimizer or scheduler is not named, or named twice.
        UnsafeTargetError: a ``_target_`` off the allowlist.
    """
    optim = _plain(optim_config, "cfg.optim")
    sched = optim.pop("sched", None)
    optimizer = instantiate(quote(_optimizer_config(optim)), list(parameters))
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"cfg.optim built a {type(optimizer).__name__}, not a torch.optim.Optimizer")
    result: dict[str, Any] = {"optimizer": optimizer}
    if sched is not None:
        result["lr_scheduler"] = _scheduler_entry(_plain(sched, "cfg.optim.sched"), optimizer, total_steps)
    return result
