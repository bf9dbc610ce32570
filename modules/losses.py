"""Losses with typed ports: cross-entropy on logits, CTC on log-probabilities."""

import torch
from torch import Tensor
from torch.nn import functional

from neuraltypes import NT, LabelsType, LengthsType, LogitsType, LogprobsType, LossType
from neuraltypes.nn import NeuralModule

__all__ = ["CTCLoss", "CrossEntropyLoss"]


class CrossEntropyLoss(NeuralModule):
    """Mean cross-entropy of class logits against integer labels.

    Args:
        label_smoothing: as in ``torch.nn.functional.cross_entropy``.
    """

    def __init__(self, label_smoothing: float = 0.0) -> None:
        super().__init__()
        self.label_smoothing = label_smoothing

    def forward(
        self, logits: NT[Tensor, "B C", LogitsType, "float"], labels: NT[Tensor, "B", LabelsType, "int"]
    ) -> NT[Tensor, "", LossType, "float"]:
        return functional.cross_entropy(logits, labels, label_smoothing=self.label_smoothing)


class CTCLoss(NeuralModule):
    """CTC loss averaged over the batch (each sequence's loss divided by its target length).

    Args:
        blank: index of the blank class.
    """

    def __init__(self, blank: int) -> None:
        super().__init__()
        self.blank = blank

    def forward(
        self,
        log_probs: NT[Tensor, "B T C", LogprobsType, "float"],
        targets: NT[Tensor, "B T_target", LabelsType, "int"],
        input_lengths: NT[Tensor, "B", LengthsType, "int"],
        target_lengths: NT[Tensor, "B", LengthsType, "int"],
    ) -> NT[Tensor, "", LossType, "float"]:
        return functional.ctc_loss(
            log_probs.transpose(0, 1), targets, input_lengths, target_lengths, blank=self.blank, zero_infinity=True
        ).to(torch.float32)
