"""ModelPT's config pieces: optimizers and schedulers from cfg.optim, dataset configs, metric reduction."""

import re

import lightning.pytorch as pl
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from neuraltypes_modules.configs import keyword_classifier_config, text_classifier_config
from neuraltypes_modules.keyword_classifier import KeywordClassifier
from neuraltypes_modules.text_classifier import TextClassifier

from neuraltypes.config import UnsafeTargetError
from neuraltypes.models import ModelPT, build_optimization, dataset_configs, weighted_mean_across_processes
from neuraltypes.models._evaluation import StepOutputs


def _parameters() -> list[torch.nn.Parameter]:
    return list(torch.nn.Linear(3, 2).parameters())


def test_an_optimizer_is_named_by_short_name_or_target() -> None:
    by_name = build_optimization({"name": "AdamW", "lr": 0.01, "weight_decay": 0.1}, _parameters(), lambda: 0)
    assert type(by_name["optimizer"]) is torch.optim.AdamW
    assert by_name["optimizer"].defaults["weight_decay"] == 0.1
    by_target = build_optimization({"_target_": "torch.optim.SGD", "lr": 0.5}, _parameters(), lambda: 0)
    assert type(by_target["optimizer"]) is torch.optim.SGD
    assert "lr_scheduler" not in by_target


def test_a_scheduler_argument_written_auto_is_the_trainers_step_count() -> None:
    sched = {"_target_": "torch.optim.lr_scheduler.OneCycleLR", "max_lr": 0.1, "total_steps": "auto"}
    built = build_optimization({"name": "sgd", "lr": 0.1, "sched": sched}, _parameters(), lambda: 17)
    entry = built["lr_scheduler"]
    assert entry["interval"] == "step"
    assert entry["scheduler"].total_steps == 17


def test_lightning_scheduler_keys_are_passed_to_lightning_not_the_scheduler() -> None:
    sched = {"_target_": "torch.optim.lr_scheduler.ReduceLROnPlateau", "interval": "epoch", "monitor": "val_loss"}
    entry = build_optimization({"name": "adam", "lr": 0.1, "sched": sched}, _parameters(), lambda: 0)["lr_scheduler"]
    assert (entry["interval"], entry["monitor"]) == ("epoch", "val_loss")
    assert isinstance(entry["scheduler"], torch.optim.lr_scheduler.ReduceLROnPlateau)


