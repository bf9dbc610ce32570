"""A keyword classifier with a wiring mistake: the head is fed mel features instead of encodings.

Deliberately wrong, for ``python -m neuraltypes_modules.check_wiring``: mypy with the neuraltypes plugin
reports the bad call below with its line number, before anything runs. (Excluded from the project's own
mypy run.)
"""

from torch import Tensor

from neuraltypes import NT, AudioSignal, LengthsType, LogitsType
from neuraltypes.nn import NeuralModule

from ..decoders import ClassificationDecoder
from ..encoders import ConvEncoder
from ..preprocessing import AudioToMelSpectrogram


class MiswiredClassifier(NeuralModule):
    """Preprocessor, encoder and head, with the encoder's output not passed on."""

    def __init__(self, n_mels: int = 32, hidden: int = 64, num_classes: int = 4) -> None:
        super().__init__()
        self.preprocessor = AudioToMelSpectrogram(sample_rate=8000, n_fft=256, hop_length=80, n_mels=n_mels)
        self.encoder = ConvEncoder(feat_in=n_mels, hidden=hidden)
        self.decoder = ClassificationDecoder(feat_in=hidden, num_classes=num_classes)

    def forward(
        self,
        input_signal: NT[Tensor, "B T_audio", AudioSignal, "float"],
        input_signal_length: NT[Tensor, "B", LengthsType, "int"],
    ) -> NT[Tensor, "B C", LogitsType, "float"]:
        features = self.preprocessor(input_signal=input_signal, length=input_signal_length)
        encoded = self.encoder(audio_signal=features.processed_signal, length=features.processed_length)
        return self.decoder(encoder_output=features.processed_signal, length=encoded.encoded_length)
