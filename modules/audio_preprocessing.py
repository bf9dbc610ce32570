"""NeMo's audio preprocessing modules, with NeMo's constructor arguments and weight names.

``AudioToMelSpectrogramPreprocessor`` (waveforms to normalised log-mel spectrograms) and
``SpectrogramAugmentation`` (SpecAugment and SpecCutout masks), as in ``nemo.collections.asr.modules``. The
filterbank is librosa's Slaney mel (NeMo's default ``mel_norm="slaney"``), computed in torch, and it is kept
as the ``featurizer.fb`` buffer as NeMo keeps it, so a NeMo checkpoint's preprocessor loads name for name.
Arguments NeMo accepts but that select something not implemented here are refused with the reason.
"""

from __future__ import annotations

import math
import random
from typing import Any

import torch
from torch import Tensor, nn

from neuraltypes import NT, AudioSignal, LengthsType, SpectrogramType
from neuraltypes.nn import NeuralModule

from .preprocessing import MelFeatures

__all__ = [
    "AudioToMelSpectrogramPreprocessor",
    "FilterbankFeatures",
    "SpecAugment",
    "SpecCutout",
    "SpectrogramAugmentation",
    "slaney_mel_filterbank",
]

#: NeMo's guard against log(0) and division by zero (``features.CONSTANT``).
CONSTANT = 1e-5

_WINDOWS = {
    "hann": torch.hann_window,
    "hamming": torch.hamming_window,
    "blackman": torch.blackman_window,
    "bartlett": torch.bartlett_window,
}
_NORMALIZE = ("per_feature", "all_features")

# Slaney's mel scale (librosa's default, htk=False): linear below 1 kHz, logarithmic above.
_F_SP = 200.0 / 3
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP
_LOG_STEP = math.log(6.4) / 27.0


def _hz_to_mel(hz: float) -> float:
    return _MIN_LOG_MEL + math.log(hz / _MIN_LOG_HZ) / _LOG_STEP if hz >= _MIN_LOG_HZ else hz / _F_SP


def _mel_to_hz(mels: Tensor) -> Tensor:
    return torch.where(mels >= _MIN_LOG_MEL, _MIN_LOG_HZ * torch.exp(_LOG_STEP * (mels - _MIN_LOG_MEL)), _F_SP * mels)


