"""NeMo's learning-rate schedules as torch ``LRScheduler`` subclasses, with NeMo's names, arguments and curves.

Every schedule is a function of the step (``last_epoch``: the number of optimizer steps taken so far) and of
each parameter group's initial learning rate. Most have NeMo's three phases: a linear warmup over
``warmup_steps`` (``(step + 1) / (warmup_steps + 1)`` of the peak), an optional hold at the peak, then the
schedule's own decay until ``max_steps``, after which the rate is ``min_lr``. ``*_ratio`` arguments are
fractions of ``max_steps``, truncated to whole steps as NeMo does.

Where NeMo's code fails or is inconsistent, the curve is NeMo's and the failure is a clear error at
construction instead: ``warmup_steps`` and ``warmup_ratio`` together, a ``min_lr`` above the learning rate,
``NoamHoldAnnealing`` without warmup, ``SquareRootConstantPolicy`` without constant steps. Two deliberate
differences, both invisible with a single parameter group: ``WarmupAnnealing`` and ``CosineAnnealing`` with
``constant_steps`` decay each group from its own learning rate (NeMo uses the first group's for all), and
``SquareRootConstantPolicy`` honours ``constant_ratio`` (NeMo raises a ``TypeError`` on it). NeMo's
Megatron-only ``reset_lr`` parameter-group entry is not read.
"""

from __future__ import annotations

import math
from typing import Any

from torch.optim import Optimizer

from ._policies import (
    SquareRootConstantPolicy,
    WarmupAnnealHoldPolicy,
    WarmupHoldPolicy,
    WarmupPolicy,
    phase_steps,
    refuse_min_lr_above_lr,
)

__all__ = [
    "CosineAnnealing",
    "InverseSquareRootAnnealing",
    "NoamAnnealing",
    "NoamHoldAnnealing",
    "PolynomialDecayAnnealing",
    "PolynomialHoldDecayAnnealing",
    "SquareAnnealing",
    "SquareRootAnnealing",
    "T5InverseSquareRootAnnealing",
    "WarmupAnnealing",
    "WarmupHoldAnnealLinear",
    "WarmupHoldAnnealOneMinusSquareRoot",
]


class WarmupHoldAnnealOneMinusSquareRoot(WarmupHoldPolicy):
    """Warmup, hold, then ``base * (1 - sqrt((step - hold_end) / (max_steps - hold_end)))``, at least ``min_lr``."""

    _needs_max_steps = True

    def _anneal(self, step: int, base: float) -> float:
        fraction = (step - self.hold_steps) / (self._max_steps - self.hold_steps)
        return max(self.min_lr, base * (1 - math.pow(fraction, 0.5)))


class WarmupHoldAnnealLinear(WarmupHoldPolicy):
    """Warmup, hold, then linear from the peak to ``min_lr`` at ``max_steps``."""

    _needs_max_steps = True

    def _anneal(self, step: int, base: float) -> float:
        fraction = (step - self.hold_steps) / (self._max_steps - self.hold_steps)
        return base - (base - self.min_lr) * fraction


class WarmupAnnealing(WarmupPolicy):
    """Warmup, then linear from the peak to ``min_lr`` at ``max_steps``."""

    _needs_max_steps = True

    def _anneal(self, step: int, base: float) -> float:
        fraction = (step - self.warmup_steps) / (self._max_steps - self.warmup_steps)
        return self.min_lr + (1 - fraction) * (base - self.min_lr)


class SquareAnnealing(WarmupPolicy):
    """Warmup, then ``base * ((max_steps - step) / (max_steps - warmup_steps))**2``, at least ``min_lr``."""

    _needs_max_steps = True

    def __init__(self, optimizer: Optimizer, *, min_lr: float = 1e-5, **kwargs: Any) -> None:
        super().__init__(optimizer, min_lr=min_lr, **kwargs)  # NeMo's default min_lr for this schedule

    def _anneal(self, step: int, base: float) -> float:
        span = self._max_steps - self.warmup_steps
        return max(base * ((span - (step - self.warmup_steps)) / span) ** 2, self.min_lr)


