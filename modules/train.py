"""Train an example model with Hydra-style overrides, on one process or several (DDP).

``python -m neuraltypes_modules.train [example=keyword_classifier|text_classifier] [key=value ...]``, e.g.
``python -m neuraltypes_modules.train model.hidden=256 trainer.max_epochs=2 trainer.devices=2``. Keys are
those of :func:`~neuraltypes_modules.configs.training_config`: ``model.*`` (the model config), ``trainer.*``
(Lightning ``Trainer`` arguments), ``output_dir``, ``archive_name``, ``seed``. The trained model is saved as
an archive (by rank 0 only) and the final metrics as ``metrics.json`` in ``output_dir``.
"""

import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
from omegaconf import DictConfig, OmegaConf

from neuraltypes.config import config_from_cli
from neuraltypes.models import ModelPT

# The example models' code, imported as any training script imports its model: a config imports nothing.
from . import keyword_classifier as keyword_classifier
from . import text_classifier as text_classifier
from .configs import keyword_classifier_config, text_classifier_config, training_config

__all__ = ["EXAMPLES", "build_config", "main"]

#: The example models, by the name given as ``example=...``.
EXAMPLES: dict[str, Callable[[], dict[str, Any]]] = {
    "keyword_classifier": keyword_classifier_config,
    "text_classifier": text_classifier_config,
}


def build_config(argv: Sequence[str]) -> DictConfig:
    """The run's config: the chosen example's defaults with the command line's overrides applied.

    Raises:
        ValueError: an unknown example name.
        ConfigOverrideError: an override that does not parse or names no existing key (without ``+``).
    """
    example, overrides = "keyword_classifier", []
    for argument in argv:
        if argument.startswith("example="):
            example = argument.partition("=")[2]
        else:
            overrides.append(argument)
    if example not in EXAMPLES:
        raise ValueError(f"unknown example {example!r}; choose one of {sorted(EXAMPLES)}")
    return config_from_cli(training_config(EXAMPLES[example]()), overrides)


def _trainer_arguments(config: DictConfig) -> dict[str, Any]:
    arguments = OmegaConf.to_container(config.trainer, resolve=True)
    assert isinstance(arguments, dict)
    return {str(key): value for key, value in arguments.items()}


def main(argv: Sequence[str] | None = None) -> int:
    try:
        config = build_config(sys.argv[1:] if argv is None else argv)
    except ValueError as error:  # an unknown example or a bad override: say so, without a traceback
        print(f"error: {error}", file=sys.stderr)
        return 2
    output_dir = Path(str(config.output_dir))
    output_dir.mkdir(parents=True, exist_ok=True)
    pl.seed_everything(int(config.seed), verbose=False)
    trainer = pl.Trainer(**_trainer_arguments(config), default_root_dir=output_dir)
    model = ModelPT.from_config_dict(config.model, allow_resolvers=True)  # the user's own config and overrides
    trainer.fit(model)
    archive = output_dir / str(config.archive_name)
    model.save_to(archive)
    if trainer.is_global_zero:
        metrics = {key: float(value) for key, value in sorted(trainer.callback_metrics.items())}
        (output_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
        print(f"trained {type(model).__name__} on {trainer.world_size} process(es); saved {archive}")
        print("\n".join(f"  {key}: {value:.4f}" for key, value in metrics.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
