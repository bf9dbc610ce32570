"""Typed datasets: a dataset whose ``collate_fn`` declares, as a NamedTuple of ``NT`` fields, what it batches.

Declaring the batch type lets the model compare what the data provides with what its ``forward`` takes,
by port name, before the first step runs (see :mod:`._batch_check`).
"""

from __future__ import annotations

import typing
from typing import Any, ClassVar, Generic, TypeVar

from torch.utils.data import Dataset

from neuraltypes.core import NeuralType, neural_type_of

__all__ = ["TypedDataset", "batch_class_of", "batch_types_of"]

ItemT = TypeVar("ItemT")
BatchT = TypeVar("BatchT")


class TypedDataset(Dataset[ItemT], Generic[ItemT, BatchT]):
    """A map-style dataset whose batches have declared neural types.

    Subclasses implement ``__len__``, ``__getitem__`` and ``collate_fn``, annotating ``collate_fn``'s return
    with a NamedTuple whose fields are ``NT[...]`` tensors. Subclasses may be named as ``_target_`` in a
    model's ``train_ds`` / ``validation_ds`` / ``test_ds`` configs.
    """

    __neuraltypes_instantiable__: ClassVar[bool] = True

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__qualname__} must define __len__")

    def __getitem__(self, index: int) -> ItemT:
        raise NotImplementedError(f"{type(self).__qualname__} must define __getitem__")

    def collate_fn(self, items: list[ItemT]) -> BatchT:
        """Stack items into one batch of the declared type."""
        raise NotImplementedError(f"{type(self).__qualname__} must define collate_fn")


def batch_class_of(dataset: object) -> type[tuple[Any, ...]] | None:
    """The NamedTuple class a dataset's ``collate_fn`` declares it returns, or None if it declares none."""
    collate = getattr(type(dataset), "collate_fn", None)
    if collate is None:
        return None
    return _declared_return(collate)


def _declared_return(function: Any) -> type[tuple[Any, ...]] | None:
    try:
        hints = typing.get_type_hints(function, include_extras=True)
    except (NameError, TypeError):
        return None
    returned = hints.get("return")
    if isinstance(returned, type) and issubclass(returned, tuple) and hasattr(returned, "_fields"):
        return returned
    return None


def batch_types_of(batch_class: type[tuple[Any, ...]]) -> dict[str, NeuralType]:
    """The neural type of each typed field of a batch NamedTuple (untyped fields are left out)."""
    hints = typing.get_type_hints(batch_class, include_extras=True)
    types: dict[str, NeuralType] = {}
    for name in batch_class._fields:  # type: ignore[attr-defined]
        declared = neural_type_of(hints.get(name))
        if declared is not None:
            types[name] = declared
    return types