@pytest.mark.parametrize(
    ("optim", "message"),
    [
        ({"lr": 0.1}, "cfg.optim must name the optimizer, by '_target_' (torch.optim.AdamW) or 'name' (adamw)"),
        ({"name": "adam", "_target_": "torch.optim.Adam"}, "cfg.optim names the optimizer twice"),
        ({"name": "lion"}, "cfg.optim.name: 'lion' is not an optimizer name; the names are adadelta, adagrad, adam"),
        ({"name": "sgd", "lr": 0.1, "sched": {"step_size": 1}}, "cfg.optim.sched must name the scheduler, by 'name'"),
    ],
)
def test_optimizer_config_mistakes_are_named(optim: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        build_optimization(optim, _parameters(), lambda: 0)


def test_an_optimizer_target_off_the_allowlist_is_refused() -> None:
    expected = "refusing to instantiate target 'torch.optim.optimizer.torch.load': it resolves to function torch."
    with pytest.raises(UnsafeTargetError, match=re.escape(expected)):
        build_optimization({"_target_": "torch.optim.optimizer.torch.load"}, _parameters(), lambda: 0)


def test_dataset_configs_take_one_mapping_or_a_named_list() -> None:
    one = dataset_configs({"dataset": {}, "batch_size": 4}, "validation_ds", "val")
    assert [name for name, _ in one] == ["val"]
    several = dataset_configs([{"dataset": {}, "name": "a"}, {"dataset": {}}], "validation_ds", "val")
    assert [name for name, _ in several] == ["a", "val_1"]


@pytest.mark.parametrize(
    ("config", "error", "message"),
    [
        ({"dataset": {}, "batchsize": 4}, ValueError, r"validation_ds has unknown keys \['batchsize'\]"),
        ([{"dataset": {}, "name": "x"}, {"dataset": {}, "name": "x"}], ValueError, r"several datasets \['x'\]"),
        ("clean", TypeError, "validation_ds must be a mapping or a list of mappings, got str"),
    ],
)
def test_dataset_config_mistakes_are_named(config: object, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        dataset_configs(config, "validation_ds", "val")


def test_training_data_is_one_dataset() -> None:
    with pytest.raises(TypeError, match=r"train_ds must be one dataset config \(a mapping\), not a list"):
        dataset_configs([{"dataset": {}}], "train_ds", "train", single=True)


def test_a_dataset_target_off_the_allowlist_is_refused_when_data_is_set_up() -> None:
    config = text_classifier_config()
    config["train_ds"]["dataset"] = {"_target_": "builtins.open", "file": "/etc/passwd"}
    model = TextClassifier(config)
    with pytest.raises(UnsafeTargetError, match=r"^refusing to instantiate target 'builtins\.open'"):
        model.setup_data()


def test_a_model_config_round_trips_and_names_its_class() -> None:
    model = ModelPT.from_config_dict(keyword_classifier_config())
    assert type(model) is KeywordClassifier
    config = model.to_config_dict()
    assert config["_target_"] == "neuraltypes_modules.keyword_classifier.KeywordClassifier"
    again = ModelPT.from_config_dict(config)
    assert again.to_config_dict() == config


def test_a_model_config_naming_another_model_class_is_refused() -> None:
    with pytest.raises(TypeError, match=r"the config's _target_ .*KeywordClassifier' is not TextClassifier"):
        TextClassifier.from_config_dict(keyword_classifier_config())


def test_nemos_target_key_names_the_model_class_and_the_trainer_is_passed_on() -> None:
    config = keyword_classifier_config()
    config["target"] = config.pop("_target_")  # what NeMo writes into every model config it saves
    trainer = pl.Trainer(max_steps=1, logger=False, enable_checkpointing=False, enable_progress_bar=False)
    model = ModelPT.from_config_dict(config, trainer)
    assert type(model) is KeywordClassifier
    assert len(model.train_dataloader()) > 0  # with a trainer, the data is set up at once (NeMo's behaviour)
    specialised = type("Specialised", (KeywordClassifier,), {})
    assert type(specialised.from_config_dict(config)) is specialised  # NeMo builds the calling subclass
    with pytest.raises(TypeError, match=r"the config's target .*KeywordClassifier' is not TextClassifier"):
        TextClassifier.from_config_dict(config)


def test_means_are_weighted_by_samples_not_steps() -> None:
    outputs = [
        {"loss": torch.tensor(1.0), "num_samples": torch.tensor(3)},
        {"loss": torch.tensor(4.0), "num_samples": torch.tensor(1)},
    ]
    assert float(weighted_mean_across_processes(outputs, "loss")) == pytest.approx(7 / 4)
    assert float(weighted_mean_across_processes([{"acc": 0.5}, {"acc": 1.0}], "acc")) == pytest.approx(0.75)


def test_a_mean_of_non_scalars_or_of_nothing_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"must be a scalar, got a tensor of shape \(2,\)"):
        weighted_mean_across_processes([{"loss": torch.ones(2)}], "loss")
    with pytest.raises(ValueError, match="cannot average 'loss': no samples were seen by any process"):
        weighted_mean_across_processes([], "loss")


def test_step_outputs_are_drained_per_dataloader_in_order() -> None:
    outputs = StepOutputs()
    outputs.add(1, {"loss": 1.0})
    outputs.add(0, {"loss": 2.0})
    outputs.add(0, None)
    assert outputs.drain(3) == [(0, [{"loss": 2.0}]), (1, [{"loss": 1.0}]), (2, [])]
    assert outputs.drain(1) == [(0, [])]


def test_passing_a_trainer_sets_the_data_up_at_once_as_in_nemo() -> None:
    trainer = pl.Trainer(accelerator="cpu", devices=1, logger=False, enable_progress_bar=False)
    model = TextClassifier(text_classifier_config(), trainer=trainer)
    assert len(model.train_dataloader().dataset) == 512  # type: ignore[arg-type]
    assert model.dataloader_names("validation") == ["val"]
    assert model.test_dataloader() == []
    lazy = TextClassifier(text_classifier_config())
    with pytest.raises(ValueError, match=r"TextClassifier has no training data: set cfg\.train_ds"):
        lazy.train_dataloader()


@given(st.lists(st.tuples(st.floats(-100, 100), st.integers(1, 50)), min_size=1, max_size=20))
def test_the_weighted_mean_is_the_mean_over_every_sample(steps: list[tuple[float, int]]) -> None:
    outputs = [{"loss": torch.tensor(value), "num_samples": count} for value, count in steps]
    every_sample = [value for value, count in steps for _ in range(count)]
    expected = sum(every_sample) / len(every_sample)
    assert float(weighted_mean_across_processes(outputs, "loss")) == pytest.approx(expected, rel=1e-5, abs=1e-4)
