"""A Conformer speech encoder with a CTC head, written for the static-reach benchmark.

Mel features ``(B, D, T)`` and their lengths go through a 2-D convolutional subsampling (time and frequency
divided by 4, lengths updated to match), then Conformer blocks: a half-step feed-forward module, multi-head
self-attention with a padding mask, a convolution module (pointwise conv, GLU, depthwise conv, batch norm)
and a second half-step feed-forward module. A linear head gives log-probabilities over the vocabulary and
the blank, trained with CTC. The module code is as such code is usually written (untyped ``__init__``s);
the neural types sit on the ports.
"""

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from neuraltypes import (
    NT,
    AcousticEncodedRepresentation,
    LabelsType,
    LengthsType,
    LogprobsType,
    LossType,
    MaskType,
    MelSpectrogramType,
    typecheck,
)

Features = NT[Tensor, "B D_mel T", MelSpectrogramType, "float"]
Lengths = NT[Tensor, "B", LengthsType, "int64"]
Hidden = NT[Tensor, "B T D", AcousticEncodedRepresentation, "float"]
PadMask = NT[Tensor, "B T", MaskType, "bool"]


@typecheck
def make_pad_mask(lengths: Lengths, max_len: int) -> PadMask:
    """True at the padded steps of each sequence."""
    steps = torch.arange(max_len, device=lengths.device)
    return steps[None, :] >= lengths[:, None]


class ConvSubsampling(nn.Module):
    """Two 3x3 convolutions with stride 2 over (time, frequency), then a projection to the model width."""

    def __init__(self, feat_in, d_model, channels=32):
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(1, channels, kernel_size=3, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv2d(channels, channels, kernel_size=3, stride=2, padding=1),
            nn.ReLU(),
        )
        freq = feat_in
        for _ in range(2):
            freq = (freq - 1) // 2 + 1
        self.out = nn.Linear(channels * freq, d_model)

    @typecheck
    def forward(
        self, x: Features, lengths: Lengths
    ) -> tuple[NT[Tensor, "B T_sub D", AcousticEncodedRepresentation], Lengths]:
        x = x.transpose(1, 2).unsqueeze(1)  # (B, 1, T, D_mel)
        x = self.conv(x)  # (B, C, T / 4, D_mel / 4)
        b, c, t, f = x.size()
        x = self.out(x.transpose(1, 2).reshape(b, t, c * f))
        for _ in range(2):
            lengths = (lengths - 1) // 2 + 1
        return x, lengths


class FeedForwardModule(nn.Module):
    def __init__(self, d_model, expansion_factor=4, dropout=0.0):
        super().__init__()
        self.net = nn.Sequential(
            nn.LayerNorm(d_model),
            nn.Linear(d_model, d_model * expansion_factor),
            nn.SiLU(),
            nn.Dropout(dropout),
            nn.Linear(d_model * expansion_factor, d_model),
            nn.Dropout(dropout),
        )

    @typecheck
    def forward(self, x: Hidden) -> Hidden:
        return self.net(x)


class MultiHeadSelfAttentionModule(nn.Module):
    def __init__(self, d_model, num_heads, dropout=0.0):
        super().__init__()
        self.layer_norm = nn.LayerNorm(d_model)
        self.attention = nn.MultiheadAttention(d_model, num_heads, dropout=dropout, batch_first=True)
        self.dropout = nn.Dropout(dropout)

    @typecheck
    def forward(self, x: Hidden, pad_mask: PadMask) -> Hidden:
        x = self.layer_norm(x)
        x, _ = self.attention(x, x, x, key_padding_mask=pad_mask, need_weights=False)
        return self.dropout(x)


