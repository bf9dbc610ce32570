"""Default configs of the example models, as plain dicts (the training script's starting point).

The encoder and decoder widths follow ``hidden`` through interpolation, so ``model.hidden=256`` on the
command line changes the whole model consistently. Every module's config names its class by ``_target_``,
so the training script can tell which keys each one reads (``+model.decoder.dropout=0.1`` is refused,
``+model.encoder.kernel_size=3`` is not).
"""

from typing import Any

__all__ = ["keyword_classifier_config", "text_classifier_config", "training_config"]

_PACKAGE = __name__.rpartition(".")[0]


def _dataset(target: str, name: str | None, batch_size: int, shuffle: bool, **arguments: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "dataset": {"_target_": f"{_PACKAGE}.data.{target}", **arguments},
        "batch_size": batch_size,
        "shuffle": shuffle,
        "num_workers": 0,
    }
    if name is not None:
        config["name"] = name
    return config


def keyword_classifier_config(encoder: str = "ConvEncoder", train_samples: int = 384) -> dict[str, Any]:
    """The keyword classifier on synthetic clips, validated on a clean and a noisy set."""
    sample_rate, n_mels, classes = 8000, 32, 4
    keywords = {"num_classes": classes, "sample_rate": sample_rate}
    return {
        "_target_": f"{_PACKAGE}.keyword_classifier.KeywordClassifier",
        "hidden": 64,
        "label_smoothing": 0.0,
        "preprocessor": {
            "_target_": f"{_PACKAGE}.preprocessing.AudioToMelSpectrogram",
            "sample_rate": sample_rate,
            "n_fft": 256,
            "hop_length": 80,
            "n_mels": n_mels,
        },
        "encoder": {
            "_target_": f"{_PACKAGE}.encoders.{encoder}",
            "feat_in": "${preprocessor.n_mels}",
            "hidden": "${hidden}",
            "num_layers": 2,
        },
        "decoder": {
            "_target_": f"{_PACKAGE}.decoders.ClassificationDecoder",
            "feat_in": "${hidden}",
            "num_classes": classes,
        },
        "train_ds": _dataset(
            "SyntheticKeywords", None, 32, True, num_samples=train_samples, noise=0.1, seed=0, **keywords
        ),
        "validation_ds": [
            _dataset("SyntheticKeywords", "clean", 64, False, num_samples=128, noise=0.05, seed=1, **keywords),
            _dataset("SyntheticKeywords", "noisy", 64, False, num_samples=128, noise=0.5, seed=2, **keywords),
        ],
        "optim": {
            "name": "adamw",
            "lr": 3e-3,
            "weight_decay": 1e-4,
            "sched": {"_target_": "torch.optim.lr_scheduler.OneCycleLR", "max_lr": 3e-3, "total_steps": "auto"},
        },
    }


def text_classifier_config(train_samples: int = 512) -> dict[str, Any]:
    """The topic classifier on synthetic token sequences."""
    vocab, classes = 100, 3
    topics = {"num_classes": classes, "vocab_size": vocab}
    return {
        "_target_": f"{_PACKAGE}.text_classifier.TextClassifier",
        "hidden": 32,
        "encoder": {
            "_target_": f"{_PACKAGE}.text.TextEncoder",
            "vocab_size": vocab,
            "hidden": "${hidden}",
            "num_layers": 1,
            "num_heads": 4,
            "max_length": 64,
        },
        "decoder": {
            "_target_": f"{_PACKAGE}.decoders.ClassificationDecoder",
            "feat_in": "${hidden}",
            "num_classes": classes,
        },
        "train_ds": _dataset("SyntheticTopics", None, 32, True, num_samples=train_samples, seed=0, **topics),
        "validation_ds": _dataset("SyntheticTopics", "val", 64, False, num_samples=128, seed=1, **topics),
        "optim": {"name": "adamw", "lr": 3e-3},
    }


def training_config(model: dict[str, Any]) -> dict[str, Any]:
    """A training run: the model config, Lightning ``Trainer`` arguments, and where outputs go."""
    return {
        "model": model,
        "trainer": {
            "max_epochs": 3,
            "accelerator": "cpu",
            "devices": 1,
            "strategy": "auto",
            "log_every_n_steps": 4,
            "enable_checkpointing": False,
            "enable_progress_bar": True,
            "logger": False,
            "num_sanity_val_steps": 0,
        },
        "seed": 0,
        "output_dir": "outputs",
        "archive_name": "model.nta",
    }
