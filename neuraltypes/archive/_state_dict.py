"""``extract_state_dict_from``: an archive's weights, verified, written out as plain safetensors files."""

from __future__ import annotations

import os
from pathlib import Path

import torch
from safetensors.torch import save_file

from ._atomic import atomic_destination, write_errors
from ._limits import DEFAULT_LIMITS, ArchiveLimits
from ._restore import open_source

__all__ = ["extract_state_dict"]


def extract_state_dict(
    path: str | os.PathLike[str],
    save_dir: str | os.PathLike[str],
    split_by_module: bool,
    limits: ArchiveLimits = DEFAULT_LIMITS,
) -> dict[str, torch.Tensor]:
    """Read the weights (verified), write them under ``save_dir``, and return them."""
    source = open_source(path, limits=limits)
    try:
        state = dict(source.read_weights())
    finally:
        source.close()
    directory = Path(save_dir)
    directory.mkdir(parents=True, exist_ok=True)
    groups: dict[str, dict[str, torch.Tensor]] = {}
    for name, tensor in state.items():
        if split_by_module:
            head, _, rest = name.partition(".")
            groups.setdefault(head if rest else "model_weights", {})[rest or name] = tensor
        else:
            groups.setdefault("model_weights", {})[name] = tensor
    for group, tensors in groups.items():
        unique, seen = {}, set[int]()
        for key, tensor in tensors.items():  # safetensors refuses tensors sharing memory: keep one of each
            if tensor.numel() and tensor.untyped_storage().data_ptr() in seen:
                tensor = tensor.clone()
            seen.add(tensor.untyped_storage().data_ptr())
            unique[key] = tensor
        destination = directory / f"{group}.safetensors"
        with atomic_destination(destination) as temp, write_errors(destination):
            save_file(unique, temp)
    return state
