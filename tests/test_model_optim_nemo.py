"""NeMo's ``optim`` config, unchanged, in ModelPT: names, ``max_steps`` from the trainer, Lightning's entry."""

import math
import re
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import pytest
import torch
from neuraltypes_modules.configs import text_classifier_config
from neuraltypes_modules.text_classifier import TextClassifier
from omegaconf import OmegaConf

from neuraltypes.config import UnsafeTargetError
from neuraltypes.models import build_optimization
from neuraltypes.optim import CosineAnnealing, NoamAnnealing, WarmupAnnealing

NEMO_OPTIM = """
name: adamw
lr: 0.01
betas: [0.9, 0.98]
weight_decay: 0.001
sched:
  name: CosineAnnealing
  warmup_ratio: 0.34
  min_lr: 1.0e-4
"""


def _parameters() -> list[torch.nn.Parameter]:
    return list(torch.nn.Linear(3, 2).parameters())


def _no_trainer() -> int:
    raise AssertionError("the trainer's step count was asked for")


def _nemo_cosine(step: int, base: float, warmup: int, max_steps: int, min_lr: float) -> float:
    """NeMo's CosineAnnealing without constant steps, transcribed."""
    if warmup > 0 and step <= warmup:
        return base * ((step + 1) / (warmup + 1))
    if step > max_steps:
        return min_lr
    return (base - min_lr) * (0.5 * (1 + math.cos(math.pi * (step - warmup) / (max_steps - warmup)))) + min_lr


# -- build_optimization ------------------------------------------------------------------------------------


def test_nemos_optim_config_builds_adamw_and_a_cosine_schedule_over_the_trainers_steps() -> None:
    built = build_optimization(OmegaConf.create(NEMO_OPTIM), _parameters(), lambda: 50)
    optimizer, entry = built["optimizer"], built["lr_scheduler"]
    assert type(optimizer) is torch.optim.AdamW
    assert (optimizer.defaults["betas"], optimizer.defaults["weight_decay"]) == ((0.9, 0.98), 0.001)
    scheduler = entry["scheduler"]
    assert type(scheduler) is CosineAnnealing
    assert (scheduler.max_steps, scheduler.warmup_steps, scheduler.min_lr) == (50, 17, 1e-4)  # int(0.34 * 50)
    assert entry == {"scheduler": scheduler, "interval": "step"}


@pytest.mark.parametrize("absent", [{}, {"max_steps": None}, {"max_steps": -1}, {"max_steps": "auto"}])
def test_an_absent_max_steps_is_the_trainers_step_count(absent: dict[str, Any]) -> None:
    sched = {"name": "WarmupAnnealing", "warmup_steps": 2, **absent}
    scheduler = build_optimization({"name": "sgd", "lr": 0.1, "sched": sched}, _parameters(), lambda: 40)
    assert scheduler["lr_scheduler"]["scheduler"].max_steps == 40


def test_a_max_steps_in_the_config_is_kept_and_the_trainer_not_asked() -> None:
    sched = {"name": "NoamAnnealing", "d_model": 8, "warmup_ratio": 0.1, "max_steps": 30}
    scheduler = build_optimization({"name": "adam", "sched": sched}, _parameters(), _no_trainer)["lr_scheduler"]
    assert (type(scheduler["scheduler"]), scheduler["scheduler"].warmup_steps) == (NoamAnnealing, 3)


def test_nemos_bookkeeping_keys_are_accepted_and_lightnings_go_to_lightning() -> None:
    sched = {
        "name": "WarmupAnnealing", "max_steps": 10, "monitor": "val_loss", "reduce_on_plateau": False,
        "t_max_epochs": 3, "t_accumulate_grad_batches": 1, "t_limit_train_batches": 1.0, "t_num_workers": 1,
        "frequency": 2, "last_epoch": -1,
    }  # fmt: skip
    entry = build_optimization({"name": "sgd", "lr": 0.1, "sched": sched}, _parameters(), _no_trainer)["lr_scheduler"]
    assert type(entry.pop("scheduler")) is WarmupAnnealing
    assert entry == {"monitor": "val_loss", "frequency": 2, "interval": "step"}


