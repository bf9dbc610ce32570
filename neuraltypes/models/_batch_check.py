"""The first batch of every dataloader is checked against the model's input types, once, with a clear error.

Two checks, both by port name: the batch's tensors must match the types its dataset's ``collate_fn``
declares (a collate function that lies is caught), and each declared field that the model's ``forward``
takes must have a neural type that port accepts (SAME, or a subtype: NeMo's rule). Batches whose type
declares nothing are left to ``forward``'s own run-time check.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from neuraltypes.core import NeuralType, NeuralTypeComparisonResult
from neuraltypes.runtime import NeuralTypeError, typecheck

from ._datasets import batch_types_of

__all__ = ["FirstBatchCheck", "check_batch"]

_CHECKER_NAME = "first_batch"
_ACCEPTED = (NeuralTypeComparisonResult.SAME, NeuralTypeComparisonResult.GREATER)


def _value_checker(batch_class: type[tuple[Any, ...]]) -> Callable[[Any], None]:
    """A run-time-checked function taking one argument of the batch's declared NamedTuple type.

    Built afresh for each check (once per dataloader, so about a millisecond per loader), rather than kept
    in a module-level cache.
    """

    def first_batch(batch: Any) -> None:
        return None

    first_batch.__annotations__ = {"batch": batch_class, "return": None}
    first_batch.__qualname__ = _CHECKER_NAME
    checked: Callable[[Any], None] = typecheck(first_batch)
    return checked


def _as_field_message(message: str) -> str:
    """The run-time check's message about the checker's parameter, reworded to name the batch field."""
    prefix = f"{_CHECKER_NAME}() parameter 'batch'."
    return "\n".join(
        f"field {line.removeprefix(prefix)}" if line.startswith(prefix) else line for line in message.splitlines()
    )


def _is_typed_batch(batch: object) -> bool:
    return isinstance(batch, tuple) and hasattr(type(batch), "_fields") and bool(batch_types_of(type(batch)))


def check_batch(batch: object, input_types: Mapping[str, object], owner: str, where: str) -> None:
    """Check one batch against its declared type and against the model's input ports.

    Args:
        batch: the batch as the dataloader produced it.
        input_types: the model's ``forward`` ports, name -> declared type.
        owner: the model's class name, for messages.
        where: which dataloader produced the batch (``validation_ds[noisy]``), for messages.

    Raises:
        NeuralTypeError: naming the dataloader, the batch class, the field and both types.
    """
    if not isinstance(batch, tuple) or not _is_typed_batch(batch):
        return
    batch_class = type(batch)
    try:
        _value_checker(batch_class)(batch)
    except TypeError as error:
        raise NeuralTypeError(
            f"{where}: the first batch does not match the type its collate_fn declares, "
            f"{batch_class.__qualname__}:\n{_as_field_message(str(error))}"
        ) from None
    declared = batch_types_of(batch_class)
    for port, wanted in input_types.items():
        given = declared.get(port)
        if given is None or not isinstance(wanted, NeuralType):
            continue
        result = wanted.compare(given)
        if result not in _ACCEPTED:
            raise NeuralTypeError(
                f"{where}: batch field {port!r} of {batch_class.__qualname__} cannot feed {owner}.forward's "
                f"port {port!r}:\n  port declares:  {wanted}\n  batch declares: {given}\n"
                f"  comparison result: {result.name}"
            )


class FirstBatchCheck:
    """Remembers which (stage, dataloader) pairs have had their first batch checked."""

    def __init__(self) -> None:
        self._checked: set[tuple[str, int]] = set()

    def __call__(
        self, batch: object, input_types: Mapping[str, object], owner: str, stage: str, where: str, index: int
    ) -> None:
        """Check ``batch`` if it is the first one seen from this stage's dataloader ``index``."""
        key = (stage, index)
        if key in self._checked:
            return
        check_batch(batch, input_types, owner, where)
        self._checked.add(key)

    def forget(self, stage: str) -> None:
        """Check the next first batches of ``stage`` again (its dataloaders were replaced)."""
        self._checked = {key for key in self._checked if key[0] != stage}
