"""The result of comparing two neural types (NeMo's enum, same members and values)."""

from __future__ import annotations

import enum

__all__ = ["NeuralTypeComparisonResult"]


class NeuralTypeComparisonResult(enum.Enum):
    """``declared.compare(incoming)``: how the incoming type relates to the declared one."""

    SAME = 0
    LESS = 1  # the declared type is a subtype of the incoming one
    GREATER = 2  # the incoming type is a subtype of the declared one
    DIM_INCOMPATIBLE = 3  # same axis kinds, different sizes
    TRANSPOSE_SAME = 4  # same axis kinds in another order
    CONTAINER_SIZE_MISMATCH = 5
    INCOMPATIBLE = 6
    SAME_TYPE_INCOMPATIBLE_PARAMS = 7
    UNCHECKED = 8

    @property
    def accepted(self) -> bool:
        """Whether a value of the incoming type may be passed where the declared type is expected."""
        return self in (NeuralTypeComparisonResult.SAME, NeuralTypeComparisonResult.GREATER)