class SquareRootAnnealing(WarmupPolicy):
    """Warmup, then ``base * sqrt((max_steps - step) / max_steps)``, at least ``min_lr``.

    As in NeMo, the decay counts from step 0, not from the end of the warmup.
    """

    _needs_max_steps = True

    def _anneal(self, step: int, base: float) -> float:
        return max(base * math.pow((self._max_steps - step) / self._max_steps, 0.5), self.min_lr)


class InverseSquareRootAnnealing(WarmupPolicy):
    """Warmup, then ``base / sqrt((step + 1) / (warmup_steps + 1))``; ``min_lr`` only after ``max_steps``."""

    _needs_max_steps = True

    def _anneal(self, step: int, base: float) -> float:
        return base / math.pow((step + 1) / (self.warmup_steps + 1), 0.5)


def _polynomial_decay(base: float, step: int, decay_steps: int, power: float, min_lr: float, cycle: bool) -> float:
    if cycle:
        decay_steps *= 1 if step == 0 else math.ceil(step / decay_steps)
    else:
        step = min(step, decay_steps)
    return (base - min_lr) * math.pow(1.0 - step / decay_steps, power) + min_lr


class PolynomialDecayAnnealing(WarmupPolicy):
    """Warmup, then ``(base - min_lr) * (1 - (step - warmup) / (max_steps - warmup))**power + min_lr``.

    ``cycle`` restarts the decay every ``max_steps - warmup_steps`` steps, as NeMo's option does; since the rate
    is ``min_lr`` after ``max_steps`` anyway, it changes nothing before it.
    """

    _needs_max_steps = True

    def __init__(self, optimizer: Optimizer, *, power: float = 1.0, cycle: bool = False, **kwargs: Any) -> None:
        self.power = power
        self.cycle = cycle
        super().__init__(optimizer, **kwargs)

    def _anneal(self, step: int, base: float) -> float:
        decay_steps = self._max_steps - self.warmup_steps
        return _polynomial_decay(base, step - self.warmup_steps, decay_steps, self.power, self.min_lr, self.cycle)


class PolynomialHoldDecayAnnealing(WarmupHoldPolicy):
    """Warmup, hold, then the polynomial decay of :class:`PolynomialDecayAnnealing` counted from the hold's end.

    As in NeMo the decay spans ``max_steps - max(warmup_steps, hold_end)`` steps, and without a hold it counts
    from step 0 (so it reaches ``min_lr`` ``warmup_steps`` steps early and stays there).
    """

    _needs_max_steps = True

    def __init__(self, optimizer: Optimizer, *, power: float = 1.0, cycle: bool = False, **kwargs: Any) -> None:
        self.power = power
        self.cycle = cycle
        super().__init__(optimizer, **kwargs)

    def _anneal(self, step: int, base: float) -> float:
        decay_steps = self._max_steps - max(self.warmup_steps, self.hold_steps)
        return _polynomial_decay(base, step - self.hold_steps, decay_steps, self.power, self.min_lr, self.cycle)


class NoamHoldAnnealing(WarmupHoldPolicy):
    """Warmup, hold, then ``base * warmup_steps**decay_rate / (step - hold)**decay_rate``, at least ``min_lr``.

    The SqueezeFormer schedule (``decay_rate`` 0.5 is Noam's decay, 1.0 SqueezeFormer's); ``hold`` is the
    number of hold steps, so the decay starts from the peak rate. It needs a warmup.
    """

    _needs_max_steps = True

    def __init__(self, optimizer: Optimizer, *, decay_rate: float = 0.5, **kwargs: Any) -> None:
        self.decay_rate = decay_rate
        warmup = phase_steps("warmup", kwargs.get("warmup_steps"), kwargs.get("warmup_ratio"), kwargs.get("max_steps"))
        if warmup == 0:  # NeMo raises this at the first step after the hold
            raise ValueError("NoamHoldAnnealing needs a warmup: set warmup_steps or warmup_ratio")
        super().__init__(optimizer, **kwargs)

    def _anneal(self, step: int, base: float) -> float:
        hold = self.hold_steps - self.warmup_steps if self.hold_steps > 0 else 0
        decayed = (
            base
            * max(1.0, math.pow(self.warmup_steps, self.decay_rate))
            / max(1.0, math.pow(step - hold, self.decay_rate))
        )
        return max(decayed, self.min_lr)


