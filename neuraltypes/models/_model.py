"""``ModelPT``: a ``NeuralModule`` trained by Lightning, set up from one config (NeMo's model contract).

The class is glue: data comes from :mod:`._data`, the optimizer from :mod:`._optim`, evaluation
collation from :mod:`._evaluation`, the first-batch type check from :mod:`._batch_check` and the
checkpointed config from :mod:`._checkpoint`. A subclass builds its modules in ``__init__`` from
``self.cfg`` and writes ``forward``, ``training_step`` and ``validation_step``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar, Self

import lightning.pytorch as pl
import torch
from omegaconf import DictConfig, OmegaConf
from torch import Tensor
from torch.utils.data import DataLoader

from neuraltypes.config import DEFAULT_LIMITS, ConfigLimits, class_path, quote, resolve_config, resolve_target
from neuraltypes.nn import NeuralModule

from ._batch_check import FirstBatchCheck
from ._checkpoint import config_from_checkpoint, config_to_checkpoint
from ._data import NamedLoader, build_dataloader, build_named_loaders, dataset_configs
from ._evaluation import StepOutput, StepOutputs, metric_names, weighted_mean_across_processes
from ._optim import build_optimization

__all__ = ["ModelPT"]

_TARGET = "_target_"
_NEMO_TARGET = "target"
"""NeMo's own key for the model class, which NeMo writes into every model config it saves."""
_EVALUATION_KEYS = {"validation": "validation_ds", "test": "test_ds"}


def _model_config(cfg: Mapping[str, Any] | DictConfig, owner: str) -> DictConfig:
    """A private copy of a model config, interpolations kept, without ``_target_``."""
    if not isinstance(cfg, Mapping | DictConfig):
        raise TypeError(f"{owner} needs a mapping config, not {type(cfg).__name__}")
    container = OmegaConf.to_container(cfg, resolve=False) if isinstance(cfg, DictConfig) else dict(cfg)
    config = OmegaConf.create(container)
    assert isinstance(config, DictConfig)
    config.pop(_TARGET, None)
    return config