def test_torchs_schedulers_by_nemo_name_step_per_epoch_where_nemo_does() -> None:
    def entry(sched: dict[str, Any]) -> dict[str, Any]:
        built = build_optimization({"name": "sgd", "lr": 0.1, "sched": sched}, _parameters(), _no_trainer)
        return dict(built["lr_scheduler"])

    step = entry({"name": "StepLR", "step_size": 3, "max_steps": 100})  # NeMo drops max_steps for StepLR
    assert (type(step["scheduler"]), step["interval"]) == (torch.optim.lr_scheduler.StepLR, "step")
    exponential = entry({"name": "ExponentialLR", "gamma": 0.9})
    assert (type(exponential["scheduler"]), exponential["interval"]) == (
        torch.optim.lr_scheduler.ExponentialLR,
        "epoch",
    )
    plateau = entry({"name": "ReduceLROnPlateau", "patience": 2})
    assert (plateau["interval"], plateau["monitor"]) == ("epoch", "loss")  # NeMo's default monitor
    cyclic = entry({"name": "CyclicLR", "base_lr": 0.01, "max_lr": 0.1, "interval": "epoch"})
    assert (type(cyclic["scheduler"]), cyclic["interval"]) == (torch.optim.lr_scheduler.CyclicLR, "epoch")


def test_our_schedules_may_be_named_by_target_too() -> None:
    sched = {"_target_": "neuraltypes.optim.CosineAnnealing", "warmup_steps": 2, "max_steps": "auto"}
    entry = build_optimization({"name": "sgd", "lr": 0.1, "sched": sched}, _parameters(), lambda: 12)["lr_scheduler"]
    assert (type(entry["scheduler"]), entry["scheduler"].max_steps) == (CosineAnnealing, 12)


def test_fused_adam_builds_torchs_fused_adamw_without_weight_decay_unless_set() -> None:
    optimizer = build_optimization({"name": "fused_adam", "lr": 0.1}, _parameters(), _no_trainer)["optimizer"]
    assert type(optimizer) is torch.optim.AdamW
    assert (optimizer.defaults["fused"], optimizer.defaults["weight_decay"]) == (True, 0.0)


def test_optimizer_kwargs_are_added_over_the_config_by_name_and_by_target() -> None:
    for optim in ({"name": "sgd", "lr": 0.1}, {"_target_": "torch.optim.SGD", "lr": 0.1}):
        built = build_optimization(optim, _parameters(), _no_trainer, {"momentum": 0.5, "lr": 0.2})
        assert (built["optimizer"].defaults["momentum"], built["optimizer"].defaults["lr"]) == (0.5, 0.2)


COSINE_ARGUMENTS = "constant_ratio, constant_steps, last_epoch, max_steps, min_lr, warmup_ratio, warmup_steps"


