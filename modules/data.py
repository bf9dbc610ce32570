"""Built-in synthetic datasets, so the examples train anywhere without downloads.

``SyntheticKeywords``: short clips of a class-specific two-tone chirp in noise (a stand-in for spoken
keywords). ``SyntheticTopics``: token sequences whose topic words reveal the class. Every item is derived
from ``(seed, index)`` alone, so each process of a DDP job sees the same data without coordination.
"""

import math
from typing import NamedTuple

import torch
from torch import Tensor

from neuraltypes import NT, AudioSignal, LabelsType, LengthsType, TokenIndex
from neuraltypes.models import TypedDataset

__all__ = ["AudioBatch", "AudioItem", "SyntheticKeywords", "SyntheticTopics", "TextBatch", "TextItem"]


class AudioItem(NamedTuple):
    """One clip: samples and its class."""

    signal: Tensor
    label: int


class AudioBatch(NamedTuple):
    """Padded clips, their lengths in samples, and their classes."""

    input_signal: NT[Tensor, "B T_audio", AudioSignal, "float32"]
    input_signal_length: NT[Tensor, "B", LengthsType, "int64"]
    labels: NT[Tensor, "B", LabelsType, "int64"]


class SyntheticKeywords(TypedDataset[AudioItem, AudioBatch]):
    """Clips of class-specific tone pairs (with a rising chirp), random length, phase, gain and noise.

    Args:
        num_samples: clips in the dataset.
        num_classes: keyword classes; labels cycle through them, so classes are balanced.
        sample_rate: in Hz.
        min_seconds, max_seconds: clip duration range.
        noise: standard deviation of the white noise added (the signal's peak is about 1).
        seed: with the index, determines every clip.
    """

    def __init__(
        self,
        num_samples: int = 512,
        num_classes: int = 4,
        sample_rate: int = 8000,
        min_seconds: float = 0.25,
        max_seconds: float = 0.5,
        noise: float = 0.1,
        seed: int = 0,
    ) -> None:
        if not 0 < min_seconds <= max_seconds:
            raise ValueError(f"need 0 < min_seconds <= max_seconds, got {min_seconds} and {max_seconds}")
        self.num_samples = num_samples
        self.num_classes = num_classes
        self.sample_rate = sample_rate
        self.lengths = (int(min_seconds * sample_rate), int(max_seconds * sample_rate))
        self.noise = noise
        self.seed = seed

    def __len__(self) -> int:
        return self.num_samples

    def __getitem__(self, index: int) -> AudioItem:
        if not 0 <= index < self.num_samples:
            raise IndexError(f"index {index} out of range for {self.num_samples} clips")
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + index)
        label = index % self.num_classes
        low, high = self.lengths
        length = int(torch.randint(low, high + 1, (1,), generator=generator))
        time = torch.arange(length, dtype=torch.float64) / self.sample_rate
        base = 300.0 * 1.5**label
        phase = 2 * math.pi * torch.rand(2, generator=generator, dtype=torch.float64)
        chirp = base * time + 0.5 * base * time**2
        tones = torch.sin(2 * math.pi * chirp + phase[0]) + 0.5 * torch.sin(2 * math.pi * 2.5 * base * time + phase[1])
        gain = 0.5 + 0.5 * float(torch.rand(1, generator=generator))
        noise = self.noise * torch.randn(length, generator=generator, dtype=torch.float64)
        return AudioItem((gain * tones / 1.5 + noise).to(torch.float32), label)

    def collate_fn(self, items: list[AudioItem]) -> AudioBatch:
        lengths = torch.tensor([item.signal.shape[0] for item in items], dtype=torch.int64)
        signals = torch.zeros(len(items), int(lengths.max()), dtype=torch.float32)
        for row, item in enumerate(items):
            signals[row, : item.signal.shape[0]] = item.signal
        return AudioBatch(signals, lengths, torch.tensor([item.label for item in items], dtype=torch.int64))


class TextItem(NamedTuple):
    """One sequence of token indices and its class."""

    tokens: Tensor
    label: int


class TextBatch(NamedTuple):
    """Padded token sequences (padding index 0), their lengths, and their classes."""

    tokens: NT[Tensor, "B T", TokenIndex, "int64"]
    length: NT[Tensor, "B", LengthsType, "int64"]
    labels: NT[Tensor, "B", LabelsType, "int64"]


class SyntheticTopics(TypedDataset[TextItem, TextBatch]):
    """Sequences of filler tokens with a few topic words; each class has its own topic words.

    Tokens ``1 .. vocab_size - 1`` are split into ``num_classes`` topic blocks of ``topic_words`` tokens and
    filler; a sequence holds ``topic_rate`` of its class's topic words, the rest filler.

    Args:
        num_samples: sequences in the dataset.
        num_classes: topics.
        vocab_size: tokens including padding (0).
        topic_words: tokens per topic.
        min_length, max_length: sequence length range.
        topic_rate: fraction of a sequence drawn from its topic.
        seed: with the index, determines every sequence.
    """

    def __init__(
        self,
        num_samples: int = 512,
        num_classes: int = 3,
        vocab_size: int = 100,
        topic_words: int = 5,
        min_length: int = 8,
        max_length: int = 24,
        topic_rate: float = 0.25,
        seed: int = 0,
    ) -> None:
        if vocab_size <= 1 + num_classes * topic_words:
            raise ValueError(f"vocab_size {vocab_size} leaves no filler tokens after {num_classes} topics")
        self.num_samples = num_samples
        self.num_classes = num_classes
        self.vocab_size = vocab_size
        self.topic_words = topic_words
        self.length_range = (min_length, max_length)
        self.topic_rate = topic_rate
        self.seed = seed

    def __len__(self) -> int:
        return self.num_samples

    def __getitem__(self, index: int) -> TextItem:
        if not 0 <= index < self.num_samples:
            raise IndexError(f"index {index} out of range for {self.num_samples} sequences")
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + index)
        label = index % self.num_classes
        length = int(torch.randint(self.length_range[0], self.length_range[1] + 1, (1,), generator=generator))
        first_filler = 1 + self.num_classes * self.topic_words
        tokens = torch.randint(first_filler, self.vocab_size, (length,), generator=generator)
        topical = torch.rand(length, generator=generator) < self.topic_rate
        topic = 1 + label * self.topic_words + torch.randint(0, self.topic_words, (length,), generator=generator)
        return TextItem(torch.where(topical, topic, tokens), label)

    def collate_fn(self, items: list[TextItem]) -> TextBatch:
        lengths = torch.tensor([item.tokens.shape[0] for item in items], dtype=torch.int64)
        tokens = torch.zeros(len(items), int(lengths.max()), dtype=torch.int64)
        for row, item in enumerate(items):
            tokens[row, : item.tokens.shape[0]] = item.tokens
        return TextBatch(tokens, lengths, torch.tensor([item.label for item in items], dtype=torch.int64))