class NoamAnnealing(WarmupPolicy):
    """The Transformer's schedule: ``base * d_model**-0.5 * min(step**-0.5, step * warmup_steps**-1.5)``.

    Counted from step 1; after the warmup the rate is at least ``min_lr``. ``max_steps`` only serves
    ``warmup_ratio``: the rate does not drop to ``min_lr`` after it.
    """

    def __init__(self, optimizer: Optimizer, *, d_model: int, **kwargs: Any) -> None:
        self.d_model = d_model
        self._normalize = math.pow(d_model, -0.5)
        refuse_min_lr_above_lr(type(self).__name__, optimizer, kwargs.get("min_lr", 0.0))
        super().__init__(optimizer, **kwargs)

    def _lr(self, step: int, base: float) -> float:
        step = max(1, step)
        if self.warmup_steps > 0:
            scale = self._normalize * min(math.pow(step, -0.5), step * math.pow(self.warmup_steps, -1.5))
        else:
            scale = self._normalize * math.pow(step, -0.5)
        if step > self.warmup_steps:
            return max(base * scale, self.min_lr)
        return base * scale


class CosineAnnealing(WarmupAnnealHoldPolicy):
    """Warmup, then a half cosine from the peak to ``min_lr``: ``min_lr + (base - min_lr) * (1 + cos(pi * t)) / 2``.

    Without ``constant_steps``: NeMo's warmup, and ``t = (step - warmup) / (max_steps - warmup)``. With
    ``constant_steps``: Megatron's variant, a warmup of ``base * step / warmup_steps``, ``t = (step - warmup) /
    decay_steps``, then ``min_lr`` for the last ``constant_steps``.
    """

    def __init__(self, optimizer: Optimizer, *, min_lr: float = 0.0, **kwargs: Any) -> None:
        refuse_min_lr_above_lr(type(self).__name__, optimizer, min_lr)
        super().__init__(optimizer, min_lr=min_lr, **kwargs)

    def _anneal(self, step: int, base: float) -> float:
        if self.constant_steps == 0:
            # NeMo's order of operations, so the rates are NeMo's to the last bit
            scale = 0.5 * (1 + math.cos(math.pi * (step - self.warmup_steps) / (self._max_steps - self.warmup_steps)))
            return (base - self.min_lr) * scale + self.min_lr
        return self._megatron(step, base)

    def _warmup(self, step: int, base: float) -> float:
        return super()._warmup(step, base) if self.constant_steps == 0 else self._megatron(step, base)

    def _constant(self, step: int, base: float) -> float:
        return self._megatron(step, base)

    def _megatron(self, step: int, base: float) -> float:
        if self.warmup_steps > 0 and step <= self.warmup_steps:
            return base * step / self.warmup_steps
        if step > self.warmup_steps + self.decay_steps:
            return self.min_lr
        fraction = (step - self.warmup_steps) / self.decay_steps
        return self.min_lr + 0.5 * (math.cos(math.pi * fraction) + 1.0) * (base - self.min_lr)


class T5InverseSquareRootAnnealing(SquareRootConstantPolicy):
    """T5's schedule: ``1 / sqrt(max(step, constant_steps))``, whatever the learning rate; then ``min_lr``
    after ``max_steps``.
    """

    _needs_max_steps = True

    def _anneal(self, step: int, base: float) -> float:
        return 1 / math.pow(step, 0.5)
