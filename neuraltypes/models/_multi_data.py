"""NeMo's ways of writing several validation or test sets, expanded to one named dataset config each.

NeMo's ``setup_multiple_validation_data`` / ``setup_multiple_test_data`` accept a list of dataset configs, or
one config whose ``ds_item`` lists the datasets: ``ds_item: [a, b]`` (each copy gets ``ds_item: a``, or the
item itself when the items are mappings), or ``ds_item: key`` naming a key whose value is the list (each copy
gets ``key: a``; here the key may be a dotted path into the config, ``dataset.noise``). Names come from
``name`` (a list, one per dataset) or from the values, cleaned as NeMo does (a file's stem, without
``manifest`` and ``dataset``); NeMo's metric prefix is the name followed by ``_``. NeMo's ``val_dl_idx`` /
``test_dl_idx`` (whose loader's metrics are logged unprefixed) must be 0 here: the first loader's are.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from neuraltypes.config import quote, resolve_config

__all__ = ["dataset_name", "expand_datasets"]

_DS_ITEM = "ds_item"
_FIRST_INDEX_KEYS = {"validation": "val_dl_idx", "test": "test_dl_idx"}


def dataset_name(value: object) -> str:
    """NeMo's name for a dataset from its file or value (``parse_dataset_as_name``), without the trailing ``_``.

    Raises:
        ValueError: nothing is left of the name (a file called ``manifest.json``).
    """
    text = str(value)
    name = Path(text).stem if os.path.exists(text) else text
    name = name.replace("-", "_").replace("manifest", "").replace("dataset", "").rstrip("_")
    if not name:
        raise ValueError(f"{text!r} leaves no dataset name (NeMo's rule drops 'manifest' and 'dataset'): name it")
    return name


def _plain(config: object, where: str) -> Any:
    if config is None or isinstance(config, str | int | float | bool):
        raise TypeError(f"{where} must be a mapping or a list of mappings, got {type(config).__name__}")
    return resolve_config(list(config) if isinstance(config, tuple) else config, allow_resolvers=True)


def _names(given: object, values: list[Any], where: str) -> list[str]:
    if given is None:
        return [dataset_name(value) for value in values]
    if not isinstance(given, list) or len(given) != len(values):
        raise ValueError(f"{where}.name must be a list of {len(values)} names, one per dataset, got {given!r}")
    return [dataset_name(name) for name in given]


def _copies(config: dict[str, Any], key: str, values: list[Any], names: list[str]) -> list[tuple[str, Any]]:
    """One copy of ``config`` per value, with ``key`` (a dotted path) set to it and ``name`` to its name.

    The data is resolved already: it is quoted into OmegaConf and read back resolved, so it comes back as it is.
    """
    items = []
    for name, value in zip(names, values, strict=True):
        item = OmegaConf.create(quote(config))
        OmegaConf.update(item, key, quote(value), force_add=True)
        item["name"] = name
        items.append((name, OmegaConf.to_container(item, resolve=True)))
    return items


def _from_ds_item(config: dict[str, Any], where: str, default_name: str) -> list[tuple[str, Any]] | None:
    """The datasets ``ds_item`` lists, or None when it names one (the config is then used as it is)."""
    item = config[_DS_ITEM]
    if isinstance(item, str):
        pointed = OmegaConf.select(OmegaConf.create(quote(config)), item)
        if not OmegaConf.is_list(pointed):
            return None
        values = OmegaConf.to_container(pointed, resolve=True)
        assert isinstance(values, list)
        rest = {key: value for key, value in config.items() if key not in (_DS_ITEM, "name")}
        return _copies(rest, item, values, _names(config.get("name"), values, where))
    if not isinstance(item, list):
        return None
    if item and all(isinstance(value, dict) for value in item):  # nested dataset configs
        return [(str(value.get("name", f"{default_name}_{index}")), value) for index, value in enumerate(item)]
    rest = {key: value for key, value in config.items() if key != "name"}
    return _copies(rest, _DS_ITEM, item, _names(config.get("name"), item, where))


def expand_datasets(config: object, stage: str, where: str, default_name: str) -> tuple[bool, list[tuple[str, Any]]]:
    """Whether ``config`` names several datasets, and (name, config) for each; one config as it is otherwise.

    Args:
        config: the ``validation_ds`` or ``test_ds`` node.
        stage: ``"validation"`` or ``"test"``.
        where: the key, for messages.
        default_name: the name of an unnamed dataset of a list (suffixed by its index).

    Raises:
        TypeError: neither a mapping nor a list.
        ValueError: a non-zero ``val_dl_idx``, names that do not match the datasets, or a name twice.
    """
    plain = _plain(config, where)
    if isinstance(plain, list):
        if not all(isinstance(item, dict) for item in plain):
            raise TypeError(f"{where} must be a mapping or a list of mappings")
        several = [
            (str(item.get("name", default_name if len(plain) == 1 else f"{default_name}_{index}")), item)
            for index, item in enumerate(plain)
        ]
    elif isinstance(plain, dict):
        first = plain.pop(_FIRST_INDEX_KEYS[stage], 0)
        if first != 0:
            raise ValueError(
                f"{where}.{_FIRST_INDEX_KEYS[stage]}={first}: the first dataset's metrics are the ones logged without "
                "a prefix; put the dataset you monitor first"
            )
        if _DS_ITEM in plain and plain[_DS_ITEM] is None:
            del plain[_DS_ITEM]
        expanded = _from_ds_item(plain, where, default_name) if _DS_ITEM in plain else None
        if expanded is None:
            return False, [(str(plain.get("name", default_name)), plain)]
        several = expanded
    else:
        raise TypeError(f"{where} must be a mapping or a list of mappings, got {type(plain).__name__}")
    names = [name for name, _ in several]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"{where} names several datasets {repeated}: each needs its own name")
    return True, several