@pytest.mark.parametrize(
    ("optim", "message"),
    [
        ({"name": "adamw", "sched": {"name": "CosineAnealing", "max_steps": 10}},
         "cfg.optim.sched.name: 'CosineAnealing' is not a scheduler name (did you mean 'CosineAnnealing' or "
         "'SquareAnnealing' or 'NoamAnnealing'?); the names are CosineAnnealing, CyclicLR, ExponentialLR"),
        ({"name": "adamw", "sched": {"name": "CosineAnnealing", "warmup_step": 5, "max_steps": 10}},
         f"cfg.optim.sched (name: CosineAnnealing): CosineAnnealing does not take 'warmup_step'; it takes "
         f"{COSINE_ARGUMENTS}"),
        ({"name": "adamw", "sched": {"name": "CosineAnnealing", "iters_per_batch": 5, "max_steps": 10}},
         "cfg.optim.sched (name: CosineAnnealing): CosineAnnealing does not take 'iters_per_batch'"),
        ({"name": "adamw", "sched": {"name": "CosineAnnealing", "warmup_steps": 5, "warmup_ratio": 0.1,
                                     "max_steps": 10}},
         "give either warmup_steps or warmup_ratio, not both (warmup_steps=5, warmup_ratio=0.1)"),
        ({"name": "adamw", "sched": {"name": "CosineAnnealing", "_target_": "neuraltypes.optim.CosineAnnealing"}},
         "cfg.optim.sched names the scheduler twice: give either 'name' or '_target_'"),
        ({"name": "adamw", "sched": {"warmup_steps": 5}},
         "cfg.optim.sched must name the scheduler, by 'name' (CosineAnnealing) or '_target_' "
         "(torch.optim.lr_scheduler.OneCycleLR)"),
        ({"name": "adamw", "sched": {"name": "CosineAnnealing", "args": {"name": "auto"}}},
         "cfg.optim.sched.args (NeMo's registered-params form) is not supported: write the arguments directly in "
         "cfg.optim.sched"),
        ({"name": "adamw", "args": {"name": "auto", "params": {"lr": 0.1}}},
         "cfg.optim.args (NeMo's registered-params form) is not supported"),
        ({"name": "adamw", "lr": 0.1, "momentum": 0.9},
         "cfg.optim (name: adamw): AdamW does not take 'momentum'; it takes amsgrad, betas, capturable"),
        ({"name": "novograd", "lr": 0.1},
         "cfg.optim.name: optimizer 'novograd' is not supported: NeMo's own NovoGrad (layer-wise second moments) "
         "has no torch equivalent; use 'adamw', or name your implementation by '_target_'"),
    ],
)  # fmt: skip
def test_nemo_optim_config_mistakes_are_named(optim: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError) as caught:
        build_optimization(optim, _parameters(), lambda: 10)
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize(
    ("steps", "why"),
    [(RuntimeError("TextClassifier is not attached to a `Trainer`."), "TextClassifier is not attached to a `Trainer`."),
     (OverflowError("cannot convert float infinity to integer"), "cannot convert float infinity to integer"),
     (-1, "an iterable training set and no trainer.max_steps")],
)  # fmt: skip
def test_a_missing_max_steps_the_trainer_cannot_count_is_an_error(steps: Exception | int, why: str) -> None:
    def total_steps() -> int:
        if isinstance(steps, Exception):
            raise steps
        return steps

    expected = (
        f"cfg.optim.sched.max_steps is not set and the trainer cannot count its optimizer steps ({why}); "
        "set trainer.max_steps (or max_epochs), or max_steps in cfg.optim.sched"
    )
    with pytest.raises(ValueError, match=re.escape(expected)):
        build_optimization({"name": "sgd", "lr": 0.1, "sched": {"name": "CosineAnnealing"}}, _parameters(), total_steps)


def test_a_scheduler_target_off_the_allowlist_is_still_refused() -> None:
    sched = {"_target_": "torch.optim.optimizer.torch.load", "f": "x"}
    with pytest.raises(
        UnsafeTargetError, match=re.escape("refusing to instantiate target 'torch.optim.optimizer.torch.load'")
    ):
        build_optimization({"name": "sgd", "lr": 0.1, "sched": sched}, _parameters(), _no_trainer)


# -- ModelPT.setup_optimization ----------------------------------------------------------------------------


def _config(optim: str = NEMO_OPTIM, train_samples: int = 160) -> dict[str, Any]:
    config: dict[str, Any] = text_classifier_config(train_samples=train_samples)  # batches of 32
    config["optim"] = OmegaConf.to_container(OmegaConf.create(optim))
    return config


