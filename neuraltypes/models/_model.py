"""``ModelPT``: a ``NeuralModule`` trained by Lightning, set up from one config (NeMo's model contract).

The class is glue: data comes from :mod:`._data`, the optimizer from :mod:`._optim`, evaluation
collation from :mod:`._evaluation`, the first-batch type check from :mod:`._batch_check` and the
checkpointed config from :mod:`._checkpoint`. A subclass builds its modules in ``__init__`` from
``self.cfg`` and writes ``forward``, ``training_step`` and ``validation_step``.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, ClassVar, Literal, Self, overload

import lightning.pytorch as pl
import torch
from lightning.pytorch.utilities.model_summary.model_summary import ModelSummary, summarize
from omegaconf import DictConfig, OmegaConf
from torch import Tensor
from torch.utils.data import DataLoader

from neuraltypes.archive import ArchiveLimits
from neuraltypes.config import DEFAULT_LIMITS, ConfigLimits, class_path, quote, resolve_config, resolve_target
from neuraltypes.nn import NeuralModule

from ._batch_check import FirstBatchCheck
from ._checkpoint import config_from_checkpoint, config_to_checkpoint
from ._data import NamedLoader, build_dataloader, build_named_loaders, dataset_configs
from ._evaluation import StepOutput, StepOutputs, metric_names, weighted_mean_across_processes
from ._multi_data import expand_datasets
from ._optim import build_optimization

__all__ = ["ModelPT"]

_TARGET = "_target_"
_NEMO_TARGET = "target"
"""NeMo's own key for the model class, which NeMo writes into every model config it saves."""
_EVALUATION_KEYS = {"validation": "validation_ds", "test": "test_ds"}
_DATASET_KEYS = {"train": "train_ds", **_EVALUATION_KEYS}
_DEFAULT_NAMES = {"validation": "val", "test": "test"}
_ARCHIVE_LIMITS = ArchiveLimits()
_NEMO_LOG = "log"
"""Key of a step's or an epoch end's result whose entries NeMo logs (and of nothing else, at epoch end)."""


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

    NeMo's surface is here too: ``setup_multiple_validation_data`` (and ``ds_item``), NeMo-style
    ``setup_*_data`` overrides that assign ``self._train_dl``/``_validation_dl``/``_test_dl``,
    ``validation_step_outputs``, the ``log`` entries of step and epoch-end results, ``set_trainer``,
    ``prepare_test``, ``summarize`` and ``restore_from(..., trainer=...)``; see docs/nemo.md.

    Args:
        cfg: the model config (a mapping or DictConfig; it is copied).
        trainer: optional; when given, it is attached and the datasets are set up immediately.
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
        self._step_inbox: dict[str, list[list[Any]]] = {}  # what NeMo-style steps append to *_step_outputs
        self._multi_dataset_mode = False  # set while setup_multiple_*_data calls the per-dataset setup
        self.world_size = 1
        if trainer is not None:
            self.set_trainer(trainer)
            self.setup_data()

    # -- config -------------------------------------------------------------------------------------------

    @property
    def cfg(self) -> DictConfig:
        """The model's config (the object itself: changes are kept and saved)."""
        return self._cfg

    @cfg.setter
    def cfg(self, cfg: Mapping[str, Any] | DictConfig) -> None:
        """Replace the config (a private copy is kept, as in the constructor); the modules are not rebuilt."""
        self._cfg = _model_config(cfg, type(self).__qualname__)

    def to_config_file(self, path2yaml_file: str | os.PathLike[str]) -> None:
        """Write :meth:`to_config_dict` to a YAML file, interpolations resolved (NeMo's ``to_config_file``)."""
        OmegaConf.save(self.to_config_dict(), os.fspath(path2yaml_file), resolve=True)

    @classmethod
    def from_config_file(cls, path2yaml_file: str | os.PathLike[str]) -> Self:
        """Build the model a YAML file describes, with fresh weights (NeMo's ``from_config_file``).

        The file is the caller's own, so its resolvers may run (as for ``Model(cfg)``).
        """
        return cls.from_config_dict(OmegaConf.load(os.fspath(path2yaml_file)), allow_resolvers=True)

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

    @overload
    @classmethod
    def restore_from(
        cls,
        restore_path: str | os.PathLike[str],
        map_location: str | torch.device | None = ...,
        strict: bool = ...,
        override_config_path: str | os.PathLike[str] | DictConfig | None = ...,
        return_config: Literal[False] = ...,
        *,
        trainer: pl.Trainer | None = ...,
        save_restore_connector: None = ...,
        validate_access_integrity: bool = ...,
        progress: bool | None = ...,
        mmap: bool = ...,
        limits: ArchiveLimits = ...,
    ) -> Self: ...

    @overload
    @classmethod
    def restore_from(
        cls,
        restore_path: str | os.PathLike[str],
        map_location: str | torch.device | None = ...,
        strict: bool = ...,
        override_config_path: str | os.PathLike[str] | DictConfig | None = ...,
        *,
        return_config: Literal[True],
        trainer: pl.Trainer | None = ...,
        save_restore_connector: None = ...,
        validate_access_integrity: bool = ...,
        progress: bool | None = ...,
        mmap: bool = ...,
        limits: ArchiveLimits = ...,
    ) -> DictConfig: ...

    @classmethod
    def restore_from(
        cls,
        restore_path: str | os.PathLike[str],
        map_location: str | torch.device | None = "cpu",
        strict: bool = True,
        override_config_path: str | os.PathLike[str] | DictConfig | None = None,
        return_config: bool = False,
        *,
        trainer: pl.Trainer | None = None,
        save_restore_connector: None = None,
        validate_access_integrity: bool = True,
        progress: bool | None = None,
        mmap: bool = True,
        limits: ArchiveLimits = _ARCHIVE_LIMITS,
    ) -> Self | DictConfig:
        """Rebuild a model from an archive or a NeMo 1.x ``.nemo`` file (see ``Archivable.restore_from``).

        NeMo's keywords: ``trainer`` is attached to the restored model (as NeMo passes it to the constructor;
        the dataloaders are not built, as in NeMo, until the trainer runs); ``validate_access_integrity`` is
        accepted and has nothing to check (nothing is extracted to shared storage). NeMo's positional order
        differs (``restore_path, override_config_path, map_location, ...``): pass those by keyword.

        Raises:
            TypeError: a ``save_restore_connector``: the archive format is fixed, there is no connector to swap.
        """
        if save_restore_connector is not None:
            raise TypeError(
                f"{cls.__qualname__}.restore_from: save_restore_connector is not supported: the archive format is "
                "fixed (one safetensors file, docs/archive.md); subclass the model to change what it saves"
            )
        del validate_access_integrity
        if return_config:
            config: DictConfig = super().restore_from(
                restore_path,
                map_location,
                strict,
                override_config_path,
                return_config=True,
                progress=progress,
                mmap=mmap,
                limits=limits,
            )
            return config
        model = super().restore_from(
            restore_path, map_location, strict, override_config_path, False, progress=progress, mmap=mmap, limits=limits
        )
        if trainer is not None:
            model.set_trainer(trainer)
        return model

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Store the config in Lightning checkpoints as YAML text (plain data for ``weights_only`` loads)."""
        config_to_checkpoint(checkpoint, self.to_config_dict())

    # -- data ---------------------------------------------------------------------------------------------

    def setup_data(self) -> None:
        """Build every dataloader the config describes and that is not built yet.

        Validation and test sets go through ``setup_multiple_validation_data`` / ``setup_multiple_test_data``
        (NeMo's order), so NeMo's ``ds_item`` form works from the config too.
        """
        if self._train_loader is None and self._cfg.get("train_ds") is not None:
            self.setup_training_data(self._cfg.train_ds)
        if self._loaders["validation"] is None and self._cfg.get("validation_ds") is not None:
            self.setup_multiple_validation_data(self._cfg.validation_ds)
        if self._loaders["test"] is None and self._cfg.get("test_ds") is not None:
            self.setup_multiple_test_data(self._cfg.test_ds)

    def setup_training_data(self, train_data_config: object) -> None:
        """Build the training dataloader (shuffled unless the config says otherwise); the config becomes
        ``cfg.train_ds``, as in NeMo."""
        self._update_dataset_config("train", train_data_config)
        ((_, config),) = dataset_configs(train_data_config, "train_ds", "train", single=True)
        self._train_dl = build_dataloader(config, "train_ds", shuffle=True)

    def setup_validation_data(self, val_data_config: object) -> None:
        """Build the validation dataloaders: one config, or a list of named ones (``cfg.validation_ds`` after)."""
        self._update_dataset_config("validation", val_data_config)
        self._setup_evaluation_data("validation", val_data_config)

    def setup_test_data(self, test_data_config: object) -> None:
        """Build the test dataloaders: one config, or a list of named ones (``cfg.test_ds`` after)."""
        self._update_dataset_config("test", test_data_config)
        self._setup_evaluation_data("test", test_data_config)

    def setup_multiple_validation_data(self, val_data_config: object) -> None:
        """NeMo's several validation sets: a list of configs, or one whose ``ds_item`` lists them.

        Each dataset is set up by :meth:`setup_validation_data` (so a subclass that overrides it, NeMo style,
        is called once per dataset) and named by its ``name``, the ``name`` list, or its ``ds_item`` value.
        See :mod:`neuraltypes.models._multi_data` for the forms.

        Raises:
            ValueError: a non-zero ``val_dl_idx``, names that do not match the datasets, a name twice, or a
                dataset whose setup made other than one dataloader.
        """
        self._setup_multiple("validation", val_data_config, self.setup_validation_data)

    def setup_multiple_test_data(self, test_data_config: object) -> None:
        """NeMo's several test sets, as :meth:`setup_multiple_validation_data` (``test_dl_idx`` for ``val_dl_idx``)."""
        self._setup_multiple("test", test_data_config, self.setup_test_data)

    def _setup_multiple(self, stage: str, config: object, setup: Any) -> None:
        key = _EVALUATION_KEYS[stage]
        self._update_dataset_config(stage, config)
        several, datasets = expand_datasets(config, stage, key, _DEFAULT_NAMES[stage])
        collected: list[NamedLoader] = []
        with self._setting_up_several():
            if not several:  # resolved already: quoted, so that reading it gives back the data as it is
                setup(OmegaConf.create(quote(datasets[0][1])))
                return
            for name, dataset in datasets:
                setup(OmegaConf.create(quote(dataset)))
                built = self._loaders[stage] or []
                if len(built) != 1:
                    raise ValueError(f"{key}[{name}]: setting it up made {len(built)} dataloaders, not one")
                collected.append(NamedLoader(name, built[0].loader))
        self._set_loaders(stage, collected)

    @contextlib.contextmanager
    def _setting_up_several(self) -> Iterator[None]:
        self._multi_dataset_mode = True
        try:
            yield
        finally:
            self._multi_dataset_mode = False

    def _update_dataset_config(self, dataset_name: str, config: object) -> None:
        """Keep ``config`` as ``cfg.<dataset_name>_ds`` (NeMo's helper, which NeMo-style ``setup_*_data`` call).

        Nothing is kept while ``setup_multiple_*_data`` sets up its datasets one by one, nor for ``None``.

        Raises:
            ValueError: ``dataset_name`` is not ``train``, ``validation`` or ``test``.
        """
        if dataset_name not in _DATASET_KEYS:
            raise ValueError(f"dataset_name must be one of {list(_DATASET_KEYS)}, got {dataset_name!r}")
        key = _DATASET_KEYS[dataset_name]
        if self._multi_dataset_mode or config is None or config is self._cfg.get(key):
            return
        if isinstance(config, Mapping):
            config = OmegaConf.create(dict(config))
        elif isinstance(config, list | tuple):
            config = OmegaConf.create(list(config))
        self._cfg[key] = config

    def _setup_evaluation_data(self, stage: str, config: object) -> None:
        loaders = build_named_loaders(config, _EVALUATION_KEYS[stage], _DEFAULT_NAMES[stage], shuffle=False)
        self._set_loaders(stage, loaders)

    def _set_loaders(self, stage: str, loaders: list[NamedLoader] | None) -> None:
        self._loaders[stage] = loaders
        self._step_inbox.pop(stage, None)
        self._first_batch_check.forget(stage)

    def _as_named(self, stage: str, value: DataLoader[Any] | Sequence[DataLoader[Any]] | None) -> list[NamedLoader]:
        if value is None:
            return []  # set up, with no data (NeMo's setup for a dataset config naming none)
        if isinstance(value, DataLoader):
            return [NamedLoader(_DEFAULT_NAMES[stage], value)]
        return [NamedLoader(f"{_DEFAULT_NAMES[stage]}_{index}", loader) for index, loader in enumerate(value)]

    # NeMo's attributes, which NeMo-style setup_*_data overrides assign.
    @property
    def _train_dl(self) -> DataLoader[Any] | None:
        return self._train_loader

    @_train_dl.setter
    def _train_dl(self, loader: DataLoader[Any] | None) -> None:
        self._train_loader = loader
        self._first_batch_check.forget("train")

    @property
    def _validation_dl(self) -> DataLoader[Any] | list[DataLoader[Any]] | None:
        return self._loader_or_list("validation")

    @_validation_dl.setter
    def _validation_dl(self, value: DataLoader[Any] | Sequence[DataLoader[Any]] | None) -> None:
        self._set_loaders("validation", self._as_named("validation", value))

    @property
    def _test_dl(self) -> DataLoader[Any] | list[DataLoader[Any]] | None:
        return self._loader_or_list("test")

    @_test_dl.setter
    def _test_dl(self, value: DataLoader[Any] | Sequence[DataLoader[Any]] | None) -> None:
        self._set_loaders("test", self._as_named("test", value))

    def _loader_or_list(self, stage: str) -> DataLoader[Any] | list[DataLoader[Any]] | None:
        loaders = self._loaders[stage]
        if loaders is None:
            return None
        return loaders[0].loader if len(loaders) == 1 else [named.loader for named in loaders]

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

    def get_validation_dataloader_prefix(self, dataloader_idx: int = 0) -> str:
        """What the metrics of validation dataloader ``dataloader_idx`` are prefixed with: its name and ``_``."""
        return f"{self.dataloader_names('validation')[dataloader_idx]}_"

    def get_test_dataloader_prefix(self, dataloader_idx: int = 0) -> str:
        """What the metrics of test dataloader ``dataloader_idx`` are prefixed with: its name and ``_``."""
        return f"{self.dataloader_names('test')[dataloader_idx]}_"

    # -- trainer ------------------------------------------------------------------------------------------

    def set_trainer(self, trainer: pl.Trainer | None) -> None:
        """Attach a trainer (NeMo's ``set_trainer``; ``trainer.fit`` attaches its own) and set ``world_size``."""
        self.trainer = trainer
        self.set_world_size(trainer)

    def set_world_size(self, trainer: pl.Trainer | None) -> None:
        """``world_size``: the trainer's devices times its nodes (1 without a trainer), as NeMo computes it."""
        self.world_size = 1
        if trainer is not None and trainer.num_devices and trainer.num_nodes:
            self.world_size = trainer.num_devices * trainer.num_nodes

    def prepare_test(self, trainer: pl.Trainer | None) -> bool:
        """Whether ``trainer.test(model)`` can run: there is a ``test_ds`` and the trainer uses one device.

        As in NeMo, a trainer over several devices is refused with a warning (a distributed sampler pads the
        test set, so some samples would count twice); otherwise the trainer is attached.
        """
        if self._cfg.get("test_ds") is None:
            warnings.warn(f"{type(self).__qualname__} has no test_ds config to test on", stacklevel=2)
            return False
        if trainer is not None and trainer.num_devices > 1:
            warnings.warn(
                "test with a Trainer on one device (devices=1): over several, the distributed sampler repeats "
                "samples to fill the last batch on every device",
                stacklevel=2,
            )
            return False
        self.set_trainer(trainer)
        return True

    def summarize(self, max_depth: int = 1) -> ModelSummary:
        """Lightning's summary of the module tree (NeMo's ``summarize``); ``max_depth`` 0 turns the layers off."""
        return summarize(self, max_depth=max_depth)

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

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        """Log the ``log`` entries of a NeMo-style training step's result (``{"loss": ..., "log": {...}}``)."""
        logged = outputs.get(_NEMO_LOG) if isinstance(outputs, Mapping) else None
        if isinstance(logged, Mapping):
            self.log_dict(dict(logged), on_step=True)

    def on_validation_batch_end(self, outputs: Any, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> None:
        self._collect("validation", outputs, dataloader_idx)

    def on_test_batch_end(self, outputs: Any, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> None:
        self._collect("test", outputs, dataloader_idx)

    @property
    def validation_step_outputs(self) -> list[Any]:
        """NeMo's list that a validation step may append its result to (a list per dataloader when several).

        A step's result is collected once: what the step appended, or else what it returned.
        """
        return self._inbox("validation")

    @property
    def test_step_outputs(self) -> list[Any]:
        """NeMo's list that a test step may append its result to; see :attr:`validation_step_outputs`."""
        return self._inbox("test")

    def _inbox(self, stage: str) -> list[Any]:
        count = max(1, len(self._loaders[stage] or []))
        lists = self._step_inbox.get(stage)
        if lists is None or len(lists) != count:
            lists = self._step_inbox[stage] = [[] for _ in range(count)]
        return lists[0] if count == 1 else lists

    def _collect(self, stage: str, returned: Any, dataloader_idx: int) -> None:
        lists = self._step_inbox.get(stage) or []
        appended = lists[dataloader_idx] if dataloader_idx < len(lists) else []
        for output in appended or [returned]:
            self._step_outputs.add(dataloader_idx, output)
        appended.clear()

    def on_validation_epoch_end(self) -> None:
        self._log_evaluation("validation", self.multi_validation_epoch_end)

    def on_test_epoch_end(self) -> None:
        self._log_evaluation("test", self.multi_test_epoch_end)

    def multi_validation_epoch_end(self, outputs: Sequence[StepOutput], dataloader_idx: int = 0) -> dict[str, Tensor]:
        """Collate one validation dataloader's step outputs into metrics (NeMo's hook).

        The default averages every scalar the steps returned over all samples of all processes, weighting
        each step by its ``num_samples`` entry. Override to compute other metrics; reduce across processes
        (``weighted_mean_across_processes``) so every process logs the same value. Every entry of the result
        is logged, except in NeMo's form ``{"val_loss": ..., "log": {...}}``, where only the ``log`` entries
        are (as in NeMo); None logs nothing.
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
            metrics: Mapping[str, Any] | None = collate(outputs, index)
            if metrics is not None and isinstance(metrics.get(_NEMO_LOG), Mapping):
                metrics = metrics[_NEMO_LOG]  # NeMo's result: only its `log` entries are logged
            for key, value in (metrics or {}).items():
                # The values are already reduced across processes; sync_dist's mean of equal values changes
                # nothing and keeps Lightning from warning about unsynchronised epoch-level metrics.
                if len(names) > 1:
                    self.log(f"{names[index]}_{key}", value, add_dataloader_idx=False, sync_dist=True)
                if index == 0:
                    self.log(key, value, add_dataloader_idx=False, sync_dist=True, prog_bar=True)
