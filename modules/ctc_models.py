"""NeMo's CTC speech recogniser, ``EncDecCTCModel``, reading NeMo's model config unchanged.

``cfg.preprocessor``, ``cfg.spec_augment`` (optional), ``cfg.encoder`` and ``cfg.decoder`` name their classes by
``_target_`` (or Hydra 0.x's ``cls``/``params``); ``cfg.labels`` and ``cfg.sample_rate`` are passed to the
datasets, ``cfg.ctc_reduction`` chooses the loss reduction, ``cfg.use_cer`` makes the metric a character error
rate. The data configs use NeMo's keys (``batch_size``, ``shuffle``, ``num_workers``, ``pin_memory``,
``drop_last``, ``sample_rate``, ``labels``), except that NeMo's manifest datasets are not provided: the dataset
is named under ``dataset:`` by ``_target_`` (``neuraltypes_modules.asr.SyntheticSpeech``, or your own
``TypedDataset`` reading your manifest). See docs/nemo.md.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import lightning.pytorch as pl
import torch
import torch.distributed as dist
from omegaconf import DictConfig, ListConfig, OmegaConf, open_dict
from torch import Tensor
from torch.nn import functional
from torch.utils.data import DataLoader

from neuraltypes import (
    NT,
    AudioSignal,
    LabelsType,
    LengthsType,
    LogprobsType,
    LossType,
    SpectrogramType,
)
from neuraltypes.config import quote, resolve_config
from neuraltypes.models import ModelPT, build_dataloader, dataset_configs
from neuraltypes.nn import NeuralModule

from .speech_data import AudioTextBatch

__all__ = ["CTCLoss", "CTCOutput", "EncDecCTCModel", "ctc_greedy_decode", "error_counts"]

_REDUCTIONS = ("none", "mean", "sum", "mean_batch", "mean_volume")
_LOADER_KEYS = ("batch_size", "shuffle", "num_workers", "pin_memory", "drop_last", "persistent_workers")
#: Keys of NeMo's data configs that configure its manifest datasets; allowed only off (null/false), since the
#: dataset named under ``dataset:`` reads its own data.
_MANIFEST_KEYS = (
    "manifest_filepath",
    "is_tarred",
    "trim_silence",
    "max_duration",
    "min_duration",
    "max_utts",
    "int_values",
    "augmentor",
    "use_lhotse",
    "use_dali",
    "use_semi_sorted_batching",
    "return_sample_id",
    "channel_selector",
)
#: Keys NeMo reads only for tarred datasets; NeMo ignores them otherwise, and so do we.
_TARRED_ONLY_KEYS = (
    "tarred_audio_filepaths",
    "shuffle_n",
    "bucketing_strategy",
    "bucketing_batch_size",
    "bucketing_weights",
)
_MODEL_KEYS = ("sample_rate", "labels")


def _arguments(node: DictConfig) -> DictConfig:
    """The node holding a module config's arguments: itself, or its ``params`` (Hydra 0.x's ``cls``/``params``)."""
    params = node.get("params")
    return params if "_target_" not in node and isinstance(params, DictConfig) else node


class CTCLoss(NeuralModule):
    """NeMo's CTC loss: blank is the last class; ``mean_batch`` averages the per-utterance losses.

    Args:
        num_classes: classes without the blank (the blank's index).
        zero_infinity: zero infinite losses (utterances too short for their transcript).
        reduction: ``mean_batch`` (NeMo's default), ``mean_volume`` (summed over the batch, divided by all target
            tokens), or torch's ``mean``, ``sum``, ``none``.
    """

    def __init__(self, num_classes: int, zero_infinity: bool = False, reduction: str = "mean_batch") -> None:
        super().__init__()
        if reduction not in _REDUCTIONS:
            raise ValueError(f"CTCLoss: reduction must be one of {list(_REDUCTIONS)}, got {reduction!r}")
        self.blank = num_classes
        self.zero_infinity = zero_infinity
        self.reduction = reduction

    def forward(
        self,
        log_probs: NT[Tensor, "B T D", LogprobsType, "float"],
        targets: NT[Tensor, "B T_target", LabelsType, "int"],
        input_lengths: NT[Tensor, "B", LengthsType, "int"],
        target_lengths: NT[Tensor, "B", LengthsType, "int"],
    ) -> NT[Tensor, "...", LossType, "float"]:
        torch_reduction = "none" if self.reduction in ("mean_batch", "mean_volume") else self.reduction
        losses = functional.ctc_loss(
            log_probs.transpose(0, 1),
            targets.long(),
            input_lengths.long(),
            target_lengths.long(),
            blank=self.blank,
            reduction=torch_reduction,
            zero_infinity=self.zero_infinity,
        )
        if self.reduction == "mean_batch":
            return losses.mean()
        if self.reduction == "mean_volume":
            return losses.sum() / max(int(target_lengths.sum()), 1)
        return losses


def ctc_greedy_decode(log_probs: Tensor, lengths: Tensor, blank: int) -> list[list[int]]:
    """Each utterance's best path: argmax per frame, repeats merged, blanks dropped."""
    best = log_probs.argmax(dim=-1).tolist()
    paths = []
    for row, length in zip(best, lengths.tolist(), strict=True):
        path, previous = [], blank
        for token in row[:length]:
            if token != previous and token != blank:
                path.append(token)
            previous = token
        paths.append(path)
    return paths


def _edit_distance(hypothesis: Sequence[str], reference: Sequence[str]) -> int:
    row = list(range(len(reference) + 1))
    for i, word in enumerate(hypothesis, start=1):
        previous, row[0] = row[0], i
        for j, target in enumerate(reference, start=1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (word != target))
    return row[-1]


def error_counts(hypotheses: Sequence[str], references: Sequence[str], use_cer: bool = False) -> tuple[int, int]:
    """Word (or character) edits from the hypotheses to the references, and the references' words (characters)."""
    errors = words = 0
    for hypothesis, reference in zip(hypotheses, references, strict=True):
        hyp, ref = (list(hypothesis), list(reference)) if use_cer else (hypothesis.split(), reference.split())
        errors += _edit_distance(hyp, ref)
        words += len(ref)
    return errors, words


def _summed(values: list[Tensor], device: torch.device) -> Tensor:
    """The sum over steps and processes (every process must call this, even with no steps)."""
    total = torch.stack(values).sum(dim=0).to(device, torch.float64) if values else torch.zeros(2, device=device)
    if dist.is_available() and dist.is_initialized():
        dist.all_reduce(total, op=dist.ReduceOp.SUM)
    return total


class CTCOutput(NamedTuple):
    """Per-frame log-probabilities over the labels and the blank, their lengths, and the argmax per frame."""

    outputs: NT[Tensor, "B T_enc C", LogprobsType, "float"]
    encoded_lengths: NT[Tensor, "B", LengthsType, "int"]
    greedy_predictions: NT[Tensor, "B T_enc", LabelsType, "int"]


class EncDecCTCModel(ModelPT):
    """Preprocessor, optional spectrogram augmentation, encoder and CTC decoder, trained with CTC loss and
    validated by word error rate: ``nemo.collections.asr.models.EncDecCTCModel``, built from NeMo's config.

    As in NeMo, ``cfg.decoder.feat_in`` is filled from the encoder's output size when missing or 0, and
    ``cfg.decoder.num_classes`` from the vocabulary when below 1. The training step returns NeMo's
    ``{"loss": ..., "log": {...}}``, the validation step appends NeMo's metrics to
    ``validation_step_outputs``, and the epoch end logs ``val_loss`` and ``val_wer`` (``test_*`` for test).
    """

    config_keys = ModelPT.config_keys | {
        "preprocessor",
        "spec_augment",
        "encoder",
        "decoder",
        "labels",
        "sample_rate",
        "ctc_reduction",
        "use_cer",
    }

    def __init__(self, cfg: Mapping[str, Any] | DictConfig, trainer: pl.Trainer | None = None) -> None:
        super().__init__(cfg, trainer)
        self.preprocessor = NeuralModule.from_config_dict(self.cfg.preprocessor)
        self.encoder = NeuralModule.from_config_dict(self.cfg.encoder)
        decoder = _arguments(self.cfg.decoder)
        with open_dict(decoder):
            if not decoder.get("feat_in"):
                decoder.feat_in = int(getattr(self.encoder, "_feat_out", 0)) or None
            if decoder.feat_in is None:
                raise ValueError("cfg.decoder.feat_in is not set, and the encoder does not say its output size")
            vocabulary = decoder.get("vocabulary")
            if decoder.get("num_classes", 0) < 1 and vocabulary is not None:
                decoder.num_classes = len(vocabulary)
        self.decoder = NeuralModule.from_config_dict(self.cfg.decoder)
        classes = int(getattr(self.decoder, "num_classes_with_blank", 0))
        if classes < 2:
            raise TypeError(f"cfg.decoder built a {type(self.decoder).__name__}, which has no num_classes_with_blank")
        reduction = str(self.cfg.get("ctc_reduction", "mean_batch"))
        self.loss = CTCLoss(num_classes=classes - 1, zero_infinity=True, reduction=reduction)
        spec_augment = self.cfg.get("spec_augment")
        self.spec_augmentation = None if spec_augment is None else NeuralModule.from_config_dict(spec_augment)

    @property
    def vocabulary(self) -> list[str]:
        """The labels the decoder's classes stand for (the blank, last, is not among them)."""
        labels = getattr(self.decoder, "vocabulary", None) or self.cfg.get("labels") or []
        return [str(label) for label in labels]

    # -- data: NeMo's ASR data configs ---------------------------------------------------------------------

    def setup_training_data(self, train_data_config: object) -> None:
        """Build the training dataloader from a NeMo ASR data config (shuffled unless it says otherwise)."""
        self._update_dataset_config("train", train_data_config)
        self._train_dl = self._setup_dataloader_from_config(train_data_config, "train_ds", shuffle=True)

    def setup_validation_data(self, val_data_config: object) -> None:
        """Build one validation dataloader from a NeMo ASR data config (several: ``setup_multiple_validation_data``)."""
        self._update_dataset_config("validation", val_data_config)
        self._validation_dl = self._setup_dataloader_from_config(val_data_config, "validation_ds", shuffle=False)

    def setup_test_data(self, test_data_config: object) -> None:
        """Build one test dataloader from a NeMo ASR data config (several: ``setup_multiple_test_data``)."""
        self._update_dataset_config("test", test_data_config)
        self._test_dl = self._setup_dataloader_from_config(test_data_config, "test_ds", shuffle=False)

    def _setup_dataloader_from_config(self, config: object, where: str, *, shuffle: bool) -> DataLoader[Any] | None:
        """A DataLoader for NeMo's data config, or None (with a warning, as NeMo) for ``manifest_filepath: null``
        and no dataset.

        Raises:
            ValueError: a manifest dataset is asked for, or ``sample_rate``/``labels`` differ from the model's.
        """
        plain = resolve_config(config, allow_resolvers=True) if config is not None else None
        if not isinstance(plain, dict):
            raise TypeError(f"{where} must be a mapping, got {type(plain).__name__}")
        if "dataset" not in plain and plain.get("manifest_filepath", "absent") is None:
            warnings.warn(f"{where}: manifest_filepath is null and no dataset is named: no dataloader", stacklevel=3)
            return None
        self._refuse_manifest_keys(plain, where)
        if "dataset" not in plain:
            raise ValueError(
                f"{where} names no dataset: NeMo's manifest datasets (manifest_filepath) are not provided; name the "
                "dataset class under 'dataset:' by _target_ (neuraltypes_modules.asr.SyntheticSpeech, or your own "
                "TypedDataset that reads your manifest)"
            )
        dataset = dict(plain["dataset"])
        for key in _MODEL_KEYS:
            value = self._model_value(plain, key, where)
            if value is not None and dataset.setdefault(key, value) != value:
                raise ValueError(f"{where}.dataset.{key} differs from the model's {key}; give it once")
        ours = {"dataset": dataset, **{key: plain[key] for key in _LOADER_KEYS if key in plain}}
        unknown = sorted(
            set(plain) - {"dataset", "name", *_LOADER_KEYS, *_MODEL_KEYS, *_MANIFEST_KEYS, *_TARRED_ONLY_KEYS}
        )
        if unknown:
            raise ValueError(f"{where} has unknown keys {unknown}")
        ((_, checked),) = dataset_configs(quote(ours), where, "data", single=True)  # resolved already: data
        return build_dataloader(checked, where, shuffle=shuffle)

    @staticmethod
    def _refuse_manifest_keys(plain: dict[str, Any], where: str) -> None:
        for key in _MANIFEST_KEYS:
            if plain.get(key) not in (None, False):
                raise ValueError(
                    f"{where}.{key}={plain[key]!r}: NeMo's manifest datasets are not provided, so {key} would change "
                    "nothing; set it to null (or remove it) and name the dataset under 'dataset:' by _target_"
                )

    def _model_value(self, plain: dict[str, Any], key: str, where: str) -> Any:
        """NeMo's rule: the model's ``sample_rate``/``labels`` go to the data unless the data config sets them;
        here a data config that sets another value is refused (NeMo warns and keeps the data's)."""
        model_value = self.cfg.get(key)
        if isinstance(model_value, ListConfig):
            model_value = OmegaConf.to_container(model_value, resolve=True)
        value = plain.get(key)
        if value is not None and model_value is not None and value != model_value:
            raise ValueError(f"{where}.{key} differs from the model's {key} ({value!r} vs {model_value!r})")
        return model_value if value is None else value

    # -- model ---------------------------------------------------------------------------------------------

    def forward(
        self,
        input_signal: NT[Tensor, "B T_audio", AudioSignal, "float"] | None = None,
        input_signal_length: NT[Tensor, "B", LengthsType, "int"] | None = None,
        processed_signal: NT[Tensor, "B D T", SpectrogramType, "float"] | None = None,
        processed_signal_length: NT[Tensor, "B", LengthsType, "int"] | None = None,
    ) -> CTCOutput:
        has_input = input_signal is not None and input_signal_length is not None
        has_processed = processed_signal is not None and processed_signal_length is not None
        if has_input == has_processed:
            raise ValueError(
                f"{type(self).__qualname__}: give input_signal and input_signal_length, or processed_signal and "
                "processed_signal_length (one pair, not both)"
            )
        if not has_processed:
            processed_signal, processed_signal_length = self.preprocessor(
                input_signal=input_signal, length=input_signal_length
            )
        if self.spec_augmentation is not None and self.training:
            processed_signal = self.spec_augmentation(input_spec=processed_signal, length=processed_signal_length)
        encoded, encoded_len = self.encoder(audio_signal=processed_signal, length=processed_signal_length)
        log_probs = self.decoder(encoder_output=encoded)
        return CTCOutput(log_probs, encoded_len, log_probs.argmax(dim=-1))

    def transcribe(self, audio: Tensor | Sequence[Tensor], batch_size: int = 4) -> list[str]:
        """Greedy transcripts of waveforms (1-D tensors at ``cfg.sample_rate``, or a padded batch).

        NeMo's ``transcribe`` also reads audio files; reading files is not provided (decode them to tensors).
        """
        signals = list(audio) if not isinstance(audio, Tensor) or audio.dim() == 2 else [audio]
        texts: list[str] = []
        was_training = self.training
        self.eval()
        try:
            with torch.no_grad():
                for start in range(0, len(signals), batch_size):
                    chunk = signals[start : start + batch_size]
                    lengths = torch.tensor([signal.shape[0] for signal in chunk], dtype=torch.int64)
                    batch = torch.zeros(len(chunk), int(lengths.max()))
                    for row, signal in enumerate(chunk):
                        batch[row, : signal.shape[0]] = signal
                    texts += self._decode(*self(input_signal=batch, input_signal_length=lengths)[:2])
        finally:
            self.train(was_training)
        return texts

    def _decode(self, log_probs: Tensor, lengths: Tensor) -> list[str]:
        labels = self.vocabulary
        blank = log_probs.shape[-1] - 1
        return ["".join(labels[token] for token in path) for path in ctc_greedy_decode(log_probs, lengths, blank)]

    # -- steps ---------------------------------------------------------------------------------------------

    def training_step(self, batch: AudioTextBatch, batch_nb: int) -> dict[str, Any]:
        signal, signal_len, transcript, transcript_len = batch
        log_probs, encoded_len, _ = self(input_signal=signal, input_signal_length=signal_len)
        loss = self.loss(
            log_probs=log_probs, targets=transcript, input_lengths=encoded_len, target_lengths=transcript_len
        )
        learning_rate = self.trainer.optimizers[0].param_groups[0]["lr"] if self.trainer.optimizers else 0.0
        return {"loss": loss, "log": {"train_loss": loss.detach(), "learning_rate": float(learning_rate)}}

    def validation_pass(self, batch: AudioTextBatch, batch_idx: int, dataloader_idx: int = 0) -> dict[str, Tensor]:
        """Loss and word-error counts of one batch (NeMo's ``val_loss``, ``val_wer_num``, ``val_wer_denom``)."""
        signal, signal_len, transcript, transcript_len = batch
        log_probs, encoded_len, _ = self(input_signal=signal, input_signal_length=signal_len)
        loss = self.loss(
            log_probs=log_probs, targets=transcript, input_lengths=encoded_len, target_lengths=transcript_len
        )
        labels = self.vocabulary
        references = [
            "".join(labels[int(t)] for t in row[:length])
            for row, length in zip(transcript, transcript_len.tolist(), strict=True)
        ]
        errors, words = error_counts(self._decode(log_probs, encoded_len), references, bool(self.cfg.get("use_cer")))
        return {
            "val_loss": loss.detach(),
            "val_wer_num": torch.tensor(float(errors)),
            "val_wer_denom": torch.tensor(float(words)),
            "val_wer": torch.tensor(errors / max(words, 1)),
        }

    def validation_step(self, batch: AudioTextBatch, batch_idx: int, dataloader_idx: int = 0) -> dict[str, Tensor]:
        metrics = self.validation_pass(batch, batch_idx, dataloader_idx)
        if len(self.val_dataloader()) > 1:
            self.validation_step_outputs[dataloader_idx].append(metrics)
        else:
            self.validation_step_outputs.append(metrics)
        return metrics

    def test_step(self, batch: AudioTextBatch, batch_idx: int, dataloader_idx: int = 0) -> dict[str, Tensor]:
        logs = self.validation_pass(batch, batch_idx, dataloader_idx)
        test_logs = {name.replace("val_", "test_"): value for name, value in logs.items()}
        if len(self.test_dataloader()) > 1:
            self.test_step_outputs[dataloader_idx].append(test_logs)
        else:
            self.test_step_outputs.append(test_logs)
        return test_logs

    def multi_validation_epoch_end(self, outputs: Sequence[Mapping[str, Any]], dataloader_idx: int = 0) -> Any:
        return self._epoch_metrics(outputs, "val")

    def multi_test_epoch_end(self, outputs: Sequence[Mapping[str, Any]], dataloader_idx: int = 0) -> Any:
        return self._epoch_metrics(outputs, "test")

    def _epoch_metrics(self, outputs: Sequence[Mapping[str, Any]], prefix: str) -> dict[str, Any]:
        """NeMo's result: the mean loss and the WER of all the loader's batches, over every process."""
        steps = [
            torch.stack([o[f"{prefix}_loss"].double().cpu(), torch.tensor(1.0, dtype=torch.float64)]) for o in outputs
        ]
        loss_sum, step_count = _summed(steps, self.device).tolist()
        counts = [torch.stack([o[f"{prefix}_wer_num"], o[f"{prefix}_wer_denom"]]).double().cpu() for o in outputs]
        errors, words = _summed(counts, self.device).tolist()
        loss = torch.tensor(loss_sum / max(step_count, 1.0))
        logs = {f"{prefix}_loss": loss, f"{prefix}_wer": torch.tensor(errors / max(words, 1.0))}
        return {f"{prefix}_loss": loss, "log": logs}
