# ruff: noqa  (mypy test data: lines carry their expected reports; NT axes strings are not Python)
"""A realistic typed speech model: no false positives on the correct code, every planted mistake reported."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from neuraltypes.core import (
    NT,
    AcousticEncodedRepresentation,
    LabelsType,
    LengthsType,
    LogitsType,
    LogprobsType,
    LossType,
    MelSpectrogramType,
)

Mel = NT[Tensor, "B D T", MelSpectrogramType]
Lengths = NT[Tensor, "B", LengthsType]
Encoded = NT[Tensor, "B D T", AcousticEncodedRepresentation]
Logits = NT[Tensor, "B T vocab", LogitsType]
LogProbs = NT[Tensor, "B T vocab", LogprobsType]
Tokens = NT[Tensor, "B T_out", LabelsType]


class ConvEncoder(nn.Module):
    def __init__(self, n_mels: int, hidden: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(n_mels, hidden, kernel_size=3, padding=1)
        self.norm = nn.LayerNorm(hidden)
        self.dropout = nn.Dropout(0.1)

    def forward(self, mel: Mel, lengths: Lengths) -> tuple[Encoded, Lengths]:
        x = F.relu(self.conv(mel))
        x = self.norm(x.transpose(1, 2)).transpose(1, 2)
        return self.dropout(x), lengths


class CTCDecoder(nn.Module):
    def __init__(self, hidden: int, vocab: int) -> None:
        super().__init__()
        self.proj = nn.Linear(hidden, vocab)

    def forward(self, encoded: Encoded) -> Logits:
        return self.proj(encoded.transpose(1, 2))


class CTCLoss(nn.Module):
    def forward(self, log_probs: LogProbs, targets: Tokens, input_lengths: Lengths, target_lengths: Lengths) -> NT[Tensor, "", LossType]:
        return F.ctc_loss(log_probs.transpose(0, 1), targets, input_lengths, target_lengths)


class SpeechModel(nn.Module):
    def __init__(self, n_mels: int = 80, hidden: int = 64, vocab: int = 32) -> None:
        super().__init__()
        self.encoder = ConvEncoder(n_mels, hidden)
        self.decoder = CTCDecoder(hidden, vocab)
        self.loss = CTCLoss()

    def forward(self, mel: Mel, lengths: Lengths) -> tuple[LogProbs, Lengths]:
        encoded, encoded_lengths = self.encoder(mel, lengths)
        logits = self.decoder(encoded)
        return logits.log_softmax(-1), encoded_lengths

    def training_step(self, mel: Mel, lengths: Lengths, tokens: Tokens, token_lengths: Lengths) -> Tensor:
        log_probs, out_lengths = self(mel, lengths)
        return self.loss(log_probs, tokens, out_lengths, token_lengths)

    def greedy(self, mel: Mel, lengths: Lengths) -> NT[Tensor, "B T", LabelsType]:
        log_probs, _ = self(mel, lengths)
        return log_probs.argmax(-1)

    def planted_mistakes(self, mel: Mel, lengths: Lengths, tokens: Tokens, token_lengths: Lengths) -> None:
        encoded, encoded_lengths = self.encoder(mel, lengths)
        self.decoder(encoded.transpose(1, 2))  # E: Argument "encoded" to "forward" of "CTCDecoder" has incompatible neural type NT[Tensor, "B T D", AcousticEncodedRepresentation]; expected NT[Tensor, "B D T", AcousticEncodedRepresentation] (axes transposed)  [neural-type-argument]
        logits = self.decoder(encoded)
        self.loss(logits, tokens, encoded_lengths, token_lengths)  # E: Argument "log_probs" to "forward" of "CTCLoss" has incompatible neural type NT[Tensor, "B T vocab", LogitsType]; expected NT[Tensor, "B T vocab", LogprobsType] (elements are LogitsType, not LogprobsType)  [neural-type-argument]
        self.loss(logits.log_softmax(-1), tokens, token_lengths, encoded_lengths)
        self.loss(logits.log_softmax(-1), encoded_lengths, encoded_lengths, token_lengths)  # E: Argument "targets" to "forward" of "CTCLoss" has incompatible neural type NT[Tensor, "B", LengthsType]; expected NT[Tensor, "B T_out", LabelsType] (elements are LengthsType, not LabelsType)  [neural-type-argument]
        self.encoder(mel.transpose(1, 2), lengths)  # E: Argument "mel" to "forward" of "ConvEncoder" has incompatible neural type NT[Tensor, "B T D", MelSpectrogramType]; expected NT[Tensor, "B D T", MelSpectrogramType] (axes transposed)  [neural-type-argument]


def train(model: SpeechModel, steps: int) -> float:
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    total = 0.0
    for _ in range(steps):
        mel = torch.randn(4, 80, 50)
        lengths = torch.full((4,), 50)
        tokens = torch.randint(1, 32, (4, 10))
        token_lengths = torch.full((4,), 10)
        loss = model.training_step(mel, lengths, tokens, token_lengths)
        optimizer.zero_grad()
        loss.backward()  # E: Call to untyped function "backward" in typed context  [no-untyped-call]
        optimizer.step()
        total += loss.item()
    return total / steps
