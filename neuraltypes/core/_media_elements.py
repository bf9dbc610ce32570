"""Element types of media: audio and video signals (with their sampling rate or frame rate) and image values."""

from __future__ import annotations

from ._elements import ElementType

__all__ = ["AudioSignal", "ImageFeatureValue", "ImageValue", "NormalizedImageValue", "VideoSignal"]


class AudioSignal(ElementType):
    """An audio signal, optionally with its sampling frequency."""

    _parameter_names = ("freq",)
    __slots__ = ()

    def __init__(self, freq: int | None = None) -> None:
        self._set_parameters(freq)

    @property
    def sample_freq(self) -> int | None:
        """The sampling frequency (NeMo's name)."""
        return self._parameters[0]  # type: ignore[no-any-return]


class VideoSignal(ElementType):
    """A video signal, optionally with its frame rate."""

    _parameter_names = ("fps",)
    __slots__ = ()

    def __init__(self, fps: int | float | None = None) -> None:
        self._set_parameters(fps)

    @property
    def fps(self) -> int | float | None:
        """Frames per second."""
        return self._parameters[0]  # type: ignore[no-any-return]


class ImageValue(ElementType):
    """Image pixel values."""

    __slots__ = ()


class NormalizedImageValue(ImageValue):
    """Normalized image pixel values."""

    __slots__ = ()


class ImageFeatureValue(ImageValue):
    """Image features."""

    __slots__ = ()
