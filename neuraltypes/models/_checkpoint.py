"""A model's config inside a Lightning checkpoint, as YAML text, so the checkpoint loads with ``weights_only``.

Lightning's ``save_hyperparameters`` pickles an OmegaConf ``DictConfig`` into the checkpoint, which
``torch.load(weights_only=True)`` then refuses. A YAML string is plain data; it is parsed back with PyYAML's
safe loader (anchors and aliases refused), resolver calls such as ``${oc.env:...}`` are refused (a checkpoint
is untrusted input; the model layer resolves the configs it is given), and the model class it names goes
through the config allowlist.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import torch
import yaml
from omegaconf import DictConfig, OmegaConf

from neuraltypes.config import refuse_resolvers

__all__ = ["CHECKPOINT_CONFIG_KEY", "MAX_CONFIG_CHARS", "config_from_checkpoint", "config_to_checkpoint"]

#: Key of a Lightning checkpoint under which a model's config is stored, as YAML text.
CHECKPOINT_CONFIG_KEY = "neuraltypes_model_config"

#: Configs longer than this are refused on load (a guard against YAML blow-up tricks, not a real limit).
MAX_CONFIG_CHARS = 1 << 20


def config_to_checkpoint(checkpoint: dict[str, Any], config: DictConfig) -> None:
    """Store ``config`` (interpolations unresolved) in ``checkpoint`` as YAML text."""
    checkpoint[CHECKPOINT_CONFIG_KEY] = OmegaConf.to_yaml(config, resolve=False)


def _parse(text: object, where: str) -> DictConfig:
    if not isinstance(text, str):
        raise ValueError(f"{where}: {CHECKPOINT_CONFIG_KEY!r} holds a {type(text).__name__}, not YAML text")
    if len(text) > MAX_CONFIG_CHARS:
        raise ValueError(f"{where}: the stored config is {len(text)} characters, over {MAX_CONFIG_CHARS}")
    # OmegaConf never writes YAML anchors or aliases; refusing them stops alias bombs.
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise ValueError(f"{where}: YAML anchors and aliases are not allowed in a stored config")
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise ValueError(f"{where}: the stored config is not a mapping")
    refuse_resolvers(data)
    parsed = OmegaConf.create(data)
    assert isinstance(parsed, DictConfig)
    return parsed


def config_from_checkpoint(
    path: str | os.PathLike[str], map_location: str | torch.device | None = "cpu"
) -> tuple[DictConfig, Mapping[str, Any]]:
    """The model config and the whole checkpoint, read with ``torch.load(weights_only=True)``.

    Raises:
        ValueError: the checkpoint holds no neuraltypes model config, or one too large or with YAML aliases.
        UnsafeConfigError: the config calls a resolver (``${oc.env:...}``).
        pickle.UnpicklingError: the checkpoint holds objects other than tensors and plain data.
    """
    checkpoint = torch.load(os.fspath(path), map_location=map_location, weights_only=True)
    where = os.fspath(path)
    if not isinstance(checkpoint, dict) or CHECKPOINT_CONFIG_KEY not in checkpoint:
        raise ValueError(f"{where} is not a checkpoint of a neuraltypes ModelPT (no {CHECKPOINT_CONFIG_KEY!r})")
    return _parse(checkpoint[CHECKPOINT_CONFIG_KEY], where), checkpoint
