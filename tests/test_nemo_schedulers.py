"""NeMo's learning-rate schedules: the curves a real optimizer sees equal NeMo's formulas, and the names resolve.

Each reference below is transcribed from NeMo's ``nemo/core/optim/lr_scheduler.py`` (its phases and its
arithmetic), written out independently of ``neuraltypes.optim``.
"""

import math
import re
from collections.abc import Callable
from typing import Any

import pytest
import torch

from neuraltypes.optim import (
    OPTIMIZERS,
    SCHEDULERS,
    CosineAnnealing,
    InverseSquareRootAnnealing,
    NoamAnnealing,
    NoamHoldAnnealing,
    PolynomialDecayAnnealing,
    PolynomialHoldDecayAnnealing,
    SquareAnnealing,
    SquareRootAnnealing,
    SquareRootConstantPolicy,
    T5InverseSquareRootAnnealing,
    WarmupAnnealHoldPolicy,
    WarmupAnnealing,
    WarmupHoldAnnealLinear,
    WarmupHoldAnnealOneMinusSquareRoot,
    WarmupHoldPolicy,
    WarmupPolicy,
    keyword_arguments,
    optimizer_class,
    scheduler_class,
)

LR = 0.1
Reference = Callable[[int, float], float]

# -- NeMo's formulas ---------------------------------------------------------------------------------------


def _warmup(step: int, base: float, warmup: int) -> float:
    return base * ((step + 1) / (warmup + 1))


def _hold_end(warmup: int, hold: int | None) -> int:
    return 0 if hold is None else hold + warmup  # NeMo's hold_steps attribute


def nemo_warmup_policy(warmup: int, max_steps: int, min_lr: float, anneal: Reference | None = None) -> Reference:
    def lr(step: int, base: float) -> float:
        if warmup > 0 and step <= warmup:
            return _warmup(step, base, warmup)
        if step > max_steps:
            return min_lr
        return anneal(step, base) if anneal else base

    return lr


def nemo_warmup_hold_policy(
    warmup: int, hold: int | None, max_steps: int, min_lr: float, anneal: Reference | None = None
) -> Reference:
    end = _hold_end(warmup, hold)

    def lr(step: int, base: float) -> float:
        if warmup > 0 and step <= warmup:
            return _warmup(step, base, warmup)
        if warmup <= step < end:
            return base
        if step > max_steps:
            return min_lr
        return anneal(step, base) if anneal else base

    return lr


def nemo_cosine(warmup: int, max_steps: int, min_lr: float, constant: int = 0) -> Reference:
    decay = max_steps - (constant + warmup)

    def lr(step: int, base: float) -> float:
        if constant == 0:
            if warmup > 0 and step <= warmup:
                return _warmup(step, base, warmup)
            if step > max_steps:
                return min_lr
            mult = 0.5 * (1 + math.cos(math.pi * (step - warmup) / (max_steps - warmup)))
            return (base - min_lr) * mult + min_lr
        # Megatron's variant (_linear_warmup_with_cosine_annealing), used in every phase
        if warmup > 0 and step <= warmup:
            return base * float(step) / float(warmup)
        if step > warmup + decay:
            return min_lr
        coeff = 0.5 * (math.cos(math.pi * (float(step - warmup) / float(decay))) + 1.0)
        return min_lr + coeff * (base - min_lr)

    return lr


def nemo_warmup_anneal_hold(warmup: int, constant: int, max_steps: int, min_lr: float) -> Reference:
    decay = max_steps - (constant + warmup)

    def lr(step: int, base: float) -> float:
        if warmup > 0 and step <= warmup:
            return _warmup(step, base, warmup)
        if constant > 0 and warmup + decay < step <= max_steps:
            return min_lr
        if step > max_steps:
            return min_lr
        return base

    return lr


