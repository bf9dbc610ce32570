# ruff: noqa  (mypy test data: lines carry their expected reports; NT axes strings are not Python)
"""Neural types flow through common operations, by the rules under stubs/neuraltypes_rules/."""

import einops
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from neuraltypes.core import NT, EncodedRepresentation, LabelsType, LogitsType, ProbsType

Logits = NT[Tensor, "B T vocab", LogitsType]


def wants_probs(p: NT[Tensor, "B T vocab", ProbsType]) -> None: ...
def wants_logits(x: Logits) -> None: ...
def wants_btd(x: NT[Tensor, "B T D", EncodedRepresentation]) -> None: ...


def element_wise_keeps_the_type(x: Logits, y: Tensor) -> None:
    reveal_type(x.relu())  # N: Revealed type is "torch._tensor.Tensor[Literal['B T vocab'], neuraltypes.core._elements.LogitsType]"
    reveal_type(torch.tanh(x))  # N: Revealed type is "torch._tensor.Tensor[Literal['B T vocab'], neuraltypes.core._elements.LogitsType]"
    reveal_type(F.gelu(x))  # N: Revealed type is "torch._tensor.Tensor[Literal['B T vocab'], neuraltypes.core._elements.LogitsType]"
    reveal_type(x * 2 + y)  # N: Revealed type is "torch._tensor.Tensor[Literal['B T vocab'], neuraltypes.core._elements.LogitsType]"
    reveal_type(y.relu())  # N: Revealed type is "torch._tensor.Tensor[Any, Any]"
    wants_logits(x.contiguous().detach())


def softmax_gives_probabilities(x: Logits) -> None:
    wants_probs(x.softmax(-1))
    wants_probs(torch.softmax(x, dim=-1))
    wants_probs(F.softmax(x, dim=-1))
    wants_probs(x)  # E: Argument "p" to "wants_probs" has incompatible neural type NT[Tensor, "B T vocab", LogitsType]; expected NT[Tensor, "B T vocab", ProbsType] (elements are LogitsType, not ProbsType)  [neural-type-argument]
    wants_probs(x.log_softmax(-1))  # E: Argument "p" to "wants_probs" has incompatible neural type NT[Tensor, "B T vocab", LogprobsType]; expected NT[Tensor, "B T vocab", ProbsType] (elements are LogprobsType, not ProbsType)  [neural-type-argument]


def axes_move(x: NT[Tensor, "B D T", EncodedRepresentation]) -> None:
    wants_btd(x.transpose(1, 2))
    wants_btd(x.transpose(-1, -2))
    wants_btd(torch.transpose(x, 1, 2))
    wants_btd(x.permute(0, 2, 1))
    wants_btd(x.mT)
    wants_btd(einops.rearrange(x, "b d t -> b t d"))
    wants_btd(x)  # E: Argument "x" to "wants_btd" has incompatible neural type NT[Tensor, "B D T", EncodedRepresentation]; expected NT[Tensor, "B T D", EncodedRepresentation] (axes transposed)  [neural-type-argument]
    wants_btd(x.T)  # E: Argument "x" to "wants_btd" has incompatible neural type NT[Tensor, "T D B", EncodedRepresentation]; expected NT[Tensor, "B T D", EncodedRepresentation] (axes transposed)  [neural-type-argument]
    wants_btd(x.transpose(0, 1))  # E: Argument "x" to "wants_btd" has incompatible neural type NT[Tensor, "D B T", EncodedRepresentation]; expected NT[Tensor, "B T D", EncodedRepresentation] (axes transposed)  [neural-type-argument]


def not_literal_dims_give_unknown(x: NT[Tensor, "B D T"], d: int) -> None:
    reveal_type(x.transpose(d, 2))  # N: Revealed type is "torch._tensor.Tensor[Any, Any]"


