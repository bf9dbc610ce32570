# ruff: noqa  (mypy test data: lines carry their expected reports; NT axes strings are not Python)
# mypy: check-untyped-defs=False, disallow-untyped-defs=False, disallow-incomplete-defs=False, disallow-untyped-calls=False
"""Which axis a softmax normalized, merge order after a split, the axes of a signature as free sizes, returns,
reshapes that change the number of elements, and what untyped __init__s build (parameters, layers or None)."""

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn

from neuraltypes import NT, LabelsType, LogitsType, LogprobsType, reveal_neural_type, typecheck

Scores = NT[Tensor, "B h T T"]
Values = NT[Tensor, "B h T d"]


def attend(scores: Scores, v: Values) -> Values:
    good = scores.softmax(dim=-1) @ v
    over_queries = scores.softmax(dim=-2)
    bad = over_queries @ v  # E: Matrix product sums "B h T T" over axis -1 ("T"), but its values were normalized over axis -2 ("T"): softmax over the axis the product sums over (dim=-1)  [neural-type-operation]
    moved = over_queries.transpose(-2, -1) @ v  # the normalized axis moved last: a weighted sum
    dropped = F.dropout(over_queries, 0.1) @ v  # E: Matrix product sums "B h T T" over axis -1 ("T"), but its values were normalized over axis -2 ("T"): softmax over the axis the product sums over (dim=-1)  [neural-type-operation]
    return good


class Softmaxed(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.over_keys = nn.Softmax(dim=-1)
        self.over_queries = nn.Softmax(dim=-2)

    def forward(self, scores: Scores, v: Values) -> None:
        self.over_keys(scores) @ v
        self.over_queries(scores) @ v  # E: Matrix product sums "B h T T" over axis -1 ("T"), but its values were normalized over axis -2 ("T"): softmax over the axis the product sums over (dim=-1)  [neural-type-operation]


def ctc(logits: NT[Tensor, "T B V"], targets: NT[Tensor, "B S"], lengths: NT[Tensor, "B"], target_lengths: NT[Tensor, "B"]) -> None:
    F.ctc_loss(logits.log_softmax(dim=-1), targets, lengths, target_lengths)
    F.ctc_loss(logits.log_softmax(dim=0), targets, lengths, target_lengths)  # E: ctc_loss reads the classes of "T B V" on axis 2 ("V"), but the log-probabilities were normalized over axis 0 ("T"): log_softmax over the class axis  [neural-type-operation]


def heads(x: NT[Tensor, "B N D"], h: int) -> NT[Tensor, "B N D"]:
    q = rearrange(x, "b n (h d) -> b h n d", h=h)
    good = rearrange(q, "b h n d -> b n (h d)")
    bad = rearrange(q, "b h n d -> b n (d h)")  # E: rearrange merges (d h) from pieces of sizes (D//h, h), but this function split that axis (D) into (h, D//h): the elements are interleaved; merge the pieces in the order they were split  [neural-type-operation]
    return good


def shuffle(x: NT[Tensor, "B N D"]) -> NT[Tensor, "B N D"]:
    return rearrange(x, "b n (g c) -> b n (c g)", g=4)  # one call that splits and merges: a deliberate shuffle


def free_sizes(tokens: NT[Tensor, "B T"], sampled: NT[Tensor, "B 1"], x: NT[Tensor, "B T C"]) -> None:
    torch.cat((tokens, sampled), dim=1)
    torch.cat((tokens, sampled), dim=0)  # E: cat along axis 0 joins "B T" with "B 1": axis 1 "T" faces "1": their sizes differ; only the joined axis may differ  [neural-type-operation]
    x.view(x.size(0), x.size(1), 2, -1)
    x.view(x.size(0), x.size(2) * 3, x.size(2))  # E: view of "B T C" to (B, 3*C, C) does not keep the number of elements: B*T*C elements become 3*B*C*C  [neural-type-operation]


class Head(nn.Module):
    def __init__(self, dim, num_classes):  # untyped, as most __init__s are
        super().__init__()
        self.cls_token = nn.Parameter(torch.randn(1, dim))
        self.head = nn.Linear(dim, num_classes) if num_classes > 0 else None

    def forward(self, x: NT[Tensor, "B seq D"]) -> None:
        reveal_neural_type(self.cls_token)  # N: Neural type is NT[Tensor, "?:1 ?:dim"]
        reveal_neural_type(self.head(x))  # N: Neural type is NT[Tensor, "B seq ?:num_classes"]


class Scaled(nn.Module):
    def __init__(self, dim_head=64) -> None:  # checked, with an unannotated parameter
        super().__init__()
        self.scale = dim_head**-0.5

    def forward(self, x: NT[Tensor, "B T D"]) -> None:
        reveal_neural_type(x * self.scale)  # N: Neural type is NT[Tensor, "B T D"]


class Classifier(nn.Module):
    def __init__(self, dim, classes):
        super().__init__()
        self.head = nn.Linear(dim, classes)

    @typecheck
    def forward(self, x: NT[Tensor, "B seq D"]) -> NT[Tensor, "B classes", LogitsType]:
        return self.head(x.mean(dim=1))

    @typecheck
    def pooled_over_the_batch(self, x: NT[Tensor, "B seq D"]) -> NT[Tensor, "B classes", LogitsType]:
        pooled = x.mean(dim=0)
        return self.head(pooled)  # E: Returns "seq ?:classes" where "B classes" is declared: axis 0 "seq" faces "B": their kinds differ  [neural-type-operation]

    def first_example(self, x: NT[Tensor, "B seq D"]) -> NT[Tensor, "B D"]:
        first = x[0]
        return first  # E: Returns "seq D" where "B D" is declared: axis 0 "seq" faces "B": their kinds differ  [neural-type-operation]

    def grown(self, tokens: NT[Tensor, "B T"], steps: int) -> NT[Tensor, "B T_new"]:
        for _ in range(steps):
            tokens = torch.cat((tokens, tokens[:, -1:]), dim=1)
        return tokens  # T_new is the result's own size: not compared with T

    def grown_in_place(self, tokens: NT[Tensor, "B T"], steps: int) -> NT[Tensor, "B T"]:
        for _ in range(steps):
            tokens = torch.cat((tokens, tokens[:, -1:]), dim=1)  # "B T+1" on its first turn only
        return tokens


class Pooled(nn.Module):
    def __init__(self, mean: bool) -> None:
        super().__init__()
        self.mean = mean

    def forward(self, x: NT[Tensor, "B seq D"]) -> None:
        pooled = x.mean(dim=1) if self.mean else x[:, 0]
        over_the_batch = x.mean(dim=0) if self.mean else x[:, 0]  # E: Conditional expression gives "seq D" in one branch and "B D" in the other: their axes are of other kinds, so what follows depends on the condition; one branch takes the wrong axes  [neural-type-operation]
        layout = x.transpose(1, 2) if self.mean else x.contiguous()  # a layout switch: the same kinds, in another order