def slaney_mel_filterbank(
    sample_rate: int, n_fft: int, n_mels: int, f_min: float, f_max: float, norm: str | None = "slaney"
) -> Tensor:
    """``librosa.filters.mel(sr, n_fft, n_mels, fmin, fmax, htk=False, norm)``: shape ``(n_mels, n_fft // 2 + 1)``.

    With ``norm="slaney"`` each triangle is divided by its width in Hz (constant energy per band).
    """
    fft_hz = torch.linspace(0.0, sample_rate / 2, n_fft // 2 + 1, dtype=torch.float64)
    points = _mel_to_hz(torch.linspace(_hz_to_mel(f_min), _hz_to_mel(f_max), n_mels + 2, dtype=torch.float64))
    widths = points[1:] - points[:-1]
    ramps = points[:, None] - fft_hz[None, :]
    rising = -ramps[:-2] / widths[:-1, None]
    falling = ramps[2:] / widths[1:, None]
    weights = torch.clamp(torch.minimum(rising, falling), min=0.0)
    if norm == "slaney":
        weights = weights * (2.0 / (points[2:] - points[:-2]))[:, None]
    return weights.to(torch.float32)


def _refuse(owner: str, argument: str, value: object, reason: str) -> ValueError:
    return ValueError(f"{owner}: {argument}={value!r} is not supported: {reason}")


def _samples(seconds: float | None, samples: int | None, sample_rate: int, name: str) -> int:
    """A window length or stride in samples, from NeMo's ``window_size`` (seconds) or ``n_window_size``."""
    if seconds and samples:
        raise ValueError(f"AudioToMelSpectrogramPreprocessor: give {name} or n_{name}, not both")
    count = int(seconds * sample_rate) if seconds else samples
    if not isinstance(count, int) or count <= 0:
        raise ValueError(f"AudioToMelSpectrogramPreprocessor: {name} must come to a positive number of samples")
    return count


def _log_guard(value: float | str, dtype: torch.dtype) -> float:
    if isinstance(value, str):
        if value == "tiny":
            return float(torch.finfo(dtype).tiny)
        if value == "eps":
            return float(torch.finfo(dtype).eps)
        raise ValueError(f"log_zero_guard_value must be a number, 'tiny' or 'eps', got {value!r}")
    return float(value)


def _normalize_per_feature(x: Tensor, length: Tensor) -> Tensor:
    """Each mel band to zero mean and unit (unbiased) deviation over the utterance's valid frames (NeMo's)."""
    valid = (torch.arange(x.shape[2], device=x.device)[None, :] < length[:, None])[:, None, :]
    count = valid.sum(dim=2)
    mean = torch.where(valid, x, 0.0).sum(dim=2) / count
    std = torch.sqrt(torch.where(valid, x - mean[:, :, None], 0.0).pow(2).sum(dim=2) / (count - 1.0))
    std = std.masked_fill(std.isnan(), 0.0) + CONSTANT
    return (x - mean[:, :, None]) / std[:, :, None]


def _normalize_all_features(x: Tensor, length: Tensor) -> Tensor:
    """Each utterance to zero mean and unit deviation over all bands of its valid frames (NeMo's)."""
    valid = (torch.arange(x.shape[2], device=x.device)[None, :] < length[:, None])[:, None, :].expand_as(x)
    count = valid.sum(dim=(1, 2))
    mean = torch.where(valid, x, 0.0).sum(dim=(1, 2)) / count
    std = torch.sqrt(torch.where(valid, x - mean[:, None, None], 0.0).pow(2).sum(dim=(1, 2)) / (count - 1.0))
    return (x - mean[:, None, None]) / (std + CONSTANT)[:, None, None]


class FilterbankFeatures(nn.Module):
    """NeMo's featurizer: preemphasis, STFT, power spectrum, mel filterbank, log, normalisation, padding.

    Kept as a submodule named ``featurizer`` with the buffers ``window`` and ``fb``, NeMo's names.
    """

    window: Tensor
    fb: Tensor

    def __init__(
        self,
        sample_rate: int,
        n_window_size: int,
        n_window_stride: int,
        window: str | None,
        normalize: str | None,
        n_fft: int | None,
        preemph: float | None,
        nfilt: int,
        lowfreq: float,
        highfreq: float | None,
        log: bool,
        log_zero_guard_type: str,
        log_zero_guard_value: float | str,
        dither: float,
        pad_to: int,
        exact_pad: bool,
        pad_value: float,
        mag_power: float,
        mel_norm: str | None,
    ) -> None:
        super().__init__()
        if exact_pad and n_window_stride % 2 == 1:
            raise ValueError("exact_pad needs an even window stride (in samples)")
        if log_zero_guard_type not in ("add", "clamp"):
            raise ValueError(f"log_zero_guard_type must be 'add' or 'clamp', got {log_zero_guard_type!r}")
        self.win_length = n_window_size
        self.hop_length = n_window_stride
        self.n_fft = n_fft or 2 ** math.ceil(math.log2(n_window_size))
        self.stft_pad_amount = (self.n_fft - self.hop_length) // 2 if exact_pad else None
        self.normalize = normalize
        self.preemph = preemph
        self.log = log
        self.log_zero_guard_type = log_zero_guard_type
        self.log_zero_guard_value = log_zero_guard_value
        self.dither = dither
        self.pad_to = pad_to
        self.pad_value = pad_value
        self.mag_power = mag_power
        make_window = _WINDOWS.get(window or "none")
        # NeMo's window is symmetric (periodic=False); "none" (or None) is a rectangular window.
        shape = make_window(n_window_size, periodic=False) if make_window else torch.ones(n_window_size)
        self.register_buffer("window", shape)
        top = highfreq or sample_rate / 2
        bank = slaney_mel_filterbank(sample_rate, self.n_fft, nfilt, lowfreq, top, mel_norm)
        self.register_buffer("fb", bank.unsqueeze(0))

    def get_seq_len(self, seq_len: Tensor) -> Tensor:
        """Frames made from ``seq_len`` samples (NeMo's count: the STFT's last, partly padded frame is dropped)."""
        pad_amount = self.stft_pad_amount * 2 if self.stft_pad_amount is not None else self.n_fft // 2 * 2
        return torch.floor_divide(seq_len + pad_amount - self.n_fft, self.hop_length).to(torch.long)

    def _spectrum(self, x: Tensor) -> Tensor:
        if self.stft_pad_amount is not None:
            x = nn.functional.pad(x[:, None], (self.stft_pad_amount, self.stft_pad_amount), "constant")[:, 0]
        spectrum = torch.stft(
            x,
            n_fft=self.n_fft,
            hop_length=self.hop_length,
            win_length=self.win_length,
            center=self.stft_pad_amount is None,
            window=self.window.to(dtype=torch.float, device=x.device),
            return_complex=True,
            pad_mode="constant",
        )
        magnitude = torch.view_as_real(spectrum).pow(2).sum(-1).sqrt()
        return magnitude.pow(self.mag_power) if self.mag_power != 1.0 else magnitude

    def forward(self, x: Tensor, seq_len: Tensor) -> tuple[Tensor, Tensor]:
        samples = seq_len
        frames = torch.where(seq_len == 0, 0, self.get_seq_len(seq_len))
        if self.training and self.dither > 0:
            x = x + self.dither * torch.randn_like(x)
        if self.preemph is not None:
            inside = torch.arange(x.shape[1], device=x.device)[None, :] < samples[:, None]
            x = torch.cat((x[:, :1], x[:, 1:] - self.preemph * x[:, :-1]), dim=1).masked_fill(~inside, 0.0)
        features = torch.matmul(self.fb.to(x.dtype), self._spectrum(x))
        if self.log:
            guard = _log_guard(self.log_zero_guard_value, features.dtype)
            clamped = torch.clamp(features, min=guard)
            features = torch.log(features + guard if self.log_zero_guard_type == "add" else clamped)
        if self.normalize == "per_feature":
            features = _normalize_per_feature(features, frames)
        elif self.normalize == "all_features":
            features = _normalize_all_features(features, frames)
        past = torch.arange(features.shape[-1], device=x.device)[None, :] >= frames[:, None]
        features = features.masked_fill(past[:, None, :], self.pad_value)
        remainder = features.shape[-1] % self.pad_to if self.pad_to > 0 else 0
        if remainder:
            features = nn.functional.pad(features, (0, self.pad_to - remainder), value=self.pad_value)
        return features, frames


class AudioToMelSpectrogramPreprocessor(NeuralModule):
    """Waveforms to log-mel spectrograms: ``nemo.collections.asr.modules.AudioToMelSpectrogramPreprocessor``.

    Takes NeMo's arguments with NeMo's defaults and meaning (window sizes in seconds or samples, ``features``
    mel bands, ``normalize`` per feature, ``pad_to`` a multiple of 16 frames, dither in training mode only).
    Refused, because they select what is not implemented here: ``frame_splicing`` other than 1,
    ``pad_to="max"``, ``nb_augmentation_prob`` above 0, ``use_torchaudio=True``, a ``mel_norm`` other than
    ``"slaney"`` or ``None``. NeMo's deprecated ``stft_exact_pad``/``stft_conv`` are accepted and ignored, as
    NeMo ignores them. An argument NeMo does not have is a ``TypeError`` naming it.
    """

    def __init__(
        self,
        sample_rate: int = 16000,
        window_size: float | None = 0.02,
        window_stride: float | None = 0.01,
        n_window_size: int | None = None,
        n_window_stride: int | None = None,
        window: str | None = "hann",
        normalize: str | None = "per_feature",
        n_fft: int | None = None,
        preemph: float | None = 0.97,
        features: int = 64,
        lowfreq: float = 0,
        highfreq: float | None = None,
        log: bool = True,
        log_zero_guard_type: str = "add",
        log_zero_guard_value: float | str = 2**-24,
        dither: float = 1e-5,
        pad_to: int | str = 16,
        frame_splicing: int = 1,
        exact_pad: bool = False,
        pad_value: float = 0,
        mag_power: float = 2.0,
        rng: random.Random | None = None,
        nb_augmentation_prob: float = 0.0,
        nb_max_freq: int = 4000,
        use_torchaudio: bool = False,
        mel_norm: str | None = "slaney",
        stft_exact_pad: bool = False,
        stft_conv: bool = False,
    ) -> None:
        super().__init__()
        owner = type(self).__qualname__
        if frame_splicing != 1:
            raise _refuse(owner, "frame_splicing", frame_splicing, "frame splicing is not implemented; use 1")
        if not isinstance(pad_to, int):
            raise _refuse(owner, "pad_to", pad_to, "padding to the longest utterance is not implemented; use 0 or 16")
        if nb_augmentation_prob > 0:
            raise _refuse(owner, "nb_augmentation_prob", nb_augmentation_prob, "narrowband augmentation is absent")
        if use_torchaudio:
            raise _refuse(owner, "use_torchaudio", use_torchaudio, "this preprocessor is the torch implementation")
        if mel_norm not in ("slaney", None):
            raise _refuse(owner, "mel_norm", mel_norm, "only 'slaney' (area) normalisation or None is implemented")
        if window is not None and window != "none" and window not in _WINDOWS:
            raise ValueError(f"{owner}: unknown window {window!r}; choose one of {[*_WINDOWS, 'none']}")
        self._sample_rate = sample_rate
        self.win_length = _samples(window_size, n_window_size, sample_rate, "window_size")
        self.hop_length = _samples(window_stride, n_window_stride, sample_rate, "window_stride")
        self.featurizer = FilterbankFeatures(
            sample_rate=sample_rate,
            n_window_size=self.win_length,
            n_window_stride=self.hop_length,
            window=window,
            normalize=normalize if normalize in _NORMALIZE else None,
            n_fft=n_fft,
            preemph=preemph,
            nfilt=features,
            lowfreq=lowfreq,
            highfreq=highfreq,
            log=log,
            log_zero_guard_type=log_zero_guard_type,
            log_zero_guard_value=log_zero_guard_value,
            dither=dither,
            pad_to=pad_to,
            exact_pad=exact_pad,
            pad_value=pad_value,
            mag_power=mag_power,
            mel_norm=mel_norm,
        )

    @property
    def filter_banks(self) -> Tensor:
        """The mel filterbank, shape ``(1, features, n_fft // 2 + 1)``."""
        return self.featurizer.fb

    def get_features(self, input_signal: Tensor, length: Tensor) -> tuple[Tensor, Tensor]:
        """The features and their lengths in frames, without the run-time type check (NeMo's hook)."""
        return self.featurizer(input_signal.to(torch.float32), length)

    def forward(
        self,
        input_signal: NT[Tensor, "B T_audio", AudioSignal, "float"],
        length: NT[Tensor, "B", LengthsType, "int"],
    ) -> MelFeatures:
        with torch.no_grad():  # as NeMo: features carry no gradient to the waveform
            return MelFeatures(*self.get_features(input_signal, length))


class SpecCutout(nn.Module):
    """Zeroes ``rect_masks`` random rectangles of up to ``rect_freq`` bands by ``rect_time`` frames per utterance.

    Draws from ``rng`` (a ``random.Random``) as NeMo's does; a rectangle wider than the spectrogram is clipped
    to it (NeMo's raises).
    """

    def __init__(self, rect_masks: int, rect_time: int, rect_freq: int, rng: random.Random | None) -> None:
        super().__init__()
        self.rect_masks = rect_masks
        self.rect_time = rect_time
        self.rect_freq = rect_freq
        self._rng = random.Random() if rng is None else rng

    def forward(self, input_spec: Tensor) -> Tensor:
        batch, bands, frames = input_spec.shape
        keep = torch.ones(batch, bands, frames, dtype=torch.bool)
        for row in range(batch):
            for _ in range(self.rect_masks):
                band = self._rng.randint(0, max(0, bands - self.rect_freq))
                frame = self._rng.randint(0, max(0, frames - self.rect_time))
                height, width = self._rng.randint(0, self.rect_freq), self._rng.randint(0, self.rect_time)
                keep[row, band : band + height, frame : frame + width] = False
        return input_spec.masked_fill(~keep.to(input_spec.device), 0.0)


class SpecAugment(nn.Module):
    """``freq_masks`` bands and ``time_masks`` spans of frames (within each utterance's length) set to ``mask_value``.

    NeMo's vectorised form: widths drawn uniformly below ``freq_width`` / ``time_width`` (a float ``time_width``
    is a fraction of each utterance's length), from torch's generator.
    """

    def __init__(
        self, freq_masks: int, time_masks: int, freq_width: int, time_width: int | float, mask_value: float
    ) -> None:
        super().__init__()
        if isinstance(time_width, float) and not 0.0 <= time_width <= 1.0:
            raise ValueError(f"a float time_width is a fraction of the length, in [0, 1]; got {time_width}")
        self.freq_masks = freq_masks
        self.time_masks = time_masks
        self.freq_width = freq_width
        self.time_width = time_width
        self.mask_value = mask_value

    def _mask(self, spec: Tensor, count: int, width: int | float | Tensor, extent: Tensor, axis: int) -> Tensor:
        batch, size = spec.shape[0], spec.shape[axis]
        widths = (torch.rand(batch, count, device=spec.device) * width).long()
        starts = (torch.rand(batch, count, device=spec.device) * (extent - widths)).long()
        indices = torch.arange(size, device=spec.device)
        hit = ((indices >= starts[..., None]) & (indices < (starts + widths)[..., None])).any(dim=1)
        return spec.masked_fill(hit[:, None, :] if axis == 2 else hit[:, :, None], self.mask_value)

    def forward(self, input_spec: Tensor, length: Tensor) -> Tensor:
        time_width: int | float | Tensor = self.time_width
        if isinstance(time_width, float):
            time_width = torch.clamp(time_width * length, max=input_spec.shape[2])[:, None]
        spec = self._mask(input_spec, self.time_masks, time_width, length[:, None], axis=2)
        bands = torch.tensor(input_spec.shape[1], device=input_spec.device)
        return self._mask(spec, self.freq_masks, self.freq_width, bands, axis=1)


class SpectrogramAugmentation(NeuralModule):
    """SpecCutout rectangles, then SpecAugment bands and spans (NeMo's ``SpectrogramAugmentation``).

    Applied on every call, training or not, as NeMo's (the model applies it only while training). NeMo's
    ``use_numba_spec_augment`` selects a CUDA kernel NeMo itself skips when numba is missing: accepted, and the
    torch form is used. ``use_vectorized_spec_augment=False`` (NeMo's legacy per-utterance loop) is refused.
    """

    def __init__(
        self,
        freq_masks: int = 0,
        time_masks: int = 0,
        freq_width: int = 10,
        time_width: int | float = 10,
        rect_masks: int = 0,
        rect_time: int = 5,
        rect_freq: int = 20,
        rng: random.Random | None = None,
        mask_value: float = 0.0,
        use_vectorized_spec_augment: bool = True,
        use_numba_spec_augment: bool = False,
    ) -> None:
        super().__init__()
        if not use_vectorized_spec_augment:
            raise _refuse(
                type(self).__qualname__, "use_vectorized_spec_augment", False, "only the vectorised form is implemented"
            )
        self.spec_cutout = SpecCutout(rect_masks, rect_time, rect_freq, rng) if rect_masks > 0 else None
        masks = freq_masks + time_masks > 0
        self.spec_augment = SpecAugment(freq_masks, time_masks, freq_width, time_width, mask_value) if masks else None

    def forward(
        self,
        input_spec: NT[Tensor, "B D T", SpectrogramType, "float"],
        length: NT[Tensor, "B", LengthsType, "int"],
    ) -> NT[Tensor, "B D T", SpectrogramType, "float"]:
        augmented: Any = input_spec
        with torch.no_grad():
            if self.spec_cutout is not None:
                augmented = self.spec_cutout(augmented)
            if self.spec_augment is not None:
                augmented = self.spec_augment(augmented, length)
        result: Tensor = augmented
        return result