def reductions_drop_axes(x: Logits) -> None:
    reveal_type(x.argmax(-1))  # N: Revealed type is "torch._tensor.Tensor[Any, neuraltypes.core._elements.LabelsType]"
    reveal_type(x.argmax(dim=-1, keepdim=True))  # N: Revealed type is "torch._tensor.Tensor[Any, neuraltypes.core._elements.LabelsType]"
    reveal_type(x.sum(1))  # N: Revealed type is "torch._tensor.Tensor[Any, neuraltypes.core._elements.LogitsType]"
    reveal_type(x.mean(dim=(1, 2)))  # N: Revealed type is "torch._tensor.Tensor[Any, neuraltypes.core._elements.LogitsType]"
    reveal_type(x.mean())  # N: Revealed type is "torch._tensor.Tensor[Any, neuraltypes.core._elements.LogitsType]"
    reveal_type(x.argmax())  # N: Revealed type is "torch._tensor.Tensor[Any, neuraltypes.core._elements.LabelsType]"
    reveal_type(x.permute((2, 0, 1)))  # N: Revealed type is "torch._tensor.Tensor[Any, neuraltypes.core._elements.LogitsType]"


def labels_of(x: NT[Tensor, "B T", LabelsType]) -> None: ...


def argmax_gives_labels(x: Logits, p: NT[Tensor, "B T vocab", ProbsType]) -> None:
    labels_of(x.argmax(-1))
    labels_of(torch.argmax(p, dim=-1))
    labels_of(x.argmax(1))  # E: Argument "x" to "labels_of" has incompatible neural type NT[Tensor, "B vocab", LabelsType, "int64"]; expected NT[Tensor, "B T", LabelsType] (axes differ)  [neural-type-argument]


class Head(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Linear(80, 32)
        self.conv = nn.Conv1d(80, 32, 3)
        self.embed = nn.Embedding(100, 32)
        self.norm = nn.LayerNorm(80)
        self.drop = nn.Dropout(0.1)

    def forward(self, x: NT[Tensor, "B T D:80", EncodedRepresentation], ids: NT[Tensor, "B T", LabelsType]) -> None:
        reveal_type(self.norm(self.drop(x)))  # N: Revealed type is "torch._tensor.Tensor[Literal['B T D'], neuraltypes.core._elements.EncodedRepresentation]"
        reveal_type(self.proj(x))  # N: Revealed type is "torch._tensor.Tensor[Any, Any]"
        needs_80(self.proj(x))  # the new last axis is unknown ("?"): accepted as any axis
        needs_80(self.proj(x).sum(-1))  # E: Argument "x" to "needs_80" has incompatible neural type NT[Tensor, "B T"]; expected NT[Tensor, "B T D:80"] (axes differ)  [neural-type-argument]
        reveal_type(self.conv(x.transpose(1, 2)))  # N: Revealed type is "torch._tensor.Tensor[Any, Any]"
        needs_80(self.conv(x.transpose(1, 2)))  # E: Argument "x" to "needs_80" has incompatible neural type NT[Tensor, "B D:32 T-2"]; expected NT[Tensor, "B T D:80"] (axis sizes differ)  [neural-type-argument]
        needs_80(self.embed(ids))
        needs_80(self.norm(x))


def needs_80(x: NT[Tensor, "B T D:80"]) -> None: ...
def needs_btd_sized(x: NT[Tensor, "B T D"]) -> None: ...


def joined(a: NT[Tensor, "B T D"], b: NT[Tensor, "B T D"], c: NT[Tensor, "B D T"]) -> None:
    reveal_type(torch.cat([a, b], dim=1))  # N: Revealed type is "torch._tensor.Tensor[Any, Any]"
    reveal_type(torch.cat((a, c), dim=1))  # E: cat along axis 1 joins "B T D" with "B D T": axis 2 "D" faces "T": their kinds differ; only the joined axis may differ  [neural-type-operation]  # N: Revealed type is "torch._tensor.Tensor[Any, Any]"
    reveal_type(torch.stack([a, b]))  # N: Revealed type is "torch._tensor.Tensor[Any, Any]"
    needs_btd_sized(torch.stack([a, b], dim=1))  # E: Argument "x" to "needs_btd_sized" has incompatible neural type NT[Tensor, "B ? T D"]; expected NT[Tensor, "B T D"] (axes differ)  [neural-type-argument]


def einops_patterns(x: NT[Tensor, "B T D", EncodedRepresentation]) -> None:
    reveal_type(einops.rearrange(x, "b t (h d) -> b h t d", h=4))  # N: Revealed type is "torch._tensor.Tensor[Any, neuraltypes.core._elements.EncodedRepresentation]"
    reveal_type(einops.rearrange(x, "b ... d -> d ... b"))  # N: Revealed type is "torch._tensor.Tensor[Any, neuraltypes.core._elements.EncodedRepresentation]"
