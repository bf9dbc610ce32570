"""Valid ``NT[...]`` code in every form the README and docs/axes.md show: pyright and basedpyright must report
nothing here (tests/test_pyright.py), seeing each ``NT[Tensor, ...]`` as a plain ``Tensor``.

Not run, not collected by pytest: a file for the type checkers only.
"""

from __future__ import annotations

from typing import NamedTuple, assert_type

import torch
from torch import Tensor, nn

from neuraltypes import (
    NT,
    AcousticEncodedRepresentation,
    ImageValue,
    LabelsType,
    LengthsType,
    LogitsType,
    LossType,
    MelSpectrogramType,
    ProbsType,
    typecheck,
)
from neuraltypes.nn import NeuralModule

AcousticFeatures = NT[Tensor, "B T D", AcousticEncodedRepresentation]  # an alias, used below
Images = NT[Tensor, "*batch C H W", ImageValue]


class Batch(NamedTuple):
    audio: NT[Tensor, "B T_audio", "float32"]
    lengths: NT[Tensor, "B", LengthsType, "int64"]
    labels: NT[Tensor, "B", LabelsType, torch.int64]


class Encoder(nn.Module):
    def forward(
        self, mel: NT[Tensor, "B T D:80", MelSpectrogramType], lengths: NT[Tensor, "B", LengthsType, "int64"]
    ) -> AcousticFeatures:
        return mel[:, : int(lengths.max())]


class Head(NeuralModule):
    def __init__(self, dim: int, vocab: int) -> None:
        super().__init__()
        self.proj = nn.Linear(dim, vocab)

    def forward(self, x: AcousticFeatures) -> NT[Tensor, "B T vocab", LogitsType]:
        return self.proj(x)


@typecheck
def attend(q: NT[Tensor, "B T D", "float"], k: NT[Tensor, "B S D", "float"]) -> NT[Tensor, "B T S", ProbsType]:
    return torch.softmax(q @ k.transpose(1, 2), dim=-1)


def shapes(
    shifted: NT[Tensor, "B T-1 vocab", LogitsType],
    fixed: NT[Tensor, "B 3 _ ...", "float"],
    broadcast: NT[Tensor, "#B T", "float"],
    scalar: NT[Tensor, "", LossType],
    arithmetic: NT[Tensor, "(H+1)//2 2*D", "float"],
    optional: NT[Tensor, "B", LengthsType] | None = None,
    many: list[NT[Tensor, "B D", "float"]] | None = None,
) -> tuple[NT[Tensor, "B", "float"], Images | None]:
    assert_type(shifted, Tensor)
    assert_type(optional, Tensor | None)
    total = shifted.sum() + fixed.mean() + broadcast.mean() + scalar + arithmetic.sum()
    for item in many or []:
        total = total + item.sum()
    return total.reshape(1), None


def wire(batch: Batch, encoder: Encoder, head: Head, mel: NT[Tensor, "B T D:80", MelSpectrogramType]) -> Tensor:
    features = encoder(mel, batch.lengths)
    logits = head(features)
    probs = attend(features, features)
    return logits.softmax(-1).sum() + probs.sum()
