"""Audio preprocessing: waveforms to log-mel spectrograms, with their lengths in frames."""

from typing import NamedTuple

import torch
from torch import Tensor

from neuraltypes import NT, AudioSignal, LengthsType, MelSpectrogramType
from neuraltypes.nn import NeuralModule

__all__ = ["AudioToMelSpectrogram", "MelFeatures", "mel_filterbank"]


class MelFeatures(NamedTuple):
    """Log-mel spectrograms and their lengths in frames."""

    processed_signal: NT[Tensor, "B D T", MelSpectrogramType, "float"]
    processed_length: NT[Tensor, "B", LengthsType, "int"]


def _hz_to_mel(hz: Tensor) -> Tensor:
    return 2595.0 * torch.log10(1.0 + hz / 700.0)


def _mel_to_hz(mel: Tensor) -> Tensor:
    return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)


def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int, f_min: float, f_max: float) -> Tensor:
    """Triangular HTK-mel filters, shape ``(n_mels, n_fft // 2 + 1)``, each filter's peak at 1."""
    bins = torch.linspace(0.0, sample_rate / 2, n_fft // 2 + 1, dtype=torch.float64)
    edges = _mel_to_hz(
        torch.linspace(
            float(_hz_to_mel(torch.tensor(f_min))),
            float(_hz_to_mel(torch.tensor(f_max))),
            n_mels + 2,
            dtype=torch.float64,
        )
    )
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins - lower) / (centre - lower)
    falling = (upper - bins) / (upper - centre)
    return torch.clamp(torch.minimum(rising, falling), min=0.0).to(torch.float32)


class AudioToMelSpectrogram(NeuralModule):
    """Waveforms to per-utterance normalised log-mel spectrograms (NeMo's preprocessor, simplified).

    Frames past an utterance's length are zero, so padding never leaks into the features.

    Args:
        sample_rate: of the input audio, in Hz.
        n_fft: FFT size (also the window length).
        hop_length: samples between frames.
        n_mels: mel bands (the ``D`` axis of the output).
        f_min, f_max: the mel filters' frequency range in Hz (``f_max`` defaults to Nyquist).
    """

    window: Tensor
    filterbank: Tensor

    def __init__(
        self,
        sample_rate: int = 16000,
        n_fft: int = 512,
        hop_length: int = 160,
        n_mels: int = 64,
        f_min: float = 0.0,
        f_max: float | None = None,
    ) -> None:
        super().__init__()
        self.n_fft = n_fft
        self.hop_length = hop_length
        top = sample_rate / 2 if f_max is None else f_max
        # Derived from the arguments, so not saved with the weights.
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)
        self.register_buffer("filterbank", mel_filterbank(sample_rate, n_fft, n_mels, f_min, top), persistent=False)

    def frames(self, length: Tensor) -> Tensor:
        """The number of frames ``forward`` makes from ``length`` samples (centred STFT)."""
        return torch.div(length, self.hop_length, rounding_mode="floor") + 1

    def forward(
        self,
        input_signal: NT[Tensor, "B T_audio", AudioSignal, "float"],
        length: NT[Tensor, "B", LengthsType, "int"],
    ) -> MelFeatures:
        spectrum = torch.stft(
            input_signal,
            self.n_fft,
            self.hop_length,
            window=self.window,
            center=True,
            pad_mode="constant",  # zeros past the end, as in a padded batch: features ignore batch padding
            return_complex=True,
        )
        mel = torch.log(torch.matmul(self.filterbank, spectrum.abs().pow(2)) + 1e-5)
        frames = self.frames(length)
        valid = torch.arange(mel.shape[-1], device=mel.device)[None, :] < frames[:, None]
        mask = valid[:, None, :].to(mel.dtype)
        count = frames.clamp(min=1).to(mel.dtype)[:, None, None]
        mean = (mel * mask).sum(-1, keepdim=True) / count
        std = torch.sqrt(((mel - mean) ** 2 * mask).sum(-1, keepdim=True) / count + 1e-5)
        return MelFeatures((mel - mean) / std * mask, frames)