def nemo_noam(d_model: int, warmup: int, min_lr: float) -> Reference:
    def lr(step: int, base: float) -> float:
        step = max(1, step)
        if warmup > 0:
            mult = d_model ** (-0.5) * min(step ** (-0.5), step * (warmup ** (-1.5)))
        else:
            mult = d_model ** (-0.5) * step ** (-0.5)
        out = float(base * mult)
        return max(out, min_lr) if step > warmup else out

    return lr


def nemo_poly(step: float, base: float, decay_steps: float, power: float, min_lr: float, cycle: bool) -> float:
    if cycle:
        decay_steps *= 1.0 if step == 0 else math.ceil(step / decay_steps)
    else:
        step = min(step, decay_steps)
    return (base - min_lr) * math.pow(1.0 - step / decay_steps, power) + min_lr


def nemo_sqrt_constant(constant: int, max_steps: int, min_lr: float, t5: bool) -> Reference:
    def lr(step: int, base: float) -> float:
        if step <= constant:
            return float(1 / (constant**0.5))
        if step > max_steps:
            return min_lr
        return float(1 / (step**0.5)) if t5 else base

    return lr


def _noam_hold(warmup: int, hold: int | None, rate: float, min_lr: float) -> Reference:
    end = _hold_end(warmup, hold)
    holding = end - warmup if end > 0 else 0
    return lambda step, base: max(base * max(1, warmup**rate) / max(1, (step - holding) ** rate), min_lr)


