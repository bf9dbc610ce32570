"""ModelPT trained by Lightning: loss drops, prefixed multi-loader metrics, checkpoints, first-batch checks."""

import copy
from pathlib import Path
from typing import Any, NamedTuple

import lightning.pytorch as pl
import pytest
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from neuraltypes_modules.configs import keyword_classifier_config, text_classifier_config
from neuraltypes_modules.data import AudioItem, SyntheticKeywords
from neuraltypes_modules.keyword_classifier import KeywordClassifier
from neuraltypes_modules.text_classifier import TextClassifier
from omegaconf import OmegaConf
from torch import Tensor

from neuraltypes import NT, AudioSignal, LabelsType, LengthsType, MelSpectrogramType
from neuraltypes.config import UnsafeConfigError
from neuraltypes.models import CHECKPOINT_CONFIG_KEY, ModelPT, config_from_checkpoint
from neuraltypes.runtime import NeuralTypeError

pytestmark = pytest.mark.slow


class LossHistory(pl.Callback):
    def __init__(self) -> None:
        self.losses: list[float] = []

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: Any, outputs: Any, batch: Any, idx: int) -> None:
        self.losses.append(float(outputs["loss"]))


def _trainer(tmp_path: Path, **arguments: Any) -> pl.Trainer:
    settings: dict[str, Any] = {
        "accelerator": "cpu",
        "devices": 1,
        "logger": False,
        "enable_checkpointing": False,
        "enable_progress_bar": False,
        "enable_model_summary": False,
        "num_sanity_val_steps": 0,
        "default_root_dir": tmp_path,
    }
    settings.update(arguments)
    return pl.Trainer(**settings)


def _small_keywords(train_samples: int = 64) -> dict[str, Any]:
    config = keyword_classifier_config(train_samples=train_samples)
    config["hidden"] = 16
    for validation in config["validation_ds"]:
        validation["dataset"]["num_samples"] = 32
    return config


def test_a_model_trains_and_its_loss_drops(tmp_path: Path) -> None:
    torch.manual_seed(0)
    config = text_classifier_config(train_samples=256)
    config["optim"] = {"name": "adamw", "lr": 1e-2}
    history = LossHistory()
    trainer = _trainer(tmp_path, max_epochs=3, limit_val_batches=0, callbacks=[history])
    trainer.fit(TextClassifier(config))
    assert len(history.losses) == 24
    first, last = sum(history.losses[:4]) / 4, sum(history.losses[-4:]) / 4
    assert last < 0.7 * first, history.losses


def test_two_validation_dataloaders_log_metrics_under_their_names(tmp_path: Path) -> None:
    model = KeywordClassifier(_small_keywords())
    trainer = _trainer(tmp_path, max_epochs=1)
    trainer.fit(model)
    metrics = {key: float(value) for key, value in trainer.callback_metrics.items()}
    expected = {f"{name}_val_{metric}" for name in ("clean", "noisy") for metric in ("loss", "acc")}
    assert expected | {"val_loss", "val_acc", "train_loss"} == set(metrics)
    assert model.dataloader_names("validation") == ["clean", "noisy"]
    # The first loader's metrics are also logged unprefixed (NeMo's convention, so `val_loss` can be monitored).
    assert metrics["val_loss"] == metrics["clean_val_loss"]
    assert metrics["clean_val_loss"] != metrics["noisy_val_loss"]


def test_test_dataloaders_are_collated_by_multi_test_epoch_end(tmp_path: Path) -> None:
    config = _small_keywords()
    config["test_ds"] = copy.deepcopy(config["validation_ds"])
    model = KeywordClassifier(config)
    results = _trainer(tmp_path).test(model, verbose=False)
    logged = {key for result in results for key in result}
    assert {"clean_test_loss", "noisy_test_acc", "test_loss", "test_acc"} <= logged


