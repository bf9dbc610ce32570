"""State dicts in and out of archives: tied weights stored once, and checked against a model before loading."""

from __future__ import annotations

from collections.abc import Mapping

import torch

from ._errors import ArchiveError
from ._format import RESERVED_PREFIX

__all__ = ["check_weights_fit", "prepare_weights", "retie", "shared_groups"]

_FLOATING = frozenset({"float64", "float32", "float16", "bfloat16", "float8_e4m3fn", "float8_e5m2"})


def prepare_weights(state_dict: Mapping[str, object]) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Split a state dict into the tensors to store (contiguous, on CPU, sharing no memory) and aliases.

    An entry that is the very same tensor as an earlier one (a tied weight) becomes an alias of it; an
    entry that merely overlaps another's memory (a slice of a fused weight) is stored as its own copy.

    Raises:
        ArchiveError: an entry is not a tensor, is on the meta device, or uses the reserved name prefix.
    """
    stored: dict[str, torch.Tensor] = {}
    aliases: dict[str, str] = {}
    seen: dict[tuple[object, ...], str] = {}
    storages: set[int] = set()
    for name, value in state_dict.items():
        if name.startswith(RESERVED_PREFIX):
            raise ArchiveError(f"weight names may not start with {RESERVED_PREFIX!r}", member=name)
        if not isinstance(value, torch.Tensor):
            raise ArchiveError(f"state-dict entries must be tensors, not {type(value).__name__}", member=name)
        tensor = value.detach()
        if tensor.is_meta:
            raise ArchiveError("the tensor is on the meta device (not materialized); nothing to save", member=name)
        if tensor.layout != torch.strided:
            tensor = tensor.to_dense()
        pointer = tensor.untyped_storage().data_ptr() if tensor.numel() else 0
        key = (tensor.device, pointer, tensor.storage_offset(), tuple(tensor.shape), tensor.stride(), tensor.dtype)
        if pointer and key in seen:
            aliases[name] = seen[key]
            continue
        seen[key] = name
        shared = pointer != 0 and pointer in storages
        storages.add(pointer)
        tensor = tensor.to("cpu")
        stored[name] = tensor.clone() if shared or not tensor.is_contiguous() else tensor
    return stored, aliases


def _describe(dtype: str, shape: tuple[int, ...]) -> str:
    return f"{dtype} {list(shape)}"


def check_weights_fit(
    held: Mapping[str, tuple[str, tuple[int, ...]]], expected: Mapping[str, torch.Tensor], strict: bool, path: str
) -> None:
    """Check the archive's weights (name -> dtype, shape) against a model's state dict before loading.

    Shapes must be equal. Dtypes must be equal, except that a floating-point weight may be stored in another
    floating-point precision (a model saved after ``.half()``): it is restored in the archived precision.

    Raises:
        ArchiveError: a weight's shape or dtype differs; with ``strict``, also missing or unexpected names.
    """
    for name, (dtype, shape) in held.items():
        tensor = expected.get(name)
        if tensor is None:
            continue
        want = (str(tensor.dtype).removeprefix("torch."), tuple(tensor.shape))
        both_float = tensor.dtype.is_floating_point and dtype in _FLOATING
        if want[1] != shape or (want[0] != dtype and not both_float):
            raise ArchiveError(
                f"the model expects {_describe(*want)} but the archive holds {_describe(dtype, shape)}",
                path=path,
                member=name,
            )
    if not strict:
        return
    problems = []
    missing = [name for name in expected if name not in held]
    if missing:
        problems.append(f"the model has weights the archive lacks: {', '.join(missing)}")
    unexpected = [name for name in held if name not in expected]
    if unexpected:
        problems.append(f"the archive holds weights the model does not have: {', '.join(unexpected)}")
    if problems:
        raise ArchiveError(
            "; ".join(problems) + " (restore with strict=False to keep the model's own values for missing "
            "weights and ignore unexpected ones)",
            path=path,
        )


def shared_groups(model: torch.nn.Module) -> list[list[str]]:
    """Names of parameters and buffers that are one object in ``model`` (tied weights), in groups."""
    groups: dict[int, list[str]] = {}
    for name, tensor in [
        *model.named_parameters(remove_duplicate=False),
        *model.named_buffers(remove_duplicate=False),
    ]:
        groups.setdefault(id(tensor), []).append(name)
    return [names for names in groups.values() if len(names) > 1]


def retie(model: torch.nn.Module, groups: list[list[str]]) -> None:
    """Make each group of names one object again after ``load_state_dict(assign=True)`` split them."""
    for names in groups:
        first = model.get_parameter(names[0]) if _is_parameter(model, names[0]) else model.get_buffer(names[0])
        for name in names[1:]:
            owner_path, _, attribute = name.rpartition(".")
            owner = model.get_submodule(owner_path)
            if isinstance(first, torch.nn.Parameter):
                setattr(owner, attribute, first)
            else:
                owner._buffers[attribute] = first


def _is_parameter(model: torch.nn.Module, name: str) -> bool:
    owner_path, _, attribute = name.rpartition(".")
    return attribute in model.get_submodule(owner_path)._parameters
