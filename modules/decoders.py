"""Decoders: encoded representations to class logits (one per utterance) or per-frame CTC log-probabilities."""

import torch
from torch import Tensor, nn

from neuraltypes import NT, AcousticEncodedRepresentation, EncodedRepresentation, LengthsType, LogitsType, LogprobsType
from neuraltypes.nn import NeuralModule

__all__ = ["CTCDecoder", "ClassificationDecoder"]


class ClassificationDecoder(NeuralModule):
    """Mean over the valid time steps, then a linear layer: one logit per class for each sequence.

    Accepts any ``EncodedRepresentation`` (acoustic or text encodings alike).

    Args:
        feat_in: encoding size.
        num_classes: output classes (the ``C`` axis).
    """

    def __init__(self, feat_in: int, num_classes: int) -> None:
        super().__init__()
        self.classify = nn.Linear(feat_in, num_classes)

    def forward(
        self,
        encoder_output: NT[Tensor, "B D T", EncodedRepresentation, "float"],
        length: NT[Tensor, "B", LengthsType, "int"],
    ) -> NT[Tensor, "B C", LogitsType, "float"]:
        valid = torch.arange(encoder_output.shape[-1], device=length.device)[None, :] < length[:, None]
        weights = valid.to(encoder_output.dtype) / length.clamp(min=1)[:, None].to(encoder_output.dtype)
        pooled = torch.einsum("bdt,bt->bd", encoder_output, weights)
        logits: Tensor = self.classify(pooled)
        return logits


class CTCDecoder(NeuralModule):
    """A per-frame linear layer and log-softmax over the vocabulary plus the CTC blank (the last class).

    Args:
        feat_in: encoding size.
        num_classes: vocabulary size without the blank.
    """

    def __init__(self, feat_in: int, num_classes: int) -> None:
        super().__init__()
        self.classify = nn.Conv1d(feat_in, num_classes + 1, kernel_size=1)

    @property
    def blank(self) -> int:
        """The index of the CTC blank."""
        return self.classify.out_channels - 1

    def forward(
        self, encoder_output: NT[Tensor, "B D T", AcousticEncodedRepresentation, "float"]
    ) -> NT[Tensor, "B T C", LogprobsType, "float"]:
        return torch.log_softmax(self.classify(encoder_output).transpose(1, 2), dim=-1)