def test_setup_optimization_returns_what_configure_optimizers_then_uses_once() -> None:
    model = TextClassifier(_config())
    custom = {"name": "sgd", "lr": 0.5, "sched": {"name": "WarmupAnnealing", "warmup_steps": 1, "max_steps": 8}}
    optimizer, entry = model.setup_optimization(custom, optim_kwargs={"momentum": 0.9})
    assert type(optimizer) is torch.optim.SGD and optimizer.defaults["momentum"] == 0.9
    assert entry is not None and type(entry["scheduler"]) is WarmupAnnealing
    assert model.cfg.optim.name == "sgd"  # the given config replaces cfg.optim, as in NeMo
    assert model.configure_optimizers() == {"optimizer": optimizer, "lr_scheduler": entry}
    rebuilt = model.configure_optimizers()  # a second fit starts from a fresh optimizer, from cfg.optim
    assert type(rebuilt["optimizer"]) is torch.optim.SGD and rebuilt["optimizer"] is not optimizer
    assert "momentum" not in model.cfg.optim


def test_setup_optimization_without_a_trainer_needs_max_steps() -> None:
    model = TextClassifier(_config())
    with pytest.raises(ValueError, match=r"cfg\.optim\.sched\.max_steps is not set and the trainer cannot count"):
        model.setup_optimization()
    optimizer, entry = model.setup_optimization({"name": "adam", "lr": 0.1})
    assert type(optimizer) is torch.optim.Adam and entry is None


# -- training with Lightning -------------------------------------------------------------------------------


class LearningRates(pl.Callback):
    """The learning rate each optimizer step is taken with."""

    def __init__(self) -> None:
        self.rates: list[float] = []

    def on_before_optimizer_step(self, trainer: pl.Trainer, module: Any, optimizer: torch.optim.Optimizer) -> None:
        self.rates.append(optimizer.param_groups[0]["lr"])


def _fit(tmp_path: Path, config: dict[str, Any], **trainer_arguments: Any) -> tuple[TextClassifier, LearningRates]:
    torch.manual_seed(0)
    model, rates = TextClassifier(config), LearningRates()
    trainer = pl.Trainer(
        accelerator="cpu", devices=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
        enable_model_summary=False, limit_val_batches=0, callbacks=[rates], default_root_dir=tmp_path,
        **trainer_arguments,
    )  # fmt: skip
    trainer.fit(model)
    return model, rates


@pytest.mark.slow
def test_training_follows_nemos_cosine_over_the_steps_the_trainer_takes(tmp_path: Path) -> None:
    # 160 samples in batches of 32: 5 batches an epoch, 3 optimizer steps with accumulation 2, 6 in 2 epochs.
    model, seen = _fit(tmp_path, _config(), max_epochs=2, accumulate_grad_batches=2)
    scheduler = model.trainer.lr_scheduler_configs[0].scheduler
    assert (type(scheduler), scheduler.max_steps, scheduler.warmup_steps) == (CosineAnnealing, 6, 2)  # int(.34 * 6)
    assert seen.rates == pytest.approx([_nemo_cosine(step, 0.01, 2, 6, 1e-4) for step in range(6)])
    optimizer = model.trainer.optimizers[0]
    assert optimizer.param_groups[0]["lr"] == pytest.approx(_nemo_cosine(6, 0.01, 2, 6, 1e-4))  # after 6 steps


@pytest.mark.slow
def test_training_takes_max_steps_from_trainer_max_steps(tmp_path: Path) -> None:
    optim = "{name: sgd, lr: 0.1, sched: {name: WarmupAnnealing, warmup_steps: 2, min_lr: 0.01}}"
    model, seen = _fit(tmp_path, _config(optim), max_steps=7)
    assert model.trainer.lr_scheduler_configs[0].scheduler.max_steps == 7

    def nemo_warmup_annealing(step: int) -> float:
        if step <= 2:
            return 0.1 * ((step + 1) / 3)
        return 0.01 if step > 7 else 0.01 + (1 - (step - 2) / 5) * (0.1 - 0.01)

    assert seen.rates == pytest.approx([nemo_warmup_annealing(step) for step in range(7)])
    assert model.trainer.optimizers[0].param_groups[0]["lr"] == pytest.approx(nemo_warmup_annealing(7))
