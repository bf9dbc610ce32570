# ruff: noqa  (mypy test data: lines carry their expected reports; NT axes strings are not Python)
"""Rules a project writes for its own library (tests/mypy/user_rules) type the library's results."""

from torch import Tensor

from case_user_rules_library import Flipper, normalize, pool
from neuraltypes.core import NT, EncodedRepresentation, ProbsType


def wants_probs(x: NT[Tensor, "B T", ProbsType]) -> None: ...


def uses_library(x: NT[Tensor, "B T D", EncodedRepresentation], flip: Flipper) -> None:
    reveal_type(pool(x, 1))  # N: Revealed type is "torch._tensor.Tensor[Any, neuraltypes.core._elements.EncodedRepresentation]"
    reveal_type(flip(x))  # N: Revealed type is "torch._tensor.Tensor[Any, neuraltypes.core._elements.EncodedRepresentation]"
    wants_probs(normalize(pool(x, 2)))
    wants_probs(pool(x, 2))  # E: Argument "x" to "wants_probs" has incompatible neural type NT[Tensor, "B T", EncodedRepresentation]; expected NT[Tensor, "B T", ProbsType] (elements are EncodedRepresentation, not ProbsType)  [neural-type-argument]
