"""NeMo's ASR classes for migration: the paths a NeMo config's ``_target_`` becomes.

``nemo.collections.asr.modules.ConvASREncoder`` is ``neuraltypes_modules.asr.ConvASREncoder``, and so on for
the classes below (same constructor arguments, same port names, same weight names);
``nemo.collections.asr.models.EncDecCTCModel`` is ``neuraltypes_modules.asr.EncDecCTCModel``.
:func:`with_our_class_paths` rewrites a NeMo config's class paths in one go (for restoring a ``.nemo`` file).
See docs/nemo.md for the migration guide.
"""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig, OmegaConf

from neuraltypes.config import NEMO_COUNTERPARTS

from .audio_preprocessing import AudioToMelSpectrogramPreprocessor as AudioToMelSpectrogramPreprocessor
from .audio_preprocessing import SpectrogramAugmentation as SpectrogramAugmentation
from .conv_asr import ConvASRDecoder as ConvASRDecoder
from .conv_asr import ConvASREncoder as ConvASREncoder
from .ctc_models import CTCLoss as CTCLoss
from .ctc_models import EncDecCTCModel as EncDecCTCModel
from .speech_data import AudioTextBatch as AudioTextBatch
from .speech_data import SyntheticSpeech as SyntheticSpeech

__all__ = [
    "NEMO_PACKAGES",
    "AudioTextBatch",
    "AudioToMelSpectrogramPreprocessor",
    "CTCLoss",
    "ConvASRDecoder",
    "ConvASREncoder",
    "EncDecCTCModel",
    "SpectrogramAugmentation",
    "SyntheticSpeech",
    "with_our_class_paths",
]

#: The NeMo packages whose classes this module stands in for (a class path is the package, a dot, the name;
#: NeMo also writes the defining module, ``nemo.collections.asr.models.ctc_models.EncDecCTCModel``). Configs
#: naming them are built with these classes while NeMo is not imported (``neuraltypes.config.NEMO_COUNTERPARTS``).
NEMO_PACKAGES = tuple(nemo for nemo, ours in NEMO_COUNTERPARTS.items() if ours == __name__)
_CLASS_KEYS = ("_target_", "cls", "target")


def _ours(path: str, where: str) -> str:
    package, _, name = path.rpartition(".")
    if not any(package == nemo or package.startswith(f"{nemo}.") for nemo in NEMO_PACKAGES):
        return path
    if name not in __all__ or not isinstance(globals().get(name), type):
        provided = sorted(n for n in __all__ if isinstance(globals().get(n), type))
        raise ValueError(f"{where}: {path} has no counterpart in {__name__}; it provides {', '.join(provided)}")
    return f"{__name__}.{name}"


def _rewrite(node: Any, where: str) -> Any:
    if isinstance(node, dict):
        return {
            key: _ours(value, f"{where}.{key}" if where else key)
            if key in _CLASS_KEYS and isinstance(value, str)
            else _rewrite(value, f"{where}.{key}" if where else str(key))
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_rewrite(item, f"{where}[{index}]") for index, item in enumerate(node)]
    return node


def with_our_class_paths(config: DictConfig | dict[str, Any]) -> DictConfig:
    """A copy of a NeMo ASR config whose NeMo class paths (``_target_``, ``cls``, ``target``) name ours.

    Only paths under :data:`NEMO_PACKAGES` change; interpolations are kept.

    Raises:
        ValueError: a NeMo class this module has no counterpart for (``ConformerEncoder`` ...), naming the key.
    """
    plain = OmegaConf.to_container(config, resolve=False) if isinstance(config, DictConfig) else config
    rewritten = OmegaConf.create(_rewrite(plain, ""))
    assert isinstance(rewritten, DictConfig)
    return rewritten
