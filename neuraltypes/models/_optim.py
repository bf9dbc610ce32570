"""Optimizer and learning-rate scheduler built from a model's ``cfg.optim``: NeMo's config, as NeMo reads it.

``cfg.optim`` names the optimizer by NeMo's ``name`` (``adam``, ``adamw``, ``sgd``, ``rmsprop``, ``adagrad``,
``adadelta``, ``adamax``, ``rprop``, and ``fused_adam`` as torch's fused ``AdamW``; see
:data:`neuraltypes.optim.OPTIMIZERS`) or by ``_target_`` (any ``torch.optim`` optimizer, or a class marked
``@instantiable``); its other keys are the optimizer's arguments. NeMo names without a torch equivalent
(``novograd``, ``distributed_fused_adam`` ...) are refused with the alternative.

The optional ``sched`` node names the scheduler the same two ways: ``name`` is one of NeMo's
(``CosineAnnealing``, ``NoamAnnealing``, ``WarmupAnnealing`` ..., :data:`neuraltypes.optim.SCHEDULERS`) and its
keys are that schedule's arguments (``warmup_steps`` or ``warmup_ratio``, ``hold_steps``, ``min_lr`` ...).
``max_steps``, when absent (or ``null``, or NeMo's ``-1``), is the number of optimizer steps the trainer will
take (``trainer.max_steps``, or the epochs' batches divided by gradient accumulation and devices), as NeMo
computes it. Lightning's ``interval`` (default ``step``; ``epoch`` for NeMo's epoch schedulers), ``frequency``
and ``monitor`` (default ``loss`` for ``ReduceLROnPlateau``) go to Lightning. NeMo's bookkeeping keys
(``reduce_on_plateau``, ``t_max_epochs``, ``t_accumulate_grad_batches``, ``t_limit_train_batches``,
``t_num_workers``) are accepted and ignored: NeMo overwrites or ignores them whenever a trainer is attached, and
the step count comes from the trainer here. Any other key a schedule does not take is refused by name. A
scheduler argument written ``auto`` (``total_steps: auto``, ``T_max: auto``) is the trainer's step count too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any

import torch
from omegaconf import DictConfig

from neuraltypes.config import instantiate, quote, resolve_config
from neuraltypes.optim import EPOCH_SCHEDULERS, OPTIMIZERS, SCHEDULERS, keyword_arguments
from neuraltypes.optim import optimizer_class as named_optimizer_class
from neuraltypes.optim import scheduler_class as named_scheduler_class

__all__ = ["OPTIMIZER_NAMES", "build_optimization"]

#: NeMo optimizer names that are torch classes as they are, and the class each names (see also ``fused_adam``).
OPTIMIZER_NAMES: Mapping[str, str] = MappingProxyType(
    {name: f"torch.optim.{cls.__name__}" for name, cls in OPTIMIZERS.items()}
)

_LIGHTNING_KEYS = ("interval", "frequency", "monitor")
# Keys NeMo's setup_optimization writes (from the trainer) or derives itself; a user's values never count there.
_NEMO_BOOKKEEPING_KEYS = (
    "reduce_on_plateau",
    "t_max_epochs",
    "t_accumulate_grad_batches",
    "t_limit_train_batches",
    "t_num_workers",
)
_AUTO = "auto"
_ABSENT_MAX_STEPS = (None, -1)
# Our schedules may be named by _target_ too (neuraltypes.optim.CosineAnnealing); they are not torch's classes.
_SCHEDULER_CLASSES = tuple(SCHEDULERS.values())


def _plain(config: object, where: str) -> dict[str, Any]:
    if isinstance(config, DictConfig | Mapping):  # the model's own config: resolvers may run, once
        container = resolve_config(config, allow_resolvers=True)
    else:
        raise TypeError(f"{where} must be a mapping, got {type(config).__name__}")
    assert isinstance(container, dict)
    return {str(key): value for key, value in container.items()}


def _refuse_args_node(config: dict[str, Any], where: str) -> None:
    if "args" in config:
        raise ValueError(
            f"{where}.args (NeMo's registered-params form) is not supported: write the arguments directly in {where}"
        )


def _refuse_unknown_keys(cls: type, arguments: Mapping[str, Any], where: str) -> None:
    accepted = keyword_arguments(cls)
    unknown = [] if accepted is None else sorted(set(arguments) - accepted)
    if accepted is not None and unknown:
        raise ValueError(
            f"{where}: {cls.__name__} does not take {', '.join(map(repr, unknown))}; "
            f"it takes {', '.join(sorted(accepted))}"
        )


def _build_optimizer(
    optim: dict[str, Any], parameters: list[torch.nn.Parameter], optimizer_kwargs: Mapping[str, Any]
) -> torch.optim.Optimizer:
    name = optim.pop("name", None)
    _refuse_args_node(optim, "cfg.optim")
    if "_target_" in optim:
        if name is not None:
            raise ValueError("cfg.optim names the optimizer twice: give either 'name' or '_target_'")
        optimizer = instantiate(quote(optim), parameters, **optimizer_kwargs)
    elif name is None:
        raise ValueError("cfg.optim must name the optimizer, by '_target_' (torch.optim.AdamW) or 'name' (adamw)")
    else:
        try:
            cls, arguments = named_optimizer_class(str(name), {**optim, **optimizer_kwargs})
        except ValueError as error:
            raise ValueError(f"cfg.optim.name: {error}") from None
        _refuse_unknown_keys(cls, arguments, f"cfg.optim (name: {name})")
        optimizer = cls(parameters, **arguments)
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"cfg.optim built a {type(optimizer).__name__}, not a torch.optim.Optimizer")
    return optimizer


def _uncounted(why: object) -> ValueError:
    return ValueError(
        f"cfg.optim.sched.max_steps is not set and the trainer cannot count its optimizer steps ({why}); "
        "set trainer.max_steps (or max_epochs), or max_steps in cfg.optim.sched"
    )


def _trainer_steps(total_steps: Callable[[], int]) -> int:
    try:
        steps = int(total_steps())
    except (RuntimeError, OverflowError) as error:  # no trainer attached, or an endless one (no max_steps/epochs)
        raise _uncounted(error) from error
    if steps < 0:  # Lightning's count for an iterable dataset without trainer.max_steps
        raise _uncounted("an iterable training set and no trainer.max_steps")
    return steps


def _with_auto_values(arguments: dict[str, Any], total_steps: Callable[[], int]) -> dict[str, Any]:
    return {key: (_trainer_steps(total_steps) if value == _AUTO else value) for key, value in arguments.items()}


def _scheduler_by_name(
    name: str, arguments: dict[str, Any], optimizer: torch.optim.Optimizer, total_steps: Callable[[], int]
) -> torch.optim.lr_scheduler.LRScheduler:
    try:
        cls = named_scheduler_class(name)
    except ValueError as error:
        raise ValueError(f"cfg.optim.sched.name: {error}") from None
    accepted = keyword_arguments(cls)
    if accepted is not None and "max_steps" in accepted:
        if arguments.get("max_steps") in _ABSENT_MAX_STEPS:
            arguments["max_steps"] = _trainer_steps(total_steps)
    else:
        arguments.pop("max_steps", None)  # NeMo drops it for schedulers that do not take it (StepLR ...)
    _refuse_unknown_keys(cls, arguments, f"cfg.optim.sched (name: {name})")
    return cls(optimizer, **arguments)


def _scheduler_entry(
    sched: dict[str, Any], optimizer: torch.optim.Optimizer, total_steps: Callable[[], int]
) -> dict[str, Any]:
    name = sched.pop("name", None)
    _refuse_args_node(sched, "cfg.optim.sched")
    entry: dict[str, Any] = {key: sched.pop(key) for key in _LIGHTNING_KEYS if key in sched}
    for key in _NEMO_BOOKKEEPING_KEYS:
        sched.pop(key, None)
    arguments = _with_auto_values(sched, total_steps)
    if "_target_" in arguments:
        if name is not None:
            raise ValueError("cfg.optim.sched names the scheduler twice: give either 'name' or '_target_'")
        # resolved already: its strings are data
        scheduler = instantiate(quote(arguments), optimizer, allow=_SCHEDULER_CLASSES)
    elif name is None:
        raise ValueError(
            "cfg.optim.sched must name the scheduler, by 'name' (CosineAnnealing) or '_target_' "
            "(torch.optim.lr_scheduler.OneCycleLR)"
        )
    else:
        scheduler = _scheduler_by_name(str(name), arguments, optimizer, total_steps)
        if name in EPOCH_SCHEDULERS:
            entry.setdefault("interval", "epoch")
    if not isinstance(scheduler, torch.optim.lr_scheduler.LRScheduler | torch.optim.lr_scheduler.ReduceLROnPlateau):
        raise TypeError(f"cfg.optim.sched built a {type(scheduler).__name__}, not a learning-rate scheduler")
    if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
        entry.setdefault("monitor", "loss")  # NeMo's default
    entry["scheduler"] = scheduler
    entry.setdefault("interval", "step")
    return entry


def build_optimization(
    optim_config: object,
    parameters: Iterable[torch.nn.Parameter],
    total_steps: Callable[[], int],
    optimizer_kwargs: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """What Lightning's ``configure_optimizers`` returns, built from ``cfg.optim``.

    Args:
        optim_config: the ``cfg.optim`` node.
        parameters: the parameters to optimize (those requiring gradients).
        total_steps: the trainer's estimated stepping batches; called only when the scheduler's ``max_steps``
            is absent or an argument is ``auto``.
        optimizer_kwargs: further optimizer arguments, over the config's (NeMo's ``optim_kwargs``: values a
            config cannot hold).

    Returns:
        ``{"optimizer": ...}``, with ``"lr_scheduler": {"scheduler": ..., "interval": ...}`` when configured.

    Raises:
        ValueError: the optimizer or scheduler is not named, named twice, unknown (with the closest names),
            refused (with the alternative), or given arguments it does not take; or ``max_steps`` is needed
            and the trainer cannot count its steps.
        UnsafeTargetError: a ``_target_`` off the allowlist.
    """
    optim = _plain(optim_config, "cfg.optim")
    sched = optim.pop("sched", None)
    optimizer = _build_optimizer(optim, list(parameters), optimizer_kwargs or {})
    result: dict[str, Any] = {"optimizer": optimizer}
    if sched is not None:
        result["lr_scheduler"] = _scheduler_entry(_plain(sched, "cfg.optim.sched"), optimizer, total_steps)
    return result
