"""NeMo's ModelPT methods a migrating user calls or overrides: data setup, several datasets, trainer, summary."""

from __future__ import annotations

import copy
import re
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import pytest
import torch
from lightning.pytorch.utilities.model_summary.model_summary import ModelSummary
from neuraltypes_modules.configs import text_classifier_config
from neuraltypes_modules.data import SyntheticTopics, TextBatch
from neuraltypes_modules.text_classifier import TextClassifier
from omegaconf import DictConfig, OmegaConf
from torch import Tensor
from torch.utils.data import DataLoader

from neuraltypes.models._multi_data import dataset_name, expand_datasets


def _config(**changes: Any) -> dict[str, Any]:
    config: dict[str, Any] = text_classifier_config(train_samples=32)
    config["hidden"] = 8
    config["validation_ds"]["dataset"]["num_samples"] = 16
    config.update(changes)
    return config


def _topics(seed: int | list[int] = 1, samples: int = 16, **loader: Any) -> dict[str, Any]:
    dataset = {"_target_": "neuraltypes_modules.data.SyntheticTopics", "num_samples": samples, "seed": seed}
    return {"dataset": dataset, "batch_size": 8, **loader}


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
    return pl.Trainer(**{**settings, **arguments})


# -- config ---------------------------------------------------------------------------------------------------


def test_cfg_can_be_replaced_and_is_kept_as_a_private_copy() -> None:
    model = TextClassifier(_config())
    replacement = copy.deepcopy(_config(hidden=12))
    model.cfg = replacement
    replacement["hidden"] = 99
    assert model.cfg.hidden == 12
    assert "_target_" not in model.cfg
    assert model.to_config_dict()["_target_"].endswith("TextClassifier")


def test_a_model_round_trips_through_a_config_file(tmp_path: Path) -> None:
    model = TextClassifier(_config())
    model.to_config_file(tmp_path / "model.yaml")
    rebuilt = TextClassifier.from_config_file(tmp_path / "model.yaml")
    assert type(rebuilt) is TextClassifier
    assert rebuilt.cfg.hidden == 8 and rebuilt.cfg.decoder.feat_in == 8  # interpolations written resolved


# -- data setup -------------------------------------------------------------------------------------------------


def test_setting_up_data_keeps_the_config_as_nemo_does() -> None:
    model = TextClassifier(_config())
    model.setup_training_data(_topics(seed=5, samples=24, shuffle=False))
    model.setup_validation_data(_topics(seed=6))
    model.setup_test_data(_topics(seed=7))
    assert model.cfg.train_ds.dataset.seed == 5
    assert model.cfg.validation_ds.dataset.seed == 6
    assert model.cfg.test_ds.dataset.seed == 7
    assert len(model.train_dataloader().dataset) == 24  # type: ignore[arg-type]


def test_a_list_of_dataset_configs_sets_up_one_named_loader_each() -> None:
    model = TextClassifier(_config())
    model.setup_multiple_validation_data([{**_topics(1), "name": "clean"}, {**_topics(2), "name": "noisy"}])
    assert model.dataloader_names("validation") == ["clean", "noisy"]
    assert [model.get_validation_dataloader_prefix(i) for i in (0, 1)] == ["clean_", "noisy_"]
    assert model.cfg.validation_ds[1].name == "noisy"


def test_ds_item_naming_a_key_makes_one_dataset_per_value() -> None:
    model = TextClassifier(_config())
    config = _topics(seed=[3, 4, 5])
    config.update(ds_item="dataset.seed", name=["dev", "dev-other", "eval"])
    model.setup_multiple_test_data(config)
    assert model.dataloader_names("test") == ["dev", "dev_other", "eval"]
    seeds = [loader.dataset.seed for loader in model.test_dataloader()]  # type: ignore[attr-defined]
    assert seeds == [3, 4, 5]
    assert model.get_test_dataloader_prefix(1) == "dev_other_"
    assert OmegaConf.to_container(model.cfg.test_ds.dataset.seed) == [3, 4, 5]  # the config as given


