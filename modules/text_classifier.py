"""Example model: topic classification of token sequences (text encoder, classifier head)."""

from collections.abc import Mapping
from typing import Any

import lightning.pytorch as pl
import torch
from omegaconf import DictConfig
from torch import Tensor

from neuraltypes import NT, LengthsType, LogitsType, TokenIndex
from neuraltypes.models import NUM_SAMPLES, ModelPT

from .data import TextBatch
from .decoders import ClassificationDecoder
from .losses import CrossEntropyLoss
from .text import TextEncoder

__all__ = ["TextClassifier"]


class TextClassifier(ModelPT):
    """Token indices in, one logit per class out. ``cfg`` holds ``encoder`` and ``decoder`` configs."""

    config_keys = ModelPT.config_keys | {"hidden", "encoder", "decoder"}

    def __init__(self, cfg: Mapping[str, Any] | DictConfig, trainer: pl.Trainer | None = None) -> None:
        super().__init__(cfg, trainer)
        self.encoder = TextEncoder.from_config_dict(self.cfg.encoder)
        self.decoder = ClassificationDecoder.from_config_dict(self.cfg.decoder)
        self.loss = CrossEntropyLoss()

    def forward(
        self, tokens: NT[Tensor, "B T", TokenIndex, "int"], length: NT[Tensor, "B", LengthsType, "int"]
    ) -> NT[Tensor, "B C", LogitsType, "float"]:
        encoded, encoded_length = self.encoder(tokens=tokens, length=length)
        return self.decoder(encoder_output=encoded, length=encoded_length)

    def training_step(self, batch: TextBatch, batch_idx: int) -> Tensor:
        loss = self.loss(logits=self(tokens=batch.tokens, length=batch.length), labels=batch.labels)
        self.log("train_loss", loss, prog_bar=True, batch_size=batch.labels.shape[0])
        return loss

    def validation_step(self, batch: TextBatch, batch_idx: int, dataloader_idx: int = 0) -> dict[str, Tensor]:
        logits = self(tokens=batch.tokens, length=batch.length)
        return {
            "val_loss": self.loss(logits=logits, labels=batch.labels),
            "val_acc": (logits.argmax(dim=-1) == batch.labels).to(torch.float32).mean(),
            NUM_SAMPLES: torch.tensor(batch.labels.shape[0]),
        }