def test_a_lightning_checkpoint_loads_with_weights_only(tmp_path: Path) -> None:
    model = KeywordClassifier(_small_keywords(train_samples=32))
    trainer = _trainer(tmp_path, max_epochs=1, limit_val_batches=0)
    trainer.fit(model)
    path = tmp_path / "model.ckpt"
    trainer.save_checkpoint(path)

    checkpoint = torch.load(path, weights_only=True)  # raises if anything in it needs unpickling
    assert "hyper_parameters" not in checkpoint
    assert "_target_: neuraltypes_modules.keyword_classifier.KeywordClassifier" in checkpoint[CHECKPOINT_CONFIG_KEY]
    config, _ = config_from_checkpoint(path)
    assert OmegaConf.to_container(config)["encoder"]["hidden"] == "${hidden}"  # type: ignore[index]  # unresolved

    restored = ModelPT.load_from_lightning_checkpoint(path)
    assert type(restored) is KeywordClassifier
    for (name, value), (_, original) in zip(restored.state_dict().items(), model.state_dict().items(), strict=True):
        assert torch.equal(value, original), name


def test_training_resumes_from_a_checkpoint_loaded_with_weights_only(tmp_path: Path) -> None:
    config = _small_keywords(train_samples=32)
    config["optim"]["sched"] = {"_target_": "torch.optim.lr_scheduler.StepLR", "step_size": 1, "gamma": 0.5}
    model = KeywordClassifier(config)
    first = _trainer(tmp_path, max_epochs=1, limit_val_batches=0)
    first.fit(model)
    path = tmp_path / "epoch1.ckpt"
    first.save_checkpoint(path)
    resumed = _trainer(tmp_path, max_epochs=2, limit_val_batches=0)
    resumed.fit(ModelPT.load_from_lightning_checkpoint(path), ckpt_path=path, weights_only=True)
    assert resumed.current_epoch == 2
    assert resumed.global_step == 2
    assert resumed.lr_scheduler_configs[0].scheduler.get_last_lr() == [3e-3 * 0.5**2]


def test_a_checkpoint_without_a_model_config_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "plain.ckpt"
    torch.save({"state_dict": {}}, path)
    with pytest.raises(
        ValueError, match=r"is not a checkpoint of a neuraltypes ModelPT \(no 'neuraltypes_model_config'\)"
    ):
        ModelPT.load_from_lightning_checkpoint(path)


def test_a_checkpoint_config_with_yaml_aliases_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bomb.ckpt"
    torch.save({CHECKPOINT_CONFIG_KEY: "a: &x [1, 2]\nb: *x\n", "state_dict": {}}, path)
    with pytest.raises(ValueError, match="YAML anchors and aliases are not allowed"):
        ModelPT.load_from_lightning_checkpoint(path)


# -- first-batch checks: a dataset whose batches are not what it declares, or not what the model takes --------


class ChannelledKeywords(SyntheticKeywords):
    """Declares (B T_audio) clips but collates them with an extra channel axis: a collate_fn that lies."""

    def collate_fn(self, items: list[AudioItem]) -> "MislaidBatch":  # type: ignore[override]
        batch = super().collate_fn(items)
        return MislaidBatch(batch.input_signal[:, None, :], batch.input_signal_length, batch.labels)


class MislaidBatch(NamedTuple):
    input_signal: NT[Tensor, "B T_audio", AudioSignal, "float32"]
    input_signal_length: NT[Tensor, "B", LengthsType, "int64"]
    labels: NT[Tensor, "B", LabelsType, "int64"]


class SpectrogramBatch(NamedTuple):
    input_signal: NT[Tensor, "B T", MelSpectrogramType, "float32"]
    input_signal_length: NT[Tensor, "B", LengthsType, "int64"]
    labels: NT[Tensor, "B", LabelsType, "int64"]


class SpectrogramKeywords(SyntheticKeywords):
    """Declares its clips as mel spectrograms: not what a model taking audio accepts."""

    def collate_fn(self, items: list[AudioItem]) -> SpectrogramBatch:  # type: ignore[override]
        return SpectrogramBatch(*super().collate_fn(items))


def _with_training_dataset(target: type) -> dict[str, Any]:
    config = _small_keywords(train_samples=32)
    config["train_ds"]["dataset"]["_target_"] = f"{target.__module__}.{target.__qualname__}"
    return config


