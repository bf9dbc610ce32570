"""A built-in synthetic speech-to-text dataset, so a CTC model trains anywhere without audio files or downloads.

Each utterance spells a short random transcript with tones: every label (character) has its own pitch, held
for a few tens of milliseconds, with a short silence between characters (so a repeated character is two
tones) and white noise over all. Items depend only on ``(seed, index)``, so every process of a DDP job sees
the same data. It stands in for NeMo's manifest datasets (``manifest_filepath``), which are not provided.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import torch
from omegaconf import ListConfig
from torch import Tensor

from neuraltypes import NT, AudioSignal, LabelsType, LengthsType
from neuraltypes.models import TypedDataset

__all__ = ["AudioTextBatch", "AudioTextItem", "SyntheticSpeech"]


class AudioTextItem(NamedTuple):
    """One utterance: samples, and its transcript as label indices."""

    signal: Tensor
    tokens: Tensor


class AudioTextBatch(NamedTuple):
    """Padded utterances and their lengths in samples, padded transcripts and their lengths (NeMo's order)."""

    input_signal: NT[Tensor, "B T_audio", AudioSignal, "float32"]
    input_signal_length: NT[Tensor, "B", LengthsType, "int64"]
    transcripts: NT[Tensor, "B T_text", LabelsType, "int64"]
    transcript_length: NT[Tensor, "B", LengthsType, "int64"]


class SyntheticSpeech(TypedDataset[AudioTextItem, AudioTextBatch]):
    """Utterances of tone-coded characters and their transcripts.

    Label ``i`` of ``labels`` sounds at a pitch between 150 Hz and 0.4 times the sample rate, spaced evenly on
    a log scale. The model reads ``sample_rate`` and ``labels`` from its data config (as NeMo's datasets do).

    Args:
        labels: the characters of the transcripts (the model's ``labels``).
        sample_rate: in Hz.
        num_samples: utterances in the dataset.
        min_chars, max_chars: transcript length range.
        min_char_seconds, max_char_seconds: how long each character's tone lasts.
        gap_seconds: silence between characters.
        noise: standard deviation of the white noise (the tones' peak is about 1).
        seed: with the index, determines every utterance.
    """

    def __init__(
        self,
        labels: Sequence[str] | ListConfig,
        sample_rate: int = 16000,
        num_samples: int = 256,
        min_chars: int = 2,
        max_chars: int = 6,
        min_char_seconds: float = 0.04,
        max_char_seconds: float = 0.08,
        gap_seconds: float = 0.01,
        noise: float = 0.05,
        seed: int = 0,
    ) -> None:
        if not 0 < min_chars <= max_chars:
            raise ValueError(f"need 0 < min_chars <= max_chars, got {min_chars} and {max_chars}")
        if not 0 < min_char_seconds <= max_char_seconds:
            raise ValueError(
                f"need 0 < min_char_seconds <= max_char_seconds, got {min_char_seconds}, {max_char_seconds}"
            )
        self.labels = [str(label) for label in labels]
        if not self.labels:
            raise ValueError("SyntheticSpeech needs at least one label")
        self.sample_rate = sample_rate
        self.num_samples = num_samples
        self.chars = (min_chars, max_chars)
        self.char_samples = (int(min_char_seconds * sample_rate), int(max_char_seconds * sample_rate))
        self.gap = int(gap_seconds * sample_rate)
        self.noise = noise
        self.seed = seed
        low, high = math.log(150.0), math.log(0.4 * sample_rate)
        count = len(self.labels)
        self.pitches = [math.exp(low + (high - low) * i / max(count - 1, 1)) for i in range(count)]

    def __len__(self) -> int:
        return self.num_samples

    def text(self, tokens: Tensor) -> str:
        """The transcript that label indices spell."""
        return "".join(self.labels[int(token)] for token in tokens)

    def __getitem__(self, index: int) -> AudioTextItem:
        if not 0 <= index < self.num_samples:
            raise IndexError(f"index {index} out of range for {self.num_samples} utterances")
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + index)
        length = int(torch.randint(self.chars[0], self.chars[1] + 1, (1,), generator=generator))
        tokens = torch.randint(0, len(self.labels), (length,), generator=generator)
        pieces = [torch.zeros(self.gap, dtype=torch.float64)]
        for token in tokens.tolist():
            samples = int(torch.randint(self.char_samples[0], self.char_samples[1] + 1, (1,), generator=generator))
            time = torch.arange(samples, dtype=torch.float64) / self.sample_rate
            phase = 2 * math.pi * float(torch.rand(1, generator=generator))
            pieces += [torch.sin(2 * math.pi * self.pitches[token] * time + phase), torch.zeros(self.gap)]
        tones = torch.cat(pieces)
        noise = self.noise * torch.randn(tones.shape[0], generator=generator, dtype=torch.float64)
        return AudioTextItem((tones + noise).to(torch.float32), tokens)

    def collate_fn(self, items: list[AudioTextItem]) -> AudioTextBatch:
        lengths = torch.tensor([item.signal.shape[0] for item in items], dtype=torch.int64)
        text_lengths = torch.tensor([item.tokens.shape[0] for item in items], dtype=torch.int64)
        signals = torch.zeros(len(items), int(lengths.max()), dtype=torch.float32)
        transcripts = torch.zeros(len(items), int(text_lengths.max()), dtype=torch.int64)
        for row, item in enumerate(items):
            signals[row, : item.signal.shape[0]] = item.signal
            transcripts[row, : item.tokens.shape[0]] = item.tokens
        return AudioTextBatch(signals, lengths, transcripts, text_lengths)
