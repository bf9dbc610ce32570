"""Dataloaders built from a model's ``train_ds`` / ``validation_ds`` / ``test_ds`` configs.

A dataset config holds the dataset (``dataset: {_target_: ...}``, built by safe instantiation) and the
loader's settings (``batch_size``, ``shuffle``, ``num_workers``, ``drop_last``, ``pin_memory``,
``persistent_workers``). ``validation_ds`` and ``test_ds`` may be a list of such configs, each with a
``name`` that prefixes its metrics. Under DDP, Lightning shards each loader with a distributed sampler.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from omegaconf import DictConfig, ListConfig
from torch.utils.data import DataLoader, Dataset

from neuraltypes.config import instantiate, quote, resolve_config

__all__ = ["NamedLoader", "build_dataloader", "build_named_loaders", "dataset_configs"]

_LOADER_KEYS = ("batch_size", "shuffle", "num_workers", "drop_last", "pin_memory", "persistent_workers")
_KNOWN_KEYS = frozenset({"dataset", "name", *_LOADER_KEYS})


@dataclasses.dataclass(frozen=True)
class NamedLoader:
    """A dataloader and the name its metrics are logged under."""

    name: str
    loader: DataLoader[Any]


def _container(config: object, where: str) -> Any:
    """Plain containers of a config node, a mapping or a list, resolved once.

    It is the model's own config (the caller's, or data quoted by ``from_config_dict``), so resolvers may run.
    """
    if isinstance(config, DictConfig | ListConfig | Mapping | list | tuple):
        return resolve_config(list(config) if isinstance(config, tuple) else config, allow_resolvers=True)
    raise TypeError(f"{where} must be a mapping or a list of mappings, got {type(config).__name__}")


def dataset_configs(
    config: object, where: str, default_name: str, *, single: bool = False
) -> list[tuple[str, dict[str, Any]]]:
    """The (name, config) of each dataset under one ``*_ds`` key; a single mapping is a list of one.

    Args:
        single: only one dataset is allowed (``train_ds``).

    Raises:
        TypeError: not a mapping (or a list of them, unless ``single``).
        ValueError: unknown keys (a typo such as ``batchsize`` must not be silently ignored), or two
            datasets with one name.
    """
    container = _container(config, where)
    if single and isinstance(container, list):
        raise TypeError(f"{where} must be one dataset config (a mapping), not a list")
    items = container if isinstance(container, list) else [container]
    named: list[tuple[str, dict[str, Any]]] = []
    for index, item in enumerate(items):
        place = f"{where}[{index}]" if isinstance(container, list) else where
        if not isinstance(item, dict):
            raise TypeError(f"{place} must be a mapping, got {type(item).__name__}")
        unknown = sorted(set(item) - _KNOWN_KEYS)
        if unknown:
            raise ValueError(f"{place} has unknown keys {unknown}; known keys are {sorted(_KNOWN_KEYS)}")
        fallback = default_name if len(items) == 1 else f"{default_name}_{index}"
        named.append((str(item.get("name", fallback)), item))
    names = [name for name, _ in named]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"{where} names several datasets {duplicates}: each needs its own name")
    return named


def build_dataloader(config: Mapping[str, Any], where: str, *, shuffle: bool) -> DataLoader[Any]:
    """A DataLoader for one dataset config; the dataset's own ``collate_fn`` is used when it has one.

    Raises:
        ValueError: the config has no ``dataset`` node.
        UnsafeTargetError: the dataset's ``_target_`` is off the allowlist.
    """
    if "dataset" not in config:
        raise ValueError(f"{where} needs a 'dataset' node naming the dataset class by '_target_'")
    dataset = instantiate(quote(config["dataset"]))  # resolved already: its strings are data
    if not isinstance(dataset, Dataset):
        raise TypeError(f"{where}.dataset built a {type(dataset).__name__}, not a torch Dataset")
    settings = {key: config[key] for key in _LOADER_KEYS if key in config}
    settings.setdefault("shuffle", shuffle)
    collate = getattr(dataset, "collate_fn", None)
    return DataLoader(dataset, collate_fn=collate, **settings)


def build_named_loaders(config: object, where: str, default_name: str, *, shuffle: bool) -> list[NamedLoader]:
    """One named DataLoader per dataset config under ``where`` (``validation_ds``, ``test_ds``)."""
    return [
        NamedLoader(name, build_dataloader(item, f"{where}[{name}]", shuffle=shuffle))
        for name, item in dataset_configs(config, where, default_name)
    ]
