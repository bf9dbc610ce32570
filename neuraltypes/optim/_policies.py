"""The phases NeMo's schedules share, and the base class that computes a rate from the step.

A policy is a schedule with its phases and a constant rate where the decay would be: a linear warmup
(``WarmupPolicy``), a hold at the peak (``WarmupHoldPolicy``), ``min_lr`` held at the end
(``WarmupAnnealHoldPolicy``), or a constant rate first (``SquareRootConstantPolicy``). The schedules of
:mod:`._schedulers` subclass them and write the decay (``_anneal``).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

from torch import Tensor
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

__all__ = [
    "Schedule",
    "SquareRootConstantPolicy",
    "WarmupAnnealHoldPolicy",
    "WarmupHoldPolicy",
    "WarmupPolicy",
    "phase_steps",
    "refuse_min_lr_above_lr",
]


def phase_steps(phase: str, steps: int | None, ratio: float | None, max_steps: int | None) -> int:
    """The length of a phase given as ``<phase>_steps`` or ``<phase>_ratio`` of ``max_steps`` (NeMo's rule).

    Raises:
        ValueError: both are given, or a ratio without ``max_steps``.
    """
    if steps is not None and ratio is not None:
        raise ValueError(
            f"give either {phase}_steps or {phase}_ratio, not both ({phase}_steps={steps}, {phase}_ratio={ratio})"
        )
    if steps is not None:
        return steps
    if ratio is None:
        return 0
    if max_steps is None:
        raise ValueError(f"{phase}_ratio={ratio} is a fraction of max_steps, and max_steps is not given")
    return int(ratio * max_steps)


def refuse_min_lr_above_lr(schedule: str, optimizer: Optimizer, min_lr: float) -> None:
    # NeMo raises this only once the decay phase is reached, mid-training; the configuration is wrong at once.
    initial = [float(group.get("initial_lr", group["lr"])) for group in optimizer.param_groups]
    if any(lr < min_lr for lr in initial):
        raise ValueError(f"{schedule}: min_lr={min_lr} is above the optimizer's learning rate {initial}")


class Schedule(LRScheduler):
    """A schedule computed from the step and each group's initial rate; subclasses write :meth:`_lr`."""

    #: Whether the curve reaches ``min_lr`` at ``max_steps`` (so ``max_steps`` must be given).
    _needs_max_steps: ClassVar[bool] = True
    #: Allowed as a config's ``_target_`` (``sched: {_target_: neuraltypes.optim.CosineAnnealing}``, or NeMo's
    #: ``nemo.core.optim.lr_scheduler`` paths): the mark ``neuraltypes.config.instantiable`` sets, written here
    #: because this layer does not import the config layer.
    __neuraltypes_instantiable__: ClassVar[bool] = True

    def __init__(self, optimizer: Optimizer, *, max_steps: int | None, min_lr: float, last_epoch: int) -> None:
        if max_steps is None and self._needs_max_steps:
            raise ValueError(f"{type(self).__name__} needs max_steps, the number of optimizer steps it spans")
        if max_steps is not None and max_steps < 0:
            raise ValueError(
                f"{type(self).__name__}: max_steps must be a non-negative number of steps, not {max_steps}"
            )
        self.max_steps = max_steps
        self.min_lr = min_lr
        super().__init__(optimizer, last_epoch)  # takes the first step, so every attribute is set before

    def get_lr(self) -> list[float | Tensor]:
        return [self._lr(self.last_epoch, float(base)) for base in self.base_lrs]

    def _lr(self, step: int, base: float) -> float:
        raise NotImplementedError

    def _past_max_steps(self, step: int) -> bool:
        return self.max_steps is not None and step > self.max_steps


class WarmupPolicy(Schedule):
    """Linear warmup to the learning rate, then constant; ``min_lr`` after ``max_steps`` (if given).

    Subclasses replace the constant part by their decay (:meth:`_anneal`).
    """

    _needs_max_steps = False

    def __init__(
        self,
        optimizer: Optimizer,
        *,
        warmup_steps: int | None = None,
        warmup_ratio: float | None = None,
        max_steps: int | None = None,
        min_lr: float = 0.0,
        last_epoch: int = -1,
    ) -> None:
        self.warmup_steps = phase_steps("warmup", warmup_steps, warmup_ratio, max_steps)
        super().__init__(optimizer, max_steps=max_steps, min_lr=min_lr, last_epoch=last_epoch)

    def _lr(self, step: int, base: float) -> float:
        if self.warmup_steps > 0 and step <= self.warmup_steps:
            return self._warmup(step, base)
        if self._holding(step):
            return base
        if self._past_max_steps(step):
            return self.min_lr
        return self._anneal(step, base)

    def _warmup(self, step: int, base: float) -> float:
        return base * ((step + 1) / (self.warmup_steps + 1))

    def _holding(self, step: int) -> bool:
        return False

    def _anneal(self, step: int, base: float) -> float:
        return base

    @property
    def _max_steps(self) -> int:
        """``max_steps`` where the class requires it (checked at construction)."""
        assert self.max_steps is not None
        return self.max_steps


class WarmupHoldPolicy(WarmupPolicy):
    """Warmup, then the peak rate held for ``hold_steps`` (or ``hold_ratio`` of ``max_steps``), then constant.

    ``hold_steps`` is stored as NeMo stores it: the step where the hold ends (warmup plus hold), or 0 when no
    hold is given; the decays of the subclasses count from it.
    """

    def __init__(
        self, optimizer: Optimizer, *, hold_steps: int | None = None, hold_ratio: float | None = None, **kwargs: Any
    ) -> None:
        max_steps = kwargs.get("max_steps")
        hold = phase_steps("hold", hold_steps, hold_ratio, max_steps)
        warmup = phase_steps("warmup", kwargs.get("warmup_steps"), kwargs.get("warmup_ratio"), max_steps)
        self.hold_steps = hold + warmup if hold_steps is not None or hold_ratio is not None else 0
        super().__init__(optimizer, **kwargs)

    def _holding(self, step: int) -> bool:
        return self.warmup_steps <= step < self.hold_steps


class WarmupAnnealHoldPolicy(WarmupPolicy):
    """Warmup, the schedule's decay, then ``min_lr`` held for the last ``constant_steps`` (or ``constant_ratio``).

    The decay spans ``max_steps - warmup_steps - constant_steps`` steps (``decay_steps``).
    """

    _needs_max_steps = True

    def __init__(
        self,
        optimizer: Optimizer,
        *,
        constant_steps: int | None = None,
        constant_ratio: float | None = None,
        **kwargs: Any,
    ) -> None:
        max_steps = kwargs.get("max_steps")
        warmup = phase_steps("warmup", kwargs.get("warmup_steps"), kwargs.get("warmup_ratio"), max_steps)
        self.constant_steps = phase_steps("constant", constant_steps, constant_ratio, max_steps)
        self.decay_steps = (max_steps or 0) - (self.constant_steps + warmup)
        super().__init__(optimizer, **kwargs)

    def _lr(self, step: int, base: float) -> float:
        if self.warmup_steps > 0 and step <= self.warmup_steps:
            return self._warmup(step, base)
        if self.constant_steps > 0 and self.warmup_steps + self.decay_steps < step <= self._max_steps:
            return self._constant(step, base)
        if self._past_max_steps(step):
            return self.min_lr
        return self._anneal(step, base)

    def _constant(self, step: int, base: float) -> float:
        return self.min_lr


class SquareRootConstantPolicy(Schedule):
    """``1 / sqrt(constant_steps)`` (not scaled by the learning rate) for ``constant_steps`` (or ``constant_ratio``
    of ``max_steps``), then the learning rate; ``min_lr`` after ``max_steps``. T5's schedule builds on it.
    """

    _needs_max_steps = False

    def __init__(
        self,
        optimizer: Optimizer,
        *,
        constant_steps: int | None = None,
        constant_ratio: float | None = None,
        max_steps: int | None = None,
        min_lr: float = 0.0,
        last_epoch: int = -1,
    ) -> None:
        self.constant_steps = phase_steps("constant", constant_steps, constant_ratio, max_steps)
        if self.constant_steps <= 0:  # NeMo divides by zero (or by None)
            raise ValueError(f"{type(self).__name__} needs constant_steps > 0 (or constant_ratio of max_steps)")
        self.constant_lr = 1 / math.pow(self.constant_steps, 0.5)
        super().__init__(optimizer, max_steps=max_steps, min_lr=min_lr, last_epoch=last_epoch)

    def _lr(self, step: int, base: float) -> float:
        if step <= self.constant_steps:
            return self.constant_lr
        if self._past_max_steps(step):
            return self.min_lr
        return self._anneal(step, base)

    def _anneal(self, step: int, base: float) -> float:
        return base
