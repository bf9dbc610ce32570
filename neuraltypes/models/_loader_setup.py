"""ModelPT's dataloaders: built from the config, NeMo's ``setup_*_data`` surface, and Lightning's dataloader hooks.

A mixin of :class:`~neuraltypes.models._model.ModelPT`, which creates the state it reads (``_cfg``, the loaders,
the first-batch check) in its constructor.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from omegaconf import DictConfig, OmegaConf
from torch.utils.data import DataLoader

from neuraltypes.config import quote

from ._batch_check import FirstBatchCheck
from ._data import NamedLoader, build_dataloader, build_named_loaders, dataset_configs
from ._multi_data import expand_datasets

if TYPE_CHECKING:
    import lightning.pytorch as pl

    _Model = pl.LightningModule
else:
    _Model = object

__all__ = ["DATASET_KEYS", "DEFAULT_NAMES", "EVALUATION_KEYS", "LoaderSetup"]

EVALUATION_KEYS = {"validation": "validation_ds", "test": "test_ds"}
DATASET_KEYS = {"train": "train_ds", **EVALUATION_KEYS}
DEFAULT_NAMES = {"validation": "val", "test": "test"}


class LoaderSetup(_Model):
    """The dataloaders of a model: its ``train_ds``, ``validation_ds`` and ``test_ds``, and NeMo's ways to set
    them up (``setup_multiple_*_data``, overrides of ``setup_*_data`` that assign ``self._train_dl`` ...)."""

    _cfg: DictConfig
    _train_loader: DataLoader[Any] | None
    _loaders: dict[str, list[NamedLoader] | None]
    _step_inbox: dict[str, list[list[Any]]]
    _first_batch_check: FirstBatchCheck
    _multi_dataset_mode: bool

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
        key = EVALUATION_KEYS[stage]
        self._update_dataset_config(stage, config)
        several, datasets = expand_datasets(config, stage, key, DEFAULT_NAMES[stage])
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
        if dataset_name not in DATASET_KEYS:
            raise ValueError(f"dataset_name must be one of {list(DATASET_KEYS)}, got {dataset_name!r}")
        key = DATASET_KEYS[dataset_name]
        if self._multi_dataset_mode or config is None or config is self._cfg.get(key):
            return
        if isinstance(config, Mapping):
            config = OmegaConf.create(dict(config))
        elif isinstance(config, list | tuple):
            config = OmegaConf.create(list(config))
        self._cfg[key] = config

    def _setup_evaluation_data(self, stage: str, config: object) -> None:
        loaders = build_named_loaders(config, EVALUATION_KEYS[stage], DEFAULT_NAMES[stage], shuffle=False)
        self._set_loaders(stage, loaders)

    def _set_loaders(self, stage: str, loaders: list[NamedLoader] | None) -> None:
        self._loaders[stage] = loaders
        self._step_inbox.pop(stage, None)
        self._first_batch_check.forget(stage)

    def _as_named(self, stage: str, value: DataLoader[Any] | Sequence[DataLoader[Any]] | None) -> list[NamedLoader]:
        if value is None:
            return []  # set up, with no data (NeMo's setup for a dataset config naming none)
        if isinstance(value, DataLoader):
            return [NamedLoader(DEFAULT_NAMES[stage], value)]
        return [NamedLoader(f"{DEFAULT_NAMES[stage]}_{index}", loader) for index, loader in enumerate(value)]

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