class ModelPT(NeuralModule, pl.LightningModule):
    """A model: typed modules, the data they train on, and how to optimize them, all from ``cfg``.

    ``cfg`` holds the model's own settings plus ``train_ds``, ``validation_ds`` and ``test_ds`` (the last
    two may be lists of named datasets) and ``optim``. Dataloaders are built in Lightning's ``setup`` (after
    the processes of a DDP job exist) or right away when a ``trainer`` is passed (NeMo's behaviour). The
    first batch of every dataloader is checked against ``forward``'s input types. Validation and test
    metrics are collated per dataloader by :meth:`multi_validation_epoch_end` / :meth:`multi_test_epoch_end`,
    averaged over all processes, and logged as ``<dataloader name>_<metric>`` when there are several loaders
    (the first loader's also unprefixed, and a single loader's only so). ``save_to`` writes from rank 0 only;
    Lightning checkpoints store the config as YAML text.

    Args:
        cfg: the model config (a mapping or DictConfig; it is copied).
        trainer: optional; when given, the datasets are set up immediately.
    """

    #: The keys of ``cfg`` this class reads; a subclass adds its own (``ModelPT.config_keys | {"encoder"}``).
    #: Command-line overrides refuse a new key outside them (a typo would be stored and change nothing).
    config_keys: ClassVar[frozenset[str]] = frozenset({"train_ds", "validation_ds", "test_ds", "optim"})

    def __init__(self, cfg: Mapping[str, Any] | DictConfig, trainer: pl.Trainer | None = None) -> None:
        super().__init__()
        self._cfg = _model_config(cfg, type(self).__qualname__)
        self._train_loader: DataLoader[Any] | None = None
        self._loaders: dict[str, list[NamedLoader] | None] = {"validation": None, "test": None}
        self._step_outputs = StepOutputs()
        self._first_batch_check = FirstBatchCheck()
        self._optimization: dict[str, Any] | None = None  # built by setup_optimization, used by the next fit
        if trainer is not None:
            self.setup_data()

    # -- config -------------------------------------------------------------------------------------------

    @property
    def cfg(self) -> DictConfig:
        """The model's config (the object itself: changes are kept and saved)."""
        return self._cfg

    def to_config_dict(self) -> DictConfig:
        """The config that rebuilds this model: ``cfg`` with ``_target_`` naming the class (NeMo's flat form)."""
        config = OmegaConf.create({_TARGET: class_path(type(self))})
        return OmegaConf.merge(config, self._cfg)  # type: ignore[return-value]

    @classmethod
    def from_config_dict(
        cls,
        config: object,
        trainer: object | None = None,
        *,
        allow: Iterable[object] = (),
        allow_resolvers: bool = False,
        limits: ConfigLimits = DEFAULT_LIMITS,
    ) -> Self:
        """Build the model a config describes; its ``_target_`` or NeMo's ``target`` (if any) must name ``cls`` or a
        subclass (for ``target``, also a base that ``cls`` specialises: ``cls`` is built then, as NeMo does).

        The config is resolved once (resolver calls refused unless ``allow_resolvers``) and the model gets that
        data as ``cfg``, quoted so that reading it never interpolates again, with ``trainer`` (NeMo's
        signature). Its interpolations are therefore not kept; build the model directly (``Model(cfg)``) to keep
        them in a config you trust.

        Raises:
            TypeError: the ``_target_`` names a class that is not ``cls`` or a subclass of it.
            UnsafeTargetError: the ``_target_`` is off the allowlist.
            UnsafeConfigError: a resolver call when ``allow_resolvers`` is false, or a config over ``limits``.
        """
        if not isinstance(config, Mapping | DictConfig):
            raise TypeError(f"{cls.__qualname__}.from_config_dict needs a mapping config, not {type(config).__name__}")
        # The model config is its own root (``${preprocessor.n_mels}`` names a key of the model's config), as
        # for a model built directly, even when it is a node of a larger config (``cfg.model`` of a script's).
        own = OmegaConf.to_container(config, resolve=False) if isinstance(config, DictConfig) else dict(config)
        resolved = resolve_config(own, allow_resolvers=allow_resolvers, limits=limits)
        target: object = cls
        key = _TARGET if _TARGET in resolved else _NEMO_TARGET if _NEMO_TARGET in resolved else None
        if key is not None:
            target = resolve_target(str(resolved.pop(key)), allow=(cls, *allow))
            if key == _NEMO_TARGET and isinstance(target, type) and issubclass(cls, target):
                target = cls
        if not (isinstance(target, type) and issubclass(target, cls)):
            raise TypeError(
                f"{cls.__qualname__}.from_config_dict: the config's {key} {config[key]!r} is not "
                f"{cls.__qualname__} or a subclass of it"
            )
        if trainer is not None and not isinstance(trainer, pl.Trainer):
            raise TypeError(f"{cls.__qualname__}.from_config_dict: trainer must be a Trainer, not {trainer!r}")
        return target(cfg=OmegaConf.create(quote(resolved)), trainer=trainer)

    @classmethod
    def load_from_lightning_checkpoint(
        cls, checkpoint_path: str | os.PathLike[str], map_location: str | torch.device | None = "cpu"
    ) -> Self:
        """Rebuild a model from a Lightning checkpoint, read with ``torch.load(weights_only=True)``."""
        config, checkpoint = config_from_checkpoint(checkpoint_path, map_location)
        model = cls.from_config_dict(config)
        model.load_state_dict(checkpoint["state_dict"])
        return model

    def save_to(self, save_path: str | os.PathLike[str], *, progress: bool | None = None) -> None:
        """Write the model to one archive; in a DDP job only global rank 0 writes.

        While the process group is alive every rank must call this (rank 0 writes, the others wait for it at
        a barrier); once it is gone, ranks other than 0 of the attached trainer return without writing.
        """
        trainer = self._trainer
        if trainer is not None and not trainer.is_global_zero and not torch.distributed.is_initialized():
            return
        super().save_to(save_path, progress=progress)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Store the config in Lightning checkpoints as YAML text (plain data for ``weights_only`` loads)."""
        config_to_checkpoint(checkpoint, self.to_config_dict())

    # -- data ---------------------------------------------------------------------------------------------

    def setup_data(self) -> None:
        """Build every dataloader the config describes and that is not built yet."""
        if self._train_loader is None and self._cfg.get("train_ds") is not None:
            self.setup_training_data(self._cfg.train_ds)
        for stage in ("validation", "test"):
            key = _EVALUATION_KEYS[stage]
            if self._loaders[stage] is None and self._cfg.get(key) is not None:
                self._setup_evaluation_data(stage, self._cfg[key])

    def setup_training_data(self, train_data_config: object) -> None:
        """Build the training dataloader (shuffled unless the config says otherwise)."""
        ((_, config),) = dataset_configs(train_data_config, "train_ds", "train", single=True)
        self._train_loader = build_dataloader(config, "train_ds", shuffle=True)
        self._first_batch_check.forget("train")

    def setup_validation_data(self, val_data_config: object) -> None:
        """Build the validation dataloaders: one config, or a list of named ones."""
        self._setup_evaluation_data("validation", val_data_config)

    def setup_test_data(self, test_data_config: object) -> None:
        """Build the test dataloaders: one config, or a list of named ones."""
        self._setup_evaluation_data("test", test_data_config)

    def _setup_evaluation_data(self, stage: str, config: object) -> None:
        default = "val" if stage == "validation" else "test"
        self._loaders[stage] = build_named_loaders(config, _EVALUATION_KEYS[stage], default, shuffle=False)
        self._first_batch_check.forget(stage)

    def setup(self, stage: str) -> None:
        """Lightning hook, run in every process: build the dataloaders from the config."""
        self.setup_data()

    def train_dataloader(self) -> DataLoader[Any]:
        if self._train_loader is None:
            raise ValueError(f"{type(self).__qualname__} has no training data: set cfg.train_ds")
        return self._train_loader

    def val_dataloader(self) -> list[DataLoader[Any]]:
        return [named.loader for named in self._loaders["validation"] or []]

    def test_dataloader(self) -> list[DataLoader[Any]]:
        return [named.loader for named in self._loaders["test"] or []]

    def dataloader_names(self, stage: str) -> list[str]:
        """The names of the ``"validation"`` or ``"test"`` dataloaders, in order (metric prefixes)."""
        return [named.name for named in self._loaders[stage] or []]

    # -- optimization -------------------------------------------------------------------------------------

    def setup_optimization(
        self, optim_config: DictConfig | Mapping[str, Any] | None = None, optim_kwargs: Mapping[str, Any] | None = None
    ) -> tuple[torch.optim.Optimizer, dict[str, Any] | None]:
        """Build the optimizer and scheduler from ``optim_config`` (by default ``cfg.optim``), as NeMo's does.

        A config given here replaces ``cfg.optim`` when the model config has one (as in NeMo), and what is built
        is what the next fit uses. ``optim_kwargs`` are optimizer arguments a config cannot hold.

        Returns:
            The optimizer, and Lightning's scheduler entry (``{"scheduler": ..., "interval": ...}``) or None.
        """
        config = self._cfg.get("optim") if optim_config is None else optim_config
        if config is None:
            raise ValueError(f"{type(self).__qualname__} has no optimizer: set cfg.optim")
        if optim_config is not None and "optim" in self._cfg:
            self._cfg.optim = optim_config
        trainable = [parameter for parameter in self.parameters() if parameter.requires_grad]
        self._optimization = build_optimization(
            config, trainable, lambda: int(self.trainer.estimated_stepping_batches), optim_kwargs
        )
        return self._optimization["optimizer"], self._optimization.get("lr_scheduler")

    def configure_optimizers(self) -> Any:
        """What ``setup_optimization`` built, or builds now from ``cfg.optim``; a later fit builds afresh."""
        if self._optimization is None:
            self.setup_optimization()
        optimization, self._optimization = self._optimization, None
        return optimization

    # -- first-batch checks -------------------------------------------------------------------------------

    def _check_first_batch(self, batch: object, stage: str, dataloader_idx: int) -> None:
        if stage == "train":
            where = "train_ds"
        else:
            names = self.dataloader_names(stage)
            name = names[dataloader_idx] if dataloader_idx < len(names) else str(dataloader_idx)
            where = f"{_EVALUATION_KEYS[stage]}[{name}]"
        self._first_batch_check(batch, self.input_types or {}, type(self).__qualname__, stage, where, dataloader_idx)

    def on_train_batch_start(self, batch: Any, batch_idx: int) -> None:
        self._check_first_batch(batch, "train", 0)

    def on_validation_batch_start(self, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> None:
        self._check_first_batch(batch, "validation", dataloader_idx)

    def on_test_batch_start(self, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> None:
        self._check_first_batch(batch, "test", dataloader_idx)

    # -- evaluation ---------------------------------------------------------------------------------------

    def on_validation_batch_end(self, outputs: Any, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> None:
        self._step_outputs.add(dataloader_idx, outputs)

    def on_test_batch_end(self, outputs: Any, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> None:
        self._step_outputs.add(dataloader_idx, outputs)

    def on_validation_epoch_end(self) -> None:
        self._log_evaluation("validation", self.multi_validation_epoch_end)

    def on_test_epoch_end(self) -> None:
        self._log_evaluation("test", self.multi_test_epoch_end)

    def multi_validation_epoch_end(self, outputs: Sequence[StepOutput], dataloader_idx: int = 0) -> dict[str, Tensor]:
        """Collate one validation dataloader's step outputs into metrics (NeMo's hook).

        The default averages every scalar the steps returned over all samples of all processes, weighting
        each step by its ``num_samples`` entry. Override to compute other metrics; reduce across processes
        (``weighted_mean_across_processes``) so every process logs the same value.
        """
        return self._mean_metrics(outputs)

    def multi_test_epoch_end(self, outputs: Sequence[StepOutput], dataloader_idx: int = 0) -> dict[str, Tensor]:
        """Collate one test dataloader's step outputs into metrics; the default is as for validation."""
        return self._mean_metrics(outputs)

    def _mean_metrics(self, outputs: Sequence[StepOutput]) -> dict[str, Tensor]:
        return {key: weighted_mean_across_processes(outputs, key, device=self.device) for key in metric_names(outputs)}

    def _log_evaluation(self, stage: str, collate: Any) -> None:
        names = self.dataloader_names(stage)
        for index, outputs in self._step_outputs.drain(len(names)):
            metrics: dict[str, Tensor] = collate(outputs, index)
            for key, value in metrics.items():
                # The values are already reduced across processes; sync_dist's mean of equal values changes
                # nothing and keeps Lightning from warning about unsynchronised epoch-level metrics.
                if len(names) > 1:
                    self.log(f"{names[index]}_{key}", value, add_dataloader_idx=False, sync_dist=True)
                if index == 0:
                    self.log(key, value, add_dataloader_idx=False, sync_dist=True, prog_bar=True)
