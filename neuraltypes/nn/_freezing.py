"""Freezing a module tree: ``requires_grad`` off and eval mode, with each parameter's previous state kept."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

__all__ = ["as_frozen", "freeze", "unfreeze"]

_RECORD = "_frozen_grad_map"
"""Where :func:`freeze` keeps each parameter's ``requires_grad`` from before (NeMo's attribute name and form)."""


def _requires_grad(module: torch.nn.Module) -> dict[str, bool]:
    return {name: parameter.requires_grad for name, parameter in module.named_parameters()}


def _restore_requires_grad(module: torch.nn.Module, state: dict[str, bool]) -> None:
    for name, parameter in module.named_parameters():
        parameter.requires_grad_(state.get(name, parameter.requires_grad))


def freeze(module: torch.nn.Module) -> None:
    """Stop gradients for every parameter and switch to eval mode, remembering what was trainable.

    Freezing twice keeps the first record, so ``unfreeze(partial=True)`` returns to the state before any freeze.
    """
    if _RECORD not in module.__dict__:
        module.__dict__[_RECORD] = _requires_grad(module)
    for parameter in module.parameters():
        parameter.requires_grad_(False)
    module.eval()


def unfreeze(module: torch.nn.Module, partial: bool = False) -> None:
    """Make parameters trainable again and switch to train mode.

    Args:
        partial: restore each parameter's ``requires_grad`` from before :func:`freeze` (parameters that were
            frozen on purpose stay frozen) instead of making every parameter trainable.

    Raises:
        ValueError: ``partial`` without an earlier :func:`freeze` (NeMo's rule): there is no state to go back to.
    """
    if partial and _RECORD not in module.__dict__:
        raise ValueError(f"cannot unfreeze {type(module).__name__} partially: it was not frozen with freeze() first")
    record = module.__dict__.pop(_RECORD, None)
    if partial and record is not None:
        _restore_requires_grad(module, record)
    else:
        for parameter in module.parameters():
            parameter.requires_grad_(True)
    module.train()


@contextlib.contextmanager
def as_frozen(module: torch.nn.Module) -> Iterator[torch.nn.Module]:
    """Freeze within a ``with`` block; afterwards every parameter and submodule is exactly as before.

    Each parameter's ``requires_grad`` and each submodule's train/eval mode are restored (partial freezes
    and mixed modes included); the blocks nest.
    """
    requires_grad = _requires_grad(module)
    training = {name: sub.training for name, sub in module.named_modules()}
    for parameter in module.parameters():
        parameter.requires_grad_(False)
    module.eval()
    try:
        yield module
    finally:
        _restore_requires_grad(module, requires_grad)
        for name, sub in module.named_modules():
            sub.training = training.get(name, sub.training)
