# ruff: noqa  (mypy test data: lines carry their expected reports; NT axes strings are not Python)
"""Sizes as symbols, reshapes, contractions, indexing, losses and sampling inside a forward."""

import math

import einops
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from neuraltypes import NT, EncodedRepresentation, LabelsType, LogitsType, reveal_neural_type

Hidden = NT[Tensor, "B T C", EncodedRepresentation]


class Attention(nn.Module):
    def __init__(self, n_embd: int, n_head: int) -> None:
        super().__init__()
        self.c_attn = nn.Linear(n_embd, 3 * n_embd)
        self.n_head = n_head
        self.n_embd = n_embd

    def forward(self, x: Hidden) -> Hidden:
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)  # torch leaves split unannotated; the plugin types it
        reveal_neural_type(q)  # N: Neural type is NT[Tensor, "B T C"]
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        reveal_neural_type(k)  # N: Neural type is NT[Tensor, "B ?:n_head T C//n_head"]
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        reveal_neural_type(att)  # N: Neural type is NT[Tensor, "B ?:n_head T T"]
        att = F.softmax(att, dim=-1)
        y = att @ v
        reveal_neural_type(y)  # N: Neural type is NT[Tensor, "B ?:n_head T C//n_head"]
        merged = y.transpose(1, 2).contiguous().view(B, T, C)
        reveal_neural_type(merged)  # N: Neural type is NT[Tensor, "B T C"]
        return x

    def forgets_to_transpose_the_key(self, x: Hidden) -> None:
        B, T, C = x.size()
        q = x.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        q @ q  # E: Matrix product contracts axis "C//n_head" of "B ?:n_head T C//n_head" with axis "T" of "B ?:n_head T C//n_head": their kinds differ (transpose the second operand: .transpose(-2, -1))  [neural-type-operation]
        F.scaled_dot_product_attention(q, q.transpose(-2, -1), q)  # E: Attention compares axis "C//n_head" of the query "B ?:n_head T C//n_head" with axis "T" of the key "B ?:n_head C//n_head T": their kinds differ  [neural-type-operation]
        reveal_neural_type(F.scaled_dot_product_attention(q, q, q))  # N: Neural type is NT[Tensor, "B ?:n_head T C//n_head"]

    def merges_heads_without_transposing_back(self, x: Hidden) -> None:
        B, T, C = x.size()
        y = x.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        y.view(B, T, C)  # E: view of "B ?:n_head T C//n_head" to (B, T, C) takes its axes out of order: C from '?:n_head' and 'C//n_head', which are not adjacent in that order, so elements move between axes without an error; move the axes next to each other first (e.g. .transpose(1, 2).contiguous())  [neural-type-operation]
        y.transpose(1, 2).reshape(B, T, C)
        y.transpose(1, 2).reshape(B, T, -1)
        x.view(B, self.n_head, T, C // self.n_head)  # E: view of "B T C" to (B, n_head, T, C//n_head) takes its axes out of order: n_head from 'C'; T from 'T'; C//n_head from 'C', which are not adjacent in that order, so elements move between axes without an error; move the axes next to each other first (e.g. .transpose(1, 2).contiguous())  [neural-type-operation]


def sizes_and_reshapes(x: Hidden, n: int) -> None:
    B, T, C = x.shape
    reveal_neural_type(x.view(B * T, C))  # N: Neural type is NT[Tensor, "?:B*T C", EncodedRepresentation]
    reveal_neural_type(x.flatten(0, 1))  # N: Neural type is NT[Tensor, "?:B*T C", EncodedRepresentation]
    reveal_neural_type(x.reshape(-1))  # N: Neural type is NT[Tensor, "?:B*T*C", EncodedRepresentation]
    reveal_neural_type(x.unflatten(2, (2, C // 2)))  # N: Neural type is NT[Tensor, "B T ?:2 C//2", EncodedRepresentation]
    a, b = x.chunk(2, dim=-1)
    reveal_neural_type(a)  # N: Neural type is NT[Tensor, "B T C//2", EncodedRepresentation]
    reveal_neural_type(x.unsqueeze(1))  # N: Neural type is NT[Tensor, "B ?:1 T C", EncodedRepresentation]
    reveal_neural_type(x.unsqueeze(1).squeeze(1))  # N: Neural type is NT[Tensor, "B T C", EncodedRepresentation]
    reveal_neural_type(x.permute(0, 2, 1))  # N: Neural type is NT[Tensor, "B C T", EncodedRepresentation]
    reveal_neural_type(x.repeat(1, 2, 1))  # N: Neural type is NT[Tensor, "B 2*T C", EncodedRepresentation]
    reveal_neural_type(x.view(B, n, C))  # N: Neural type is NT[Tensor, "B ?:n C", EncodedRepresentation]
    reveal_neural_type(x.view(B, T, C).contiguous())  # N: Neural type is NT[Tensor, "B T C", EncodedRepresentation]


def indexing(x: Hidden, i: int) -> None:
    T = x.size(1)
    reveal_neural_type(x[:, -1, :])  # N: Neural type is NT[Tensor, "B C", EncodedRepresentation]
    reveal_neural_type(x[:, [-1], :])  # N: Neural type is NT[Tensor, "B T:1 C", EncodedRepresentation]
    reveal_neural_type(x[:, -1:])  # N: Neural type is NT[Tensor, "B T:1 C", EncodedRepresentation]
    reveal_neural_type(x[:, :T])  # N: Neural type is NT[Tensor, "B T C", EncodedRepresentation]
    reveal_neural_type(x[:, 0])  # N: Neural type is NT[Tensor, "B C", EncodedRepresentation]
    reveal_neural_type(x[..., None])  # N: Neural type is NT[Tensor, "B T C ?:1", EncodedRepresentation]
    reveal_neural_type(x[i])  # N: Neural type is NT[Tensor, "T C", EncodedRepresentation]
    reveal_neural_type(x[x > 0])  # N: Neural type is NT[Tensor, "...", EncodedRepresentation]


def contractions(x: Hidden, w: NT[Tensor, "C vocab"]) -> None:
    reveal_neural_type(x @ w)  # N: Neural type is NT[Tensor, "B T vocab"]
    reveal_neural_type(torch.matmul(x, w))  # N: Neural type is NT[Tensor, "B T vocab"]
    x @ x  # E: Matrix product contracts axis "C" of "B T C" with axis "T" of "B T C": their kinds differ (transpose the second operand: .transpose(-2, -1))  [neural-type-operation]
    reveal_neural_type(torch.einsum("btc,cv->btv", x, w))  # N: Neural type is NT[Tensor, "B T vocab"]
    torch.einsum("btc,tv->bcv", x, w)  # E: einsum "btc,tv->bcv" pairs axis "T" of "B T C" with axis "C" of "C vocab" (both "t"): their kinds differ  [neural-type-operation]


def meaning(logits: NT[Tensor, "B T V", LogitsType], targets: NT[Tensor, "B T", LabelsType], h: Tensor) -> None:
    reveal_neural_type(h.softmax(-1))  # N: Neural type is NT[Tensor, "...", ProbsType]
    reveal_neural_type(torch.sigmoid(h))  # N: Neural type is NT[Tensor, "...", ProbsType]
    reveal_neural_type(F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1)))  # N: Neural type is NT[Tensor, "", LossType]
    F.cross_entropy(logits.transpose(1, 2), targets)
    F.cross_entropy(logits, targets)  # E: cross_entropy takes the classes on axis 1: logits "B T V" with labels "B T" read "T" as the classes; flatten both (logits.view(-1, logits.size(-1)), labels.view(-1)) or move the class axis (logits.transpose(1, 2))  [neural-type-operation]
    probs = F.softmax(logits, dim=-1)
    F.cross_entropy(probs.view(-1, probs.size(-1)), targets.view(-1))  # E: cross_entropy takes logits and applies log_softmax itself; it got probabilities (ProbsType): pass the logits from before the softmax  [neural-type-operation]
    F.nll_loss(logits.view(-1, logits.size(-1)), targets.view(-1))  # E: nll_loss takes log-probabilities (LogprobsType); it got LogitsType: apply log_softmax first  [neural-type-operation]
    F.nll_loss(logits.log_softmax(-1).view(-1, logits.size(-1)), targets.view(-1))
    reveal_neural_type(torch.multinomial(probs[:, -1, :], num_samples=1))  # N: Neural type is NT[Tensor, "B ?:1", LabelsType, "int64"]
    torch.multinomial(logits[:, -1, :], num_samples=1)  # E: multinomial takes probabilities (ProbsType); it got LogitsType: apply softmax first  [neural-type-operation]
    values, indices = torch.topk(logits, 5)
    reveal_neural_type(values)  # N: Neural type is NT[Tensor, "B T V:5", LogitsType]
    reveal_neural_type(indices)  # N: Neural type is NT[Tensor, "B T V:5", LabelsType, "int64"]
