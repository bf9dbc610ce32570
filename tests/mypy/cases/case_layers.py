# ruff: noqa  (mypy test data: lines carry their expected reports; NT axes strings are not Python)
# mypy: check-untyped-defs=False, disallow-untyped-defs=False, disallow-incomplete-defs=False, disallow-untyped-calls=False
"""Layers read from how __init__ built them, broadcasting, the batch axis, CTC, and map(lambda) over q, k, v."""

import torch
import torch.nn.functional as F
from einops import rearrange
from einops.layers.torch import Rearrange
from torch import Tensor, nn

from neuraltypes import NT, EncodedRepresentation, ImageValue, LogitsType, LogprobsType, reveal_neural_type


class Layers(nn.Module):
    def __init__(self, dim, heads, patch):  # untyped, as most model code is
        super().__init__()
        self.heads = heads
        self.scale = dim**-0.5
        self.to_patches = nn.Sequential(Rearrange("b c (h p1) (w p2) -> b (h w) (p1 p2 c)", p1=patch, p2=patch))
        self.to_tokens = Rearrange("b c h w -> b (h w) c")
        self.glu = nn.GLU(dim=1)
        self.to_qkv = nn.Linear(dim, dim * 3)
        self.sequence_first = nn.MultiheadAttention(dim, heads)
        self.batch_first = nn.MultiheadAttention(dim, heads, batch_first=True)

    def forward(self, img: NT[Tensor, "B C H W", ImageValue], x: NT[Tensor, "B seq D", EncodedRepresentation]) -> None:
        reveal_neural_type(self.to_patches(img))  # N: Neural type is NT[Tensor, "B ?:H*W//patch//patch C:patch*patch*C", ImageValue]
        reveal_neural_type(self.to_tokens(img))  # N: Neural type is NT[Tensor, "B ?:H*W C", ImageValue]
        reveal_neural_type(self.glu(x.transpose(1, 2)))  # N: Neural type is NT[Tensor, "B D//2 seq", EncodedRepresentation]
        reveal_neural_type(x * self.scale)  # N: Neural type is NT[Tensor, "B seq D", EncodedRepresentation]
        self.batch_first(x, x, x)
        self.sequence_first(x, x, x)  # E: MultiheadAttention built without batch_first=True takes (T, B, D), sequence first; it got "B seq D": build it with batch_first=True, or pass query.transpose(0, 1)  [neural-type-operation]
        q, k, v = map(lambda t: rearrange(t, "b n (h d) -> b h n d", h=self.heads), self.to_qkv(x).chunk(3, dim=-1))
        reveal_neural_type(q)  # N: Neural type is NT[Tensor, "B ?:heads seq D//heads"]


def broadcasting(x: NT[Tensor, "B T D", EncodedRepresentation], mask: NT[Tensor, "B T"], scores: NT[Tensor, "B V", LogitsType]) -> None:
    reveal_neural_type(x * mask.unsqueeze(-1))  # N: Neural type is NT[Tensor, "B T D", EncodedRepresentation]
    reveal_neural_type(x * 2)  # N: Neural type is NT[Tensor, "B T D", EncodedRepresentation]
    x * mask  # E: Broadcasting "B T D" with "B T" lines up axis "D" with axis "T": their kinds differ (add the missing axis with [..., None] or .unsqueeze(), or move the axes first)  [neural-type-operation]
    values, _ = torch.topk(scores, 3)
    reveal_neural_type(scores < values[:, [-1]])  # N: Neural type is NT[Tensor, "B V", "bool"]
    scores < values[:, -1]  # E: Broadcasting "B V" with "B" lines up axis "V" with axis "B": their kinds differ (add the missing axis with [..., None] or .unsqueeze(), or move the axes first)  [neural-type-operation]


def over_the_batch(scores: NT[Tensor, "B V", LogitsType]) -> None:
    scores.softmax(dim=-1)
    scores.softmax(dim=0)  # E: softmax over axis 0 ("B") of "B V" runs across the examples of a batch; name the axis of the classes (dim=-1)  [neural-type-operation]
    scores.argmax(dim=0)  # E: argmax over axis 0 ("B") of "B V" runs across the examples of a batch; name the axis of the classes (dim=-1)  [neural-type-operation]


def ctc(log_probs: NT[Tensor, "B T V", LogprobsType], targets: Tensor, lengths: Tensor) -> None:
    F.ctc_loss(log_probs.transpose(0, 1), targets, lengths, lengths)
    F.ctc_loss(log_probs, targets, lengths, lengths)  # E: ctc_loss takes log-probabilities (T, N, C), time first; it got "B T V": pass log_probs.transpose(0, 1)  [neural-type-operation]
    F.ctc_loss(log_probs.exp().transpose(0, 1), targets, lengths, lengths)


class LearnsItsSizes(nn.Module):
    def __init__(self, n_embd, n_head):
        super().__init__()
        self.c_attn = nn.Linear(n_embd, 3 * n_embd)
        self.n_embd = n_embd
        self.n_head = n_head

    def forward(self, x: NT[Tensor, "B T C", EncodedRepresentation]) -> None:
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)  # Linear(n_embd, ...) met "C": here n_embd is C
        reveal_neural_type(q)  # N: Neural type is NT[Tensor, "B T C"]
        k.view(B, T, self.n_head, C // self.n_head)
        k.reshape(B, self.n_head, T, C // self.n_head)  # E: view of "B T C" to (B, n_head, T, C//n_head) takes its axes out of order: n_head from 'C'; T from 'T'; C//n_head from 'C', which are not adjacent in that order, so elements move between axes without an error; move the axes next to each other first (e.g. .transpose(1, 2).contiguous())  [neural-type-operation]