class ConvolutionModule(nn.Module):
    def __init__(self, d_model, kernel_size=15, dropout=0.0):
        super().__init__()
        self.layer_norm = nn.LayerNorm(d_model)
        self.pointwise_conv1 = nn.Conv1d(d_model, 2 * d_model, kernel_size=1)
        self.glu = nn.GLU(dim=1)
        self.depthwise_conv = nn.Conv1d(d_model, d_model, kernel_size, padding=(kernel_size - 1) // 2, groups=d_model)
        self.batch_norm = nn.BatchNorm1d(d_model)
        self.activation = nn.SiLU()
        self.pointwise_conv2 = nn.Conv1d(d_model, d_model, kernel_size=1)
        self.dropout = nn.Dropout(dropout)

    @typecheck
    def forward(self, x: Hidden, pad_mask: PadMask) -> Hidden:
        x = self.layer_norm(x)
        x = x.transpose(1, 2)  # (B, D, T): channels first for the convolutions
        x = self.pointwise_conv1(x)
        x = self.glu(x)
        x = x.masked_fill(pad_mask.unsqueeze(1), 0.0)
        x = self.depthwise_conv(x)
        x = self.batch_norm(x)
        x = self.activation(x)
        x = self.pointwise_conv2(x)
        x = self.dropout(x)
        return x.transpose(1, 2)


class ConformerBlock(nn.Module):
    def __init__(self, d_model, num_heads, kernel_size, dropout=0.0):
        super().__init__()
        self.ff1 = FeedForwardModule(d_model, dropout=dropout)
        self.self_attn = MultiHeadSelfAttentionModule(d_model, num_heads, dropout)
        self.conv = ConvolutionModule(d_model, kernel_size, dropout)
        self.ff2 = FeedForwardModule(d_model, dropout=dropout)
        self.final_norm = nn.LayerNorm(d_model)

    @typecheck
    def forward(self, x: Hidden, pad_mask: PadMask) -> Hidden:
        x = x + 0.5 * self.ff1(x)
        x = x + self.self_attn(x, pad_mask)
        x = x + self.conv(x, pad_mask)
        x = x + 0.5 * self.ff2(x)
        return self.final_norm(x)


class ConformerCTC(nn.Module):
    def __init__(self, feat_in, vocab_size, d_model=64, num_heads=4, num_layers=2, kernel_size=15, dropout=0.0):
        super().__init__()
        self.subsampling = ConvSubsampling(feat_in, d_model)
        self.layers = nn.ModuleList(
            [ConformerBlock(d_model, num_heads, kernel_size, dropout) for _ in range(num_layers)]
        )
        self.decoder = nn.Linear(d_model, vocab_size + 1)  # the last class is the CTC blank
        self.blank = vocab_size

    @typecheck
    def forward(
        self, features: Features, lengths: Lengths
    ) -> tuple[NT[Tensor, "B T_enc vocab", LogprobsType, "float"], Lengths]:
        x, lengths = self.subsampling(features, lengths)
        pad_mask = make_pad_mask(lengths, x.size(1))
        for layer in self.layers:
            x = layer(x, pad_mask)
        log_probs = self.decoder(x).log_softmax(dim=-1)
        return log_probs, lengths

    @typecheck
    def loss(
        self,
        features: Features,
        lengths: Lengths,
        targets: NT[Tensor, "B U", LabelsType, "int64"],
        target_lengths: Lengths,
    ) -> NT[Tensor, "", LossType, "float"]:
        log_probs, encoded_lengths = self(features, lengths)
        # ctc_loss wants (T, B, C)
        return F.ctc_loss(
            log_probs.transpose(0, 1), targets, encoded_lengths, target_lengths, blank=self.blank, zero_infinity=True
        )


def run() -> object:
    """A tiny Conformer-CTC on a batch of random mel features of two lengths: log-probabilities and loss."""
    torch.manual_seed(0)
    model = ConformerCTC(feat_in=20, vocab_size=10, d_model=32, num_heads=4, num_layers=2, kernel_size=7)
    features = torch.randn(3, 20, 50)
    lengths = torch.tensor([50, 41, 33])
    targets = torch.randint(0, 10, (3, 5))
    target_lengths = torch.tensor([5, 4, 3])
    log_probs, encoded_lengths = model(features, lengths)
    loss = model.loss(features, lengths, targets, target_lengths)
    return log_probs, encoded_lengths, loss