def _curves() -> list[Any]:
    """(class, arguments, reference, max_steps) for every schedule, at several configurations."""
    cases: list[tuple[type[torch.optim.lr_scheduler.LRScheduler], dict[str, Any], Reference, int]] = []

    def add(cls: Any, arguments: dict[str, Any], reference: Reference) -> None:
        cases.append((cls, arguments, reference, arguments.get("max_steps", 20)))

    add(WarmupPolicy, {"warmup_steps": 3, "max_steps": 10, "min_lr": 0.01}, nemo_warmup_policy(3, 10, 0.01))
    add(WarmupPolicy, {"warmup_ratio": 0.25, "max_steps": 12}, nemo_warmup_policy(3, 12, 0.0))
    add(WarmupHoldPolicy, {"warmup_steps": 2, "hold_steps": 3, "max_steps": 12, "min_lr": 0.01},
        nemo_warmup_hold_policy(2, 3, 12, 0.01))  # fmt: skip
    add(WarmupHoldPolicy, {"warmup_ratio": 0.25, "hold_ratio": 0.25, "max_steps": 12},
        nemo_warmup_hold_policy(3, 3, 12, 0.0))  # fmt: skip
    for warmup, constant, min_lr in ((3, 0, 0.01), (0, 0, 0.0), (3, 4, 0.01), (0, 5, 0.02)):
        add(CosineAnnealing, {"warmup_steps": warmup, "constant_steps": constant, "max_steps": 20, "min_lr": min_lr},
            nemo_cosine(warmup, 20, min_lr, constant))  # fmt: skip
    add(CosineAnnealing, {"warmup_ratio": 0.1, "max_steps": 30, "min_lr": 1e-3}, nemo_cosine(3, 30, 1e-3))
    add(CosineAnnealing, {"warmup_ratio": 0.1, "constant_ratio": 0.2, "max_steps": 30, "min_lr": 1e-3},
        nemo_cosine(3, 30, 1e-3, constant=6))  # fmt: skip
    add(WarmupAnnealHoldPolicy, {"warmup_steps": 2, "constant_steps": 3, "max_steps": 12, "min_lr": 0.01},
        nemo_warmup_anneal_hold(2, 3, 12, 0.01))  # fmt: skip
    add(NoamAnnealing, {"d_model": 16, "warmup_steps": 5, "max_steps": 20, "min_lr": 0.004}, nemo_noam(16, 5, 0.004))
    add(NoamAnnealing, {"d_model": 4, "max_steps": 20}, nemo_noam(4, 0, 0.0))
    add(NoamAnnealing, {"d_model": 4, "warmup_ratio": 0.2, "max_steps": 20}, nemo_noam(4, 4, 0.0))

    def warmup_annealing(warmup: int, max_steps: int, min_lr: float) -> Reference:
        def anneal(step: int, base: float) -> float:
            return min_lr + (1 - (step - warmup) / (max_steps - warmup)) * (base - min_lr)

        return nemo_warmup_policy(warmup, max_steps, min_lr, anneal)

    add(WarmupAnnealing, {"warmup_steps": 3, "max_steps": 15, "min_lr": 0.01}, warmup_annealing(3, 15, 0.01))
    add(WarmupAnnealing, {"max_steps": 15}, warmup_annealing(0, 15, 0.0))

    def square_root(warmup: int, max_steps: int, min_lr: float) -> Reference:
        anneal: Reference = lambda step, base: max(base * ((max_steps - step) / max_steps) ** 0.5, min_lr)  # noqa: E731
        return nemo_warmup_policy(warmup, max_steps, min_lr, anneal)

    add(SquareRootAnnealing, {"warmup_steps": 3, "max_steps": 15, "min_lr": 0.03}, square_root(3, 15, 0.03))
    add(SquareRootAnnealing, {"max_steps": 15}, square_root(0, 15, 0.0))

    def square(warmup: int, max_steps: int, min_lr: float) -> Reference:
        span = max_steps - warmup
        anneal: Reference = lambda step, base: max(base * ((span - (step - warmup)) / span) ** 2, min_lr)  # noqa: E731
        return nemo_warmup_policy(warmup, max_steps, min_lr, anneal)

    add(SquareAnnealing, {"warmup_steps": 2, "max_steps": 15}, square(2, 15, 1e-5))  # NeMo's default min_lr
    add(SquareAnnealing, {"max_steps": 15, "min_lr": 0.02}, square(0, 15, 0.02))

    def inverse_square_root(warmup: int, max_steps: int, min_lr: float) -> Reference:
        anneal: Reference = lambda step, base: base / ((step + 1) / (warmup + 1)) ** 0.5  # noqa: E731
        return nemo_warmup_policy(warmup, max_steps, min_lr, anneal)

    add(InverseSquareRootAnnealing, {"warmup_steps": 4, "max_steps": 15, "min_lr": 0.001},
        inverse_square_root(4, 15, 0.001))  # fmt: skip
    add(InverseSquareRootAnnealing, {"max_steps": 10}, inverse_square_root(0, 10, 0.0))

    def polynomial(warmup: int, max_steps: int, min_lr: float, power: float, cycle: bool) -> Reference:
        anneal: Reference = lambda step, base: nemo_poly(step - warmup, base, max_steps - warmup, power, min_lr, cycle)  # noqa: E731
        return nemo_warmup_policy(warmup, max_steps, min_lr, anneal)

    add(PolynomialDecayAnnealing, {"warmup_steps": 2, "max_steps": 15, "power": 2.0, "min_lr": 0.001},
        polynomial(2, 15, 0.001, 2.0, False))  # fmt: skip
    add(PolynomialDecayAnnealing, {"max_steps": 15, "cycle": True}, polynomial(0, 15, 0.0, 1.0, True))

    def polynomial_hold(warmup: int, hold: int | None, max_steps: int, min_lr: float, power: float) -> Reference:
        end = _hold_end(warmup, hold)
        decay = max_steps - max(warmup, end)
        anneal: Reference = lambda step, base: nemo_poly(step - end, base, decay, power, min_lr, False)  # noqa: E731
        return nemo_warmup_hold_policy(warmup, hold, max_steps, min_lr, anneal)

    add(PolynomialHoldDecayAnnealing, {"warmup_steps": 2, "hold_steps": 3, "max_steps": 15, "power": 2.0,
        "min_lr": 0.001}, polynomial_hold(2, 3, 15, 0.001, 2.0))  # fmt: skip
    add(PolynomialHoldDecayAnnealing, {"warmup_steps": 3, "max_steps": 15}, polynomial_hold(3, None, 15, 0.0, 1.0))
    add(PolynomialHoldDecayAnnealing, {"warmup_steps": 3, "hold_steps": 0, "max_steps": 15},
        polynomial_hold(3, 0, 15, 0.0, 1.0))  # fmt: skip

    for hold, rate, min_lr in ((4, 0.5, 1e-3), (None, 1.0, 0.0), (2, 1.0, 0.02)):
        reference = nemo_warmup_hold_policy(3, hold, 20, min_lr, _noam_hold(3, hold, rate, min_lr))
        add(NoamHoldAnnealing, {"warmup_steps": 3, "hold_steps": hold, "max_steps": 20, "decay_rate": rate,
            "min_lr": min_lr}, reference)  # fmt: skip

    def one_minus_square_root(warmup: int, hold: int | None, max_steps: int, min_lr: float) -> Reference:
        end = _hold_end(warmup, hold)
        anneal: Reference = lambda step, base: max(min_lr, base * (1 - ((step - end) / (max_steps - end)) ** 0.5))  # noqa: E731
        return nemo_warmup_hold_policy(warmup, hold, max_steps, min_lr, anneal)

    add(WarmupHoldAnnealOneMinusSquareRoot, {"warmup_steps": 2, "hold_steps": 3, "max_steps": 15, "min_lr": 0.01},
        one_minus_square_root(2, 3, 15, 0.01))  # fmt: skip
    add(WarmupHoldAnnealOneMinusSquareRoot, {"warmup_steps": 2, "max_steps": 15},
        one_minus_square_root(2, None, 15, 0.0))  # fmt: skip

    def linear(warmup: int, hold: int | None, max_steps: int, min_lr: float) -> Reference:
        end = _hold_end(warmup, hold)
        anneal: Reference = lambda step, base: base - (base - min_lr) * ((step - end) / (max_steps - end))  # noqa: E731
        return nemo_warmup_hold_policy(warmup, hold, max_steps, min_lr, anneal)

    add(WarmupHoldAnnealLinear, {"warmup_steps": 2, "hold_steps": 3, "max_steps": 15, "min_lr": 0.01},
        linear(2, 3, 15, 0.01))  # fmt: skip
    add(WarmupHoldAnnealLinear, {"warmup_ratio": 0.2, "hold_ratio": 0.2, "max_steps": 15}, linear(3, 3, 15, 0.0))

    add(SquareRootConstantPolicy, {"constant_steps": 4, "max_steps": 12, "min_lr": 0.001},
        nemo_sqrt_constant(4, 12, 0.001, t5=False))  # fmt: skip
    add(T5InverseSquareRootAnnealing, {"constant_steps": 4, "max_steps": 15, "min_lr": 0.001},
        nemo_sqrt_constant(4, 15, 0.001, t5=True))  # fmt: skip
    add(
        T5InverseSquareRootAnnealing, {"constant_ratio": 0.25, "max_steps": 16}, nemo_sqrt_constant(4, 16, 0.0, t5=True)
    )
    return [pytest.param(*case, id=f"{case[0].__name__}-{i}") for i, case in enumerate(cases)]