def test_a_single_dataset_config_goes_through_setup_multiple_unchanged() -> None:
    model = TextClassifier(_config())
    model.setup_multiple_validation_data({**_topics(4), "ds_item": None, "val_dl_idx": 0})
    assert model.dataloader_names("validation") == ["val"]
    assert model.val_dataloader()[0].dataset.seed == 4  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"val_dl_idx": 1}, ValueError, "validation_ds.val_dl_idx=1: the first dataset's metrics are the ones logged"),
        ({"ds_item": "dataset.seed", "name": ["a"]}, ValueError, "validation_ds.name must be a list of 2 names"),
        ({"ds_item": "dataset.seed", "name": ["a", "a"]}, ValueError, "validation_ds names several datasets ['a']"),
    ],
)
def test_several_datasets_written_wrongly_are_refused(
    changes: dict[str, Any], error: type[Exception], message: str
) -> None:
    model = TextClassifier(_config())
    with pytest.raises(error, match=re.escape(message)):
        model.setup_multiple_validation_data({**_topics(seed=[1, 2]), **changes})


def test_nemo_names_datasets_after_their_files(tmp_path: Path) -> None:
    manifest = tmp_path / "dev-clean_manifest.json"
    manifest.write_text("")
    assert dataset_name(manifest) == "dev_clean"
    assert dataset_name("test-other") == "test_other"
    with pytest.raises(ValueError, match="leaves no dataset name"):
        dataset_name("manifest")


def test_nested_dataset_configs_under_ds_item_keep_their_names() -> None:
    config = {"ds_item": [{**_topics(1), "name": "a"}, {**_topics(2), "name": "b"}], "batch_size": 4}
    several, datasets = expand_datasets(config, "validation", "validation_ds", "val")
    assert several
    assert [name for name, _ in datasets] == ["a", "b"]


class NemoStyleData(TextClassifier):
    """Sets up its data NeMo's way: one DataLoader per call, assigned to ``_train_dl`` / ``_validation_dl``."""

    def __init__(self, cfg: Mapping[str, Any] | DictConfig, trainer: pl.Trainer | None = None) -> None:
        self.seen: list[Any] = []
        super().__init__(cfg, trainer)

    def _loader(self, config: Any) -> DataLoader[Any]:
        self.seen.append(config)
        dataset = SyntheticTopics(num_samples=8, seed=int(config["ds_item"]))
        return DataLoader(dataset, batch_size=int(config["batch_size"]), collate_fn=dataset.collate_fn)

    def setup_training_data(self, train_data_config: Any) -> None:
        self._update_dataset_config("train", train_data_config)
        self._train_dl = self._loader(train_data_config)

    def setup_validation_data(self, val_data_config: Any) -> None:
        self._update_dataset_config("validation", val_data_config)
        self._validation_dl = self._loader(val_data_config)


def test_nemo_style_setup_overrides_are_called_once_per_dataset() -> None:
    config = _config(
        train_ds={"ds_item": 0, "batch_size": 4},
        validation_ds={"ds_item": [7, 8], "batch_size": 4},
    )
    model = NemoStyleData(config, trainer=pl.Trainer(accelerator="cpu", logger=False))
    model.setup_data()
    assert [item["ds_item"] for item in model.seen] == [0, 7, 8]
    assert isinstance(model.seen[1], DictConfig)  # NeMo-style code may read keys as attributes
    assert model.dataloader_names("validation") == ["7", "8"]
    assert isinstance(model._validation_dl, list) and len(model._validation_dl) == 2
    assert isinstance(model._train_dl, DataLoader)
    assert model.cfg.validation_ds.ds_item == [7, 8]  # the per-dataset calls did not overwrite it


# -- trainer --------------------------------------------------------------------------------------------------


def test_a_trainer_given_to_the_constructor_is_attached_with_its_world_size(tmp_path: Path) -> None:
    trainer = _trainer(tmp_path)
    model = TextClassifier(_config(), trainer=trainer)
    assert model.trainer is trainer
    assert model.world_size == 1
    model.set_world_size(types.SimpleNamespace(num_devices=4, num_nodes=2))  # type: ignore[arg-type]
    assert model.world_size == 8
    model.set_world_size(None)
    assert model.world_size == 1


def test_prepare_test_needs_a_test_set_and_one_device(tmp_path: Path) -> None:
    model = TextClassifier(_config())
    trainer = _trainer(tmp_path)
    with pytest.warns(UserWarning, match="has no test_ds config"):
        assert not model.prepare_test(trainer)
    model.setup_test_data(_topics(seed=3))
    with pytest.warns(UserWarning, match="test with a Trainer on one device"):
        assert not model.prepare_test(types.SimpleNamespace(num_devices=2))  # type: ignore[arg-type]
    assert model.prepare_test(trainer)
    assert model.trainer is trainer


