# ruff: noqa  (mypy test data: lines carry their expected reports; NT axes strings are not Python)
"""A small library without neural types; its rules are in tests/mypy/user_rules (see with-plugin.ini)."""

from torch import Tensor, nn


def pool(x: Tensor, dim: int) -> Tensor:
    return x.mean(dim)


def normalize(x: Tensor) -> Tensor:
    return x / x.sum(-1, keepdim=True)


class Flipper(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        return x.permute(*reversed(range(x.dim())))