def _rates(
    scheduler_class: Any, arguments: dict[str, Any], steps: int, lrs: tuple[float, ...] = (LR,)
) -> list[list[float]]:
    """The learning rate of every parameter group at each step 0..steps-1, as an optimizer stepping sees it."""
    groups = [{"params": [torch.nn.Parameter(torch.ones(2))], "lr": lr} for lr in lrs]
    optimizer = torch.optim.SGD(groups, lr=lrs[0])
    scheduler = scheduler_class(optimizer, **arguments)
    seen = []
    for _ in range(steps):
        seen.append([group["lr"] for group in optimizer.param_groups])
        optimizer.step()
        scheduler.step()
    return seen


# -- curves ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("cls", "arguments", "reference", "max_steps"), _curves())
def test_the_curve_is_nemos_through_warmup_hold_decay_and_after_max_steps(
    cls: Any, arguments: dict[str, Any], reference: Reference, max_steps: int
) -> None:
    steps = max_steps + 6
    seen = [rates[0] for rates in _rates(cls, arguments, steps)]
    expected = [reference(step, LR) for step in range(steps)]
    assert seen == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_every_schedule_is_covered_by_a_curve() -> None:
    covered = {param.values[0] for param in _curves()}
    ours = {cls for cls in SCHEDULERS.values() if cls.__module__.startswith("neuraltypes.")}
    assert ours | {SquareRootConstantPolicy} == covered


