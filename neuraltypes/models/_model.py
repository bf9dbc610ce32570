"""``ModelPT``: a ``NeuralModule`` trained by Lightning, set up from one config (NeMo's model contract).

The class is glue: its dataloaders are set up by the :mod:`._loader_setup` mixin (data from :mod:`._data`),
its metrics collated and logged by the :mod:`._evaluation_hooks` mixin (collation from :mod:`._evaluation`), the
optimizer comes from :mod:`._optim`, the first-batch type check from :mod:`._batch_check` and the checkpointed
config from :mod:`._checkpoint`. A subclass builds its modules in ``__init__`` from
``self.cfg`` and writes ``forward``, ``training_step`` and ``validation_step``.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, Literal, Self, overload

import lightning.pytorch as pl
import torch
from lightning.pytorch.utilities.model_summary.model_summary import ModelSummary, summarize
from omegaconf import DictConfig, OmegaConf
from torch.utils.data import DataLoader

from neuraltypes.archive import ArchiveLimits
from neuraltypes.config import DEFAULT_LIMITS, ConfigLimits, class_path, quote, resolve_config, resolve_target
from neuraltypes.nn import NeuralModule

from ._batch_check import FirstBatchCheck
from ._checkpoint import config_from_checkpoint, config_to_checkpoint
from ._data import NamedLoader
from ._evaluation import StepOutputs
from ._evaluation_hooks import EvaluationHooks
from ._loader_setup import EVALUATION_KEYS, LoaderSetup
from ._optim import build_optimization

__all__ = ["ModelPT"]

_TARGET = "_target_"
_NEMO_TARGET = "target"
"""NeMo's own key for the model class, which NeMo writes into every model config it saves."""
_ARCHIVE_LIMITS = ArchiveLimits()


def _model_config(cfg: Mapping[str, Any] | DictConfig, owner: str) -> DictConfig:
    """A private copy of a model config, interpolations kept, without ``_target_``."""
    if not isinstance(cfg, Mapping | DictConfig):
        raise TypeError(f"{owner} needs a mapping config, not {type(cfg).__name__}")
    container = OmegaConf.to_container(cfg, resolve=False) if isinstance(cfg, DictConfig) else dict(cfg)
    config = OmegaConf.create(container)
    assert isinstance(config, DictConfig)
    config.pop(_TARGET, None)
    return config


class ModelPT(LoaderSetup, EvaluationHooks, NeuralModule, pl.LightningModule):
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
            where = f"{EVALUATION_KEYS[stage]}[{name}]"
        self._first_batch_check(batch, self.input_types or {}, type(self).__qualname__, stage, where, dataloader_idx)

    def on_train_batch_start(self, batch: Any, batch_idx: int) -> None:
        self._check_first_batch(batch, "train", 0)

    def on_validation_batch_start(self, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> None:
        self._check_first_batch(batch, "validation", dataloader_idx)

    def on_test_batch_start(self, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> None:
        self._check_first_batch(batch, "test", dataloader_idx)
