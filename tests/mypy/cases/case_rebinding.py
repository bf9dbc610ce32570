# ruff: noqa  (mypy test data: lines carry their expected reports; NT axes strings are not Python)
"""Rebinding a variable to another neural type, unions of tensors, and stale types: what model code does."""

from typing import Any

import torch
from einops import rearrange, reduce, repeat
from torch import Tensor, nn

from neuraltypes import NT, EncodedRepresentation, ImageValue, LogitsType, reveal_neural_type

Images = NT[Tensor, "B C H W", ImageValue]
Logits = NT[Tensor, "B classes", LogitsType]


def untyped(x: Any) -> Any: ...


class Classifier(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.fc = nn.Linear(8, 10)

    def forward(self, x: Images) -> Logits:
        x = self.conv(x)  # a parameter rebound to another neural type, as torchvision's models do
        x = torch.flatten(x.mean(dim=(2, 3)), 1)
        x = self.fc(x)
        return x

    def stale(self, x: Images) -> None:
        x = untyped(x)  # rebound to Any (without rebinding, mypy would keep the stale declared type)
        reveal_neural_type(x)  # N: Neural type is unknown: mypy sees Any

    def returns_probabilities(self, x: Images) -> Logits:
        logits = self.fc(torch.flatten(self.conv(x).mean(dim=(2, 3)), 1))
        return logits.softmax(-1)  # E: Incompatible return value type (got "Tensor[Any, ProbsType]", expected "Tensor[Literal['B classes'], LogitsType]")  [return-value]


def generate(logits: NT[Tensor, "B T vocab", LogitsType], temperature: float) -> None:
    logits = logits[:, -1, :] / temperature
    reveal_neural_type(logits)  # N: Neural type is NT[Tensor, "B vocab", LogitsType]


def joined(x: NT[Tensor, "B T D", EncodedRepresentation], y: Tensor, pool: bool) -> None:
    reveal_neural_type(x if pool else y)  # N: Neural type is NT[Tensor, "B T D", EncodedRepresentation]
    reveal_neural_type(x.mean(dim=1) if pool else x[:, 0])  # N: Neural type is NT[Tensor, "B D", EncodedRepresentation]


def einops_with_sizes(x: NT[Tensor, "B seq D", EncodedRepresentation], heads: int) -> None:
    b, n, _ = x.shape
    q = rearrange(x, "b n (h d) -> b h n d", h=heads)
    reveal_neural_type(q)  # N: Neural type is NT[Tensor, "B ?:heads seq D//heads", EncodedRepresentation]
    dots = torch.matmul(q, q.transpose(-1, -2))
    reveal_neural_type(dots)  # N: Neural type is NT[Tensor, "B ?:heads seq seq"]
    torch.matmul(q, q)  # E: Matrix product contracts axis "D//heads" of "B ?:heads seq D//heads" with axis "seq" of "B ?:heads seq D//heads": their kinds differ (transpose the second operand: .transpose(-2, -1))  [neural-type-operation]
    out = rearrange(dots.softmax(dim=-1) @ q, "b h n d -> b n (h d)")
    reveal_neural_type(out)  # N: Neural type is NT[Tensor, "B seq D"]
    cls = repeat(x[:, :1], "1 1 d -> b 1 d", b=b)
    reveal_neural_type(cls)  # N: Neural type is NT[Tensor, "B ?:1 D", EncodedRepresentation]
    pooled = reduce(x, "b n d -> b d", "mean")
    reveal_neural_type(pooled)  # N: Neural type is NT[Tensor, "B D", EncodedRepresentation]


class SelfAttention(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.mha = nn.MultiheadAttention(64, 4, batch_first=True)

    def forward(self, x: NT[Tensor, "B T D", EncodedRepresentation]) -> None:
        out, _ = self.mha(x, x, x)
        reveal_neural_type(out)  # N: Neural type is NT[Tensor, "B T D", EncodedRepresentation]
        self.mha(x, x, x.transpose(0, 1))  # E: MultiheadAttention pairs axis "B" of the key "B T D" with axis "T" of the value "T B D": their kinds differ  [neural-type-operation]