def test_summarize_is_lightnings_summary() -> None:
    model = TextClassifier(_config())
    summary = model.summarize(max_depth=1)
    assert isinstance(summary, ModelSummary)
    assert summary.total_parameters == sum(p.numel() for p in model.parameters())


# -- restore --------------------------------------------------------------------------------------------------


def test_restore_from_takes_nemos_trainer_and_return_config(tmp_path: Path) -> None:
    model = TextClassifier(_config())
    model.save_to(tmp_path / "m.nta")
    trainer = _trainer(tmp_path)
    restored = TextClassifier.restore_from(tmp_path / "m.nta", trainer=trainer, validate_access_integrity=False)
    assert restored.trainer is trainer
    config = TextClassifier.restore_from(tmp_path / "m.nta", return_config=True)
    assert isinstance(config, DictConfig) and config.hidden == 8


def test_a_save_restore_connector_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="save_restore_connector is not supported: the archive format is fixed"):
        TextClassifier.restore_from(tmp_path / "m.nta", save_restore_connector=object())  # type: ignore[call-overload]


# -- NeMo's step and epoch-end conventions ---------------------------------------------------------------------


class NemoStyleSteps(TextClassifier):
    """Steps written NeMo's way: ``{"loss", "log"}`` from training, outputs appended, ``log`` at epoch end."""

    def __init__(self, cfg: Mapping[str, Any] | DictConfig, trainer: pl.Trainer | None = None) -> None:
        super().__init__(cfg, trainer)
        self.collated: list[int] = []

    def training_step(self, batch: TextBatch, batch_idx: int) -> dict[str, Any]:  # type: ignore[override]
        loss = self.loss(logits=self(tokens=batch.tokens, length=batch.length), labels=batch.labels)
        return {"loss": loss, "log": {"nemo_train_loss": loss.detach()}}

    def validation_step(self, batch: TextBatch, batch_idx: int, dataloader_idx: int = 0) -> dict[str, Tensor]:
        metrics: dict[str, Tensor] = super().validation_step(batch, batch_idx, dataloader_idx)
        if len(self.val_dataloader()) > 1:
            self.validation_step_outputs[dataloader_idx].append(metrics)
        else:
            self.validation_step_outputs.append(metrics)
        return metrics

    def multi_validation_epoch_end(self, outputs: Any, dataloader_idx: int = 0) -> Any:
        self.collated.append(len(outputs))
        loss = torch.stack([output["val_loss"] for output in outputs]).mean()
        return {"val_loss": loss, "log": {"val_loss": loss, "seen": torch.tensor(float(len(outputs)))}}

    def test_step(self, batch: TextBatch, batch_idx: int, dataloader_idx: int = 0) -> dict[str, Tensor]:
        logits = self(tokens=batch.tokens, length=batch.length)
        result = {"test_loss": self.loss(logits=logits, labels=batch.labels)}
        self.test_step_outputs.append(result)
        return result

    def multi_test_epoch_end(self, outputs: Any, dataloader_idx: int = 0) -> Any:
        self.collated.append(-len(outputs))
        return None  # NeMo's default result: nothing is logged


@pytest.mark.slow
@pytest.mark.parametrize("loaders", [1, 2])
def test_nemo_style_steps_are_collected_once_and_their_log_entries_logged(tmp_path: Path, loaders: int) -> None:
    config = _config(validation_ds=_topics(1))
    if loaders == 2:
        config["validation_ds"] = [{**_topics(1), "name": "a"}, {**_topics(2), "name": "b"}]
    model = NemoStyleSteps(config)
    trainer = _trainer(tmp_path, max_epochs=1, limit_train_batches=1, limit_val_batches=2)
    trainer.fit(model)
    assert model.collated == [2] * loaders  # each step's result once, though it was appended and returned
    metrics = set(trainer.callback_metrics)
    assert {"nemo_train_loss", "val_loss", "seen"} <= metrics
    if loaders == 2:
        assert {"a_val_loss", "b_seen"} <= metrics
    model.setup_test_data(_topics(3))
    assert model.prepare_test(trainer)
    assert trainer.test(model, verbose=False) == [{}]
    assert model.collated[-1] == -2
