# ruff: noqa  (mypy test data: lines carry their expected reports; NT axes strings are not Python)
"""Aliases of NT types, defined here and used in another module (case_alias_uses)."""

from typing import TypeAlias

from torch import Tensor

from neuraltypes.core import NT, EncodedRepresentation, LogitsType

Features = NT[Tensor, "B T C", EncodedRepresentation]
Logits: TypeAlias = NT[Tensor, "B T vocab", LogitsType]
Lengths = NT[Tensor, "B", "int64"]