def test_warmup_ratio_is_truncated_to_whole_steps_of_max_steps() -> None:
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=LR)
    assert CosineAnnealing(optimizer, warmup_ratio=0.05, max_steps=110).warmup_steps == 5


def test_each_parameter_group_decays_from_its_own_learning_rate() -> None:
    # NeMo's WarmupAnnealing gives every group the first group's rate; with one group the curves are equal.
    seen = _rates(WarmupAnnealing, {"warmup_steps": 2, "max_steps": 10}, 12, lrs=(0.1, 0.02))
    reference = nemo_warmup_policy(2, 10, 0.0, lambda step, base: (1 - (step - 2) / 8) * base)
    assert [rates[1] for rates in seen] == pytest.approx([reference(step, 0.02) for step in range(12)])


def test_a_scheduler_resumes_from_last_epoch() -> None:
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=LR)
    CosineAnnealing(optimizer, warmup_steps=2, max_steps=10)  # sets initial_lr, as a checkpointed run had
    resumed = CosineAnnealing(optimizer, warmup_steps=2, max_steps=10, last_epoch=5)
    assert resumed.get_last_lr()[0] == pytest.approx(nemo_cosine(2, 10, 0.0)(6, LR))


# -- construction errors -----------------------------------------------------------------------------------


def _optimizer(lr: float = LR) -> torch.optim.Optimizer:
    return torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=lr)


