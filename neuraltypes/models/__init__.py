"""The model layer: ``ModelPT`` trained by Lightning, typed datasets, and the pieces ModelPT is built from.

This is the only layer that imports Lightning (the ``train`` extra), and only when ``ModelPT`` is first used:
typed datasets and the data, optimisation and evaluation pieces import without it.
"""

from typing import TYPE_CHECKING, Any

from ._batch_check import check_batch as check_batch
from ._checkpoint import CHECKPOINT_CONFIG_KEY as CHECKPOINT_CONFIG_KEY
from ._checkpoint import config_from_checkpoint as config_from_checkpoint
from ._data import NamedLoader as NamedLoader
from ._data import build_dataloader as build_dataloader
from ._data import dataset_configs as dataset_configs
from ._datasets import TypedDataset as TypedDataset
from ._datasets import batch_class_of as batch_class_of
from ._datasets import batch_types_of as batch_types_of
from ._evaluation import NUM_SAMPLES as NUM_SAMPLES
from ._evaluation import weighted_mean_across_processes as weighted_mean_across_processes
from ._optim import OPTIMIZER_NAMES as OPTIMIZER_NAMES
from ._optim import build_optimization as build_optimization

if TYPE_CHECKING:
    from ._model import ModelPT as ModelPT

__all__ = [
    "CHECKPOINT_CONFIG_KEY",
    "NUM_SAMPLES",
    "OPTIMIZER_NAMES",
    "ModelPT",
    "NamedLoader",
    "TypedDataset",
    "batch_class_of",
    "batch_types_of",
    "build_dataloader",
    "build_optimization",
    "check_batch",
    "config_from_checkpoint",
    "dataset_configs",
    "weighted_mean_across_processes",
]


def __getattr__(name: str) -> Any:
    if name == "ModelPT":
        from ._model import ModelPT

        return ModelPT
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
