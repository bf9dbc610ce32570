"""Example model: keyword classification of audio clips (preprocessor, acoustic encoder, classifier head)."""

from collections.abc import Mapping
from typing import Any

import lightning.pytorch as pl
import torch
from omegaconf import DictConfig
from torch import Tensor

from neuraltypes import NT, AudioSignal, LengthsType, LogitsType
from neuraltypes.models import NUM_SAMPLES, ModelPT

from .data import AudioBatch
from .decoders import ClassificationDecoder
from .encoders import AcousticEncoder
from .losses import CrossEntropyLoss
from .preprocessing import AudioToMelSpectrogram

__all__ = ["KeywordClassifier"]


class KeywordClassifier(ModelPT):
    """Waveform in, one logit per keyword out.

    ``cfg`` holds ``preprocessor``, ``encoder`` (any :class:`AcousticEncoder`, chosen by ``_target_``) and
    ``decoder`` configs, ``label_smoothing``, and the data and optimizer configs every ``ModelPT`` reads.
    """

    config_keys = ModelPT.config_keys | {"hidden", "label_smoothing", "preprocessor", "encoder", "decoder"}

    def __init__(self, cfg: Mapping[str, Any] | DictConfig, trainer: pl.Trainer | None = None) -> None:
        super().__init__(cfg, trainer)
        self.preprocessor = AudioToMelSpectrogram.from_config_dict(self.cfg.preprocessor)
        self.encoder = AcousticEncoder.from_config_dict(self.cfg.encoder)
        self.decoder = ClassificationDecoder.from_config_dict(self.cfg.decoder)
        self.loss = CrossEntropyLoss(label_smoothing=float(self.cfg.get("label_smoothing", 0.0)))

    def forward(
        self,
        input_signal: NT[Tensor, "B T_audio", AudioSignal, "float"],
        input_signal_length: NT[Tensor, "B", LengthsType, "int"],
    ) -> NT[Tensor, "B C", LogitsType, "float"]:
        features, frames = self.preprocessor(input_signal=input_signal, length=input_signal_length)
        encoded, encoded_length = self.encoder(audio_signal=features, length=frames)
        return self.decoder(encoder_output=encoded, length=encoded_length)

    def training_step(self, batch: AudioBatch, batch_idx: int) -> Tensor:
        logits = self(input_signal=batch.input_signal, input_signal_length=batch.input_signal_length)
        loss = self.loss(logits=logits, labels=batch.labels)
        self.log("train_loss", loss, prog_bar=True, batch_size=batch.labels.shape[0])
        return loss

    def validation_step(self, batch: AudioBatch, batch_idx: int, dataloader_idx: int = 0) -> dict[str, Tensor]:
        return self._evaluate(batch, "val")

    def test_step(self, batch: AudioBatch, batch_idx: int, dataloader_idx: int = 0) -> dict[str, Tensor]:
        return self._evaluate(batch, "test")

    def _evaluate(self, batch: AudioBatch, prefix: str) -> dict[str, Tensor]:
        logits = self(input_signal=batch.input_signal, input_signal_length=batch.input_signal_length)
        correct = (logits.argmax(dim=-1) == batch.labels).to(torch.float32).mean()
        return {
            f"{prefix}_loss": self.loss(logits=logits, labels=batch.labels),
            f"{prefix}_acc": correct,
            NUM_SAMPLES: torch.tensor(batch.labels.shape[0]),
        }