@pytest.mark.parametrize(
    ("cls", "arguments", "message"),
    [
        (CosineAnnealing, {"warmup_steps": 2, "warmup_ratio": 0.1, "max_steps": 10},
         "give either warmup_steps or warmup_ratio, not both (warmup_steps=2, warmup_ratio=0.1)"),
        (WarmupHoldPolicy, {"hold_steps": 2, "hold_ratio": 0.1, "max_steps": 10},
         "give either hold_steps or hold_ratio, not both (hold_steps=2, hold_ratio=0.1)"),
        (CosineAnnealing, {"constant_steps": 2, "constant_ratio": 0.1, "max_steps": 10},
         "give either constant_steps or constant_ratio, not both (constant_steps=2, constant_ratio=0.1)"),
        (WarmupPolicy, {"warmup_ratio": 0.1},
         "warmup_ratio=0.1 is a fraction of max_steps, and max_steps is not given"),
        (CosineAnnealing, {"warmup_steps": 2},
         "CosineAnnealing needs max_steps, the number of optimizer steps it spans"),
        (PolynomialDecayAnnealing, {"power": 2.0}, "PolynomialDecayAnnealing needs max_steps, the number of optimizer"),
        (SquareAnnealing, {"max_steps": -1},
         "SquareAnnealing: max_steps must be a non-negative number of steps, not -1"),
        (CosineAnnealing, {"max_steps": 10, "min_lr": 0.5},
         "CosineAnnealing: min_lr=0.5 is above the optimizer's learning rate [0.1]"),
        (NoamAnnealing, {"d_model": 8, "min_lr": 0.5},
         "NoamAnnealing: min_lr=0.5 is above the optimizer's learning rate"),
        (NoamHoldAnnealing, {"hold_steps": 3, "max_steps": 10},
         "NoamHoldAnnealing needs a warmup: set warmup_steps or warmup_ratio"),
        (SquareRootConstantPolicy, {"max_steps": 10},
         "SquareRootConstantPolicy needs constant_steps > 0 (or constant_ratio of max_steps)"),
    ],
)  # fmt: skip
def test_a_schedule_configured_wrongly_is_refused_at_construction(
    cls: Any, arguments: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        cls(_optimizer(), **arguments)


# -- names -------------------------------------------------------------------------------------------------

NEMO_SCHEDULER_NAMES = {
    "WarmupPolicy", "WarmupHoldPolicy", "SquareAnnealing", "CosineAnnealing", "NoamAnnealing", "NoamHoldAnnealing",
    "WarmupHoldAnnealOneMinusSquareRoot", "WarmupHoldAnnealLinear", "WarmupAnnealing", "InverseSquareRootAnnealing",
    "T5InverseSquareRootAnnealing", "SquareRootAnnealing", "PolynomialDecayAnnealing", "PolynomialHoldDecayAnnealing",
    "StepLR", "ExponentialLR", "ReduceLROnPlateau", "CyclicLR",
}  # fmt: skip


def test_nemos_scheduler_names_resolve_to_their_classes() -> None:
    assert set(SCHEDULERS) == NEMO_SCHEDULER_NAMES | {"WarmupAnnealHoldPolicy"}
    for name in SCHEDULERS:
        assert scheduler_class(name).__name__ == name
    assert scheduler_class("StepLR") is torch.optim.lr_scheduler.StepLR


def test_the_name_tables_are_read_only() -> None:
    with pytest.raises(TypeError):
        SCHEDULERS["Mine"] = WarmupPolicy  # type: ignore[index]
    with pytest.raises(TypeError):
        OPTIMIZERS["mine"] = torch.optim.SGD  # type: ignore[index]


ALL_SCHEDULER_NAMES = (
    "CosineAnnealing, CyclicLR, ExponentialLR, InverseSquareRootAnnealing, NoamAnnealing, NoamHoldAnnealing, "
    "PolynomialDecayAnnealing, PolynomialHoldDecayAnnealing, ReduceLROnPlateau, SquareAnnealing, "
    "SquareRootAnnealing, StepLR, T5InverseSquareRootAnnealing, WarmupAnnealHoldPolicy, WarmupAnnealing, "
    "WarmupHoldAnnealLinear, WarmupHoldAnnealOneMinusSquareRoot, WarmupHoldPolicy, WarmupPolicy"
)


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        ("cosineannealing", " (did you mean 'CosineAnnealing'?)"),
        ("CosineAnealing", " (did you mean 'CosineAnnealing' or 'SquareAnnealing' or 'NoamAnnealing'?)"),
        ("ExponentialAnnealing", " (did you mean 'ExponentialLR' or 'CosineAnnealing' or 'PolynomialDecayAnnealing'?)"),
        ("OneCycle", ""),
    ],
)
def test_an_unknown_scheduler_name_is_refused_with_the_closest_names_and_all_names(name: str, hint: str) -> None:
    with pytest.raises(ValueError) as caught:
        scheduler_class(name)
    assert str(caught.value) == (
        f"{name!r} is not a scheduler name{hint}; the names are {ALL_SCHEDULER_NAMES} (or give the class by '_target_')"
    )


def test_nemos_optimizer_names_resolve_to_torchs_classes_in_any_case() -> None:
    expected = {
        "sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "adadelta": torch.optim.Adadelta,
        "adamax": torch.optim.Adamax, "adagrad": torch.optim.Adagrad, "rmsprop": torch.optim.RMSprop,
        "rprop": torch.optim.Rprop,
    }  # fmt: skip
    assert dict(OPTIMIZERS) == expected
    for name, cls in expected.items():
        assert optimizer_class(name.upper(), {"lr": 0.5}) == (cls, {"lr": 0.5})