def test_a_batch_that_does_not_match_its_declared_type_is_rejected_at_the_first_step(tmp_path: Path) -> None:
    model = KeywordClassifier(_with_training_dataset(ChannelledKeywords))
    with pytest.raises(NeuralTypeError) as caught:
        _trainer(tmp_path, max_epochs=1, limit_val_batches=0).fit(model)
    message = str(caught.value)
    first, second = message.splitlines()[:2]
    assert first == "train_ds: the first batch does not match the type its collate_fn declares, MislaidBatch:"
    assert second == "field input_signal: has 3 axes, expected 2 (B T_audio)"
    assert "(32, 1, " in message  # the shape that came


def test_a_batch_declaring_types_the_model_does_not_take_is_rejected_at_the_first_step(tmp_path: Path) -> None:
    model = KeywordClassifier(_with_training_dataset(SpectrogramKeywords))
    with pytest.raises(NeuralTypeError) as caught:
        _trainer(tmp_path, max_epochs=1, limit_val_batches=0).fit(model)
    assert str(caught.value).splitlines() == [
        "train_ds: batch field 'input_signal' of SpectrogramBatch cannot feed KeywordClassifier.forward's port "
        "'input_signal':",
        '  port declares:  NT[Tensor, "B T_audio", AudioSignal, "float"]',
        '  batch declares: NT[Tensor, "B T", MelSpectrogramType, "float32"]',
        "  comparison result: INCOMPATIBLE",
    ]


def test_each_validation_loader_first_batch_is_checked_and_named(tmp_path: Path) -> None:
    config = _small_keywords(train_samples=32)
    config["validation_ds"][1]["dataset"]["_target_"] = f"{__name__}.SpectrogramKeywords"
    model = KeywordClassifier(config)
    with pytest.raises(NeuralTypeError, match=r"^validation_ds\[noisy\]: batch field 'input_signal'"):
        _trainer(tmp_path, max_epochs=1).fit(model)


def test_a_single_validation_loader_logs_its_metrics_unprefixed(tmp_path: Path) -> None:
    config = text_classifier_config(train_samples=64)
    trainer = _trainer(tmp_path, max_epochs=1)
    trainer.fit(TextClassifier(config))
    assert set(trainer.callback_metrics) == {"train_loss", "val_loss", "val_acc"}


def test_checkpoints_written_by_model_checkpoint_monitoring_val_loss_load_with_weights_only(tmp_path: Path) -> None:
    callback = ModelCheckpoint(dirpath=tmp_path / "checkpoints", monitor="val_loss", save_last=True)
    trainer = _trainer(tmp_path, max_epochs=1, enable_checkpointing=True, callbacks=[callback])
    trainer.fit(KeywordClassifier(_small_keywords(train_samples=32)))
    written = sorted(path.name for path in (tmp_path / "checkpoints").iterdir())
    assert len(written) == 2 and "last.ckpt" in written
    for name in written:
        checkpoint = torch.load(tmp_path / "checkpoints" / name, weights_only=True)
        assert CHECKPOINT_CONFIG_KEY in checkpoint
    assert callback.best_model_score is not None
    assert type(ModelPT.load_from_lightning_checkpoint(callback.best_model_path)) is KeywordClassifier


def test_replaced_validation_data_has_its_first_batch_checked_again(tmp_path: Path) -> None:
    config = _small_keywords(train_samples=32)
    model = KeywordClassifier(config)
    _trainer(tmp_path).validate(model, verbose=False)
    replacement = copy.deepcopy(config["validation_ds"])
    replacement[0]["dataset"]["_target_"] = f"{__name__}.SpectrogramKeywords"
    model.setup_validation_data(replacement)
    with pytest.raises(NeuralTypeError, match=r"^validation_ds\[clean\]: batch field 'input_signal'"):
        _trainer(tmp_path).validate(model, verbose=False)


def test_a_checkpoint_config_calling_a_resolver_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "env.ckpt"
    torch.save({CHECKPOINT_CONFIG_KEY: "optim:\n  lr: ${oc.env:HOME}\n", "state_dict": {}}, path)
    with pytest.raises(UnsafeConfigError, match=r"refusing to resolve '\$\{oc.env:HOME\}' at 'optim.lr'"):
        ModelPT.load_from_lightning_checkpoint(path)
