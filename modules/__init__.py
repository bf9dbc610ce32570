"""neuraltypes_modules: typed, reusable modules and example models built on neuraltypes.

The modules and datasets are importable from here; the example models (which need Lightning) live in
``neuraltypes_modules.keyword_classifier`` and ``neuraltypes_modules.text_classifier``.
"""

from .data import AudioBatch as AudioBatch
from .data import SyntheticKeywords as SyntheticKeywords
from .data import SyntheticTopics as SyntheticTopics
from .data import TextBatch as TextBatch
from .decoders import ClassificationDecoder as ClassificationDecoder
from .decoders import CTCDecoder as CTCDecoder
from .encoders import AcousticEncoder as AcousticEncoder
from .encoders import ConvEncoder as ConvEncoder
from .encoders import EncoderOutput as EncoderOutput
from .encoders import TransformerEncoder as TransformerEncoder
from .losses import CrossEntropyLoss as CrossEntropyLoss
from .losses import CTCLoss as CTCLoss
from .preprocessing import AudioToMelSpectrogram as AudioToMelSpectrogram
from .preprocessing import MelFeatures as MelFeatures
from .text import TextEncoder as TextEncoder
from .text import TextEncoding as TextEncoding

__all__ = [
    "AcousticEncoder",
    "AudioBatch",
    "AudioToMelSpectrogram",
    "CTCDecoder",
    "CTCLoss",
    "ClassificationDecoder",
    "ConvEncoder",
    "CrossEntropyLoss",
    "EncoderOutput",
    "MelFeatures",
    "SyntheticKeywords",
    "SyntheticTopics",
    "TextBatch",
    "TextEncoder",
    "TextEncoding",
    "TransformerEncoder",
]
