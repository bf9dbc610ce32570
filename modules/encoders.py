"""Acoustic encoders: spectrogram features to encoded representations, time resolution kept."""

from typing import NamedTuple

import torch
from torch import Tensor, nn

from neuraltypes import NT, AcousticEncodedRepresentation, LengthsType, SpectrogramType
from neuraltypes.nn import NeuralModule

__all__ = ["AcousticEncoder", "ConvEncoder", "EncoderOutput", "TransformerEncoder", "padding_mask"]

Features = NT[Tensor, "B D T", SpectrogramType, "float"]
Lengths = NT[Tensor, "B", LengthsType, "int"]


class EncoderOutput(NamedTuple):
    """Encodings, one vector per input frame, and their lengths."""

    encoded: NT[Tensor, "B D_enc T", AcousticEncodedRepresentation, "float"]
    encoded_length: NT[Tensor, "B", LengthsType, "int"]


def padding_mask(length: Tensor, steps: int) -> Tensor:
    """``(B, steps)`` boolean mask, True where a step is past its sequence's length."""
    return torch.arange(steps, device=length.device)[None, :] >= length[:, None]


class AcousticEncoder(NeuralModule):
    """What every acoustic encoder takes and gives: features and lengths in, encodings and lengths out."""

    def forward(self, audio_signal: Features, length: Lengths) -> EncoderOutput:
        raise NotImplementedError(f"{type(self).__qualname__} must implement forward")


class ConvEncoder(AcousticEncoder):
    """A stack of residual 1-D convolutions over time (same padding), with padded steps zeroed.

    Args:
        feat_in: input feature size (mel bands).
        hidden: channels of every layer (the ``D_enc`` axis).
        num_layers: convolution blocks after the input projection.
        kernel_size: odd kernel width, in frames.
        dropout: after each block.
    """

    def __init__(self, feat_in: int, hidden: int = 64, num_layers: int = 3, kernel_size: int = 5, dropout: float = 0.0):
        super().__init__()
        if kernel_size % 2 != 1:
            raise ValueError(f"kernel_size must be odd to keep the time axis, got {kernel_size}")
        self.project = nn.Conv1d(feat_in, hidden, kernel_size=1)
        self.blocks = nn.ModuleList(
            nn.Sequential(
                nn.Conv1d(hidden, hidden, kernel_size, padding=kernel_size // 2, groups=hidden),
                nn.Conv1d(hidden, hidden, kernel_size=1),
                nn.BatchNorm1d(hidden),
                nn.ReLU(),
                nn.Dropout(dropout),
            )
            for _ in range(num_layers)
        )

    def forward(self, audio_signal: Features, length: Lengths) -> EncoderOutput:
        keep = (~padding_mask(length, audio_signal.shape[-1]))[:, None, :].to(audio_signal.dtype)
        hidden = self.project(audio_signal) * keep
        for block in self.blocks:
            hidden = (hidden + block(hidden)) * keep
        return EncoderOutput(hidden, length)


class TransformerEncoder(AcousticEncoder):
    """A linear projection then pre-norm Transformer layers, padded steps masked out of attention.

    Args:
        feat_in: input feature size (mel bands).
        hidden: model width (the ``D_enc`` axis); must be divisible by ``num_heads``.
        num_layers: Transformer layers.
        num_heads: attention heads.
        dropout: inside the layers.
    """

    def __init__(self, feat_in: int, hidden: int = 64, num_layers: int = 2, num_heads: int = 4, dropout: float = 0.0):
        super().__init__()
        self.project = nn.Linear(feat_in, hidden)
        layer = nn.TransformerEncoderLayer(
            hidden, num_heads, dim_feedforward=2 * hidden, dropout=dropout, batch_first=True, norm_first=True
        )
        self.layers = nn.TransformerEncoder(layer, num_layers, enable_nested_tensor=False)

    def forward(self, audio_signal: Features, length: Lengths) -> EncoderOutput:
        padded = padding_mask(length, audio_signal.shape[-1])
        hidden = self.layers(self.project(audio_signal.transpose(1, 2)), src_key_padding_mask=padded)
        hidden = hidden.masked_fill(padded[:, :, None], 0.0)
        return EncoderOutput(hidden.transpose(1, 2), length)