def test_fused_adam_is_torchs_fused_adamw_with_apexs_defaults() -> None:
    assert optimizer_class("fused_adam", {"lr": 0.1, "set_grad_none": True}) == (
        torch.optim.AdamW,
        {"lr": 0.1, "weight_decay": 0.0, "fused": True},
    )
    cls, arguments = optimizer_class("fused_adam", {"adam_w_mode": False, "weight_decay": 0.1, "foreach": True})
    assert (cls, arguments) == (torch.optim.Adam, {"weight_decay": 0.1, "foreach": True})
    optimizer = cls([torch.nn.Parameter(torch.ones(1))], **optimizer_class("fused_adam", {})[1])
    assert optimizer.defaults["fused"] is True


@pytest.mark.parametrize(
    ("name", "arguments", "message"),
    [
        ("adamww", {}, "'adamww' is not an optimizer name (did you mean 'adamw' or 'adam' or 'adamax'?); the names "
         "are adadelta, adagrad, adam, adamax, adamw, fused_adam, rmsprop, rprop, sgd (or give the class by "
         "'_target_')"),
        ("lion", {}, "'lion' is not an optimizer name; the names are adadelta, adagrad"),
        ("novograd", {}, "optimizer 'novograd' is not supported: NeMo's own NovoGrad (layer-wise second moments) has "
         "no torch equivalent; use 'adamw', or name your implementation by '_target_'"),
        ("adafactor", {}, "optimizer 'adafactor' is not supported: NeMo's Adafactor (relative_step, scale_parameter, "
         "warmup_init) is not torch.optim.Adafactor; for torch's, whose arguments differ, write '_target_: "
         "torch.optim.Adafactor'"),
        ("distributed_fused_adam", {}, "optimizer 'distributed_fused_adam' is not supported: it shards the optimizer "
         "state across data-parallel ranks (apex/Megatron); use 'fused_adam' or 'adamw' (unsharded), with "
         "Lightning's FSDP strategy to shard"),
        ("fused_adam", {"bias_correction": False}, "fused_adam with bias_correction: False is not supported: torch's "
         "Adam always corrects the moments' bias"),
        ("fused_adam", {"amsgrad": True}, "fused_adam with amsgrad: True is not supported: apex's FusedAdam refuses "
         "it too; use 'adamw' with amsgrad: true"),
    ],
)  # fmt: skip
def test_unknown_and_unsupported_optimizer_names_are_refused_with_the_alternative(
    name: str, arguments: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError) as caught:
        optimizer_class(name, arguments)
    assert str(caught.value).startswith(message)


def test_keyword_arguments_follow_kwargs_to_the_base_constructors() -> None:
    assert keyword_arguments(CosineAnnealing) == frozenset({
        "constant_ratio", "constant_steps", "last_epoch", "max_steps", "min_lr", "warmup_ratio", "warmup_steps",
    })  # fmt: skip
    assert keyword_arguments(NoamHoldAnnealing) == frozenset({
        "decay_rate", "hold_ratio", "hold_steps", "last_epoch", "max_steps", "min_lr", "warmup_ratio", "warmup_steps",
    })  # fmt: skip
    assert keyword_arguments(torch.optim.lr_scheduler.StepLR) == frozenset({"step_size", "gamma", "last_epoch"})


def test_the_schedules_carry_the_config_layers_instantiable_mark() -> None:
    from neuraltypes.config import instantiate
    from neuraltypes.config._allowlist import INSTANTIABLE_MARK
    from neuraltypes.optim._policies import Schedule

    assert vars(Schedule)[INSTANTIABLE_MARK] is True  # written by hand there: the layer does not import config
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    built = instantiate({"_target_": "neuraltypes.optim.CosineAnnealing", "max_steps": 10}, optimizer)
    assert type(built).__name__ == "CosineAnnealing"
