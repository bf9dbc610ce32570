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
from typing import Any, ClassVar

from torch import Tensor
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

__all__ = [
    "CosineAnnealing",
    "InverseSquareRootAnnealing",
    "NoamAnnealing",
    "NoamHoldAnnealing",
    "PolynomialDecayAnnealing",
    "PolynomialHoldDecayAnnealing",
    "SquareAnnealing",
    "SquareRootAnnealing",
    "SquareRootConstantPolicy",
    "T5InverseSquareRootAnnealing",
    "WarmupAnnealHoldPolicy",
    "WarmupAnnealing",
    "WarmupHoldAnnealLinear",
    "WarmupHoldAnnealOneMinusSquareRoot",
    "WarmupHoldPolicy",
    "WarmupPolicy",
]


def _phase_steps(phase: str, steps: int | None, ratio: float | None, max_steps: int | None) -> int:
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


def _refuse_min_lr_above_lr(schedule: str, optimizer: Optimizer, min_lr: float) -> None:
    # NeMo raises this only once the decay phase is reached, mid-training; the configuration is wrong at once.
    initial = [float(group.get("initial_lr", group["lr"])) for group in optimizer.param_groups]
    if any(lr < min_lr for lr in initial):
        raise ValueError(f"{schedule}: min_lr={min_lr} is above the optimizer's learning rate {initial}")


class _Schedule(LRScheduler):
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


class WarmupPolicy(_Schedule):
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
        self.warmup_steps = _phase_steps("warmup", warmup_steps, warmup_ratio, max_steps)
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
        hold = _phase_steps("hold", hold_steps, hold_ratio, max_steps)
        warmup = _phase_steps("warmup", kwargs.get("warmup_steps"), kwargs.get("warmup_ratio"), max_steps)
        self.hold_steps = hold + warmup if hold_steps is not None or hold_ratio is not None else 0
        super().__init__(optimizer, **kwargs)

    def _holding(self, step: int) -> bool:
        return self.warmup_steps <= step < self.hold_steps


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
        warmup = _phase_steps("warmup", kwargs.get("warmup_steps"), kwargs.get("warmup_ratio"), kwargs.get("max_steps"))
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
        _refuse_min_lr_above_lr(type(self).__name__, optimizer, kwargs.get("min_lr", 0.0))
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
        warmup = _phase_steps("warmup", kwargs.get("warmup_steps"), kwargs.get("warmup_ratio"), max_steps)
        self.constant_steps = _phase_steps("constant", constant_steps, constant_ratio, max_steps)
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


class CosineAnnealing(WarmupAnnealHoldPolicy):
    """Warmup, then a half cosine from the peak to ``min_lr``: ``min_lr + (base - min_lr) * (1 + cos(pi * t)) / 2``.

    Without ``constant_steps``: NeMo's warmup, and ``t = (step - warmup) / (max_steps - warmup)``. With
    ``constant_steps``: Megatron's variant, a warmup of ``base * step / warmup_steps``, ``t = (step - warmup) /
    decay_steps``, then ``min_lr`` for the last ``constant_steps``.
    """

    def __init__(self, optimizer: Optimizer, *, min_lr: float = 0.0, **kwargs: Any) -> None:
        _refuse_min_lr_above_lr(type(self).__name__, optimizer, min_lr)
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


class SquareRootConstantPolicy(_Schedule):
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
        self.constant_steps = _phase_steps("constant", constant_steps, constant_ratio, max_steps)
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


class T5InverseSquareRootAnnealing(SquareRootConstantPolicy):
    """T5's schedule: ``1 / sqrt(max(step, constant_steps))``, whatever the learning rate; then ``min_lr``
    after ``max_steps``.
    """

    _needs_max_steps = True

    def _anneal(self, step: int, base: float) -> float:
        return 1 / math.pow(step, 0.5)
