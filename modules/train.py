"""Train an example model with Hydra-style overrides, on one process or several (DDP).

``python -m neuraltypes_modules.train [example=keyword_classifier|text_classifier] [key=value ...]``, e.g.
``python -m neuraltypes_modules.train model.hidden=256 trainer.max_epochs=2 trainer.devices=2``. Keys are
those of :func:`~neuraltypes_modules.configs.training_config`: ``model.*`` (the model config), ``trainer.*``
(Lightning ``Trainer`` arguments), ``output_dir``, ``archive_name``, ``seed``; ``--help`` lists them with
their defaults. A key that nothing reads and a value of the wrong type are refused (see
:func:`neuraltypes.config.apply_overrides`). The trained model is saved as an archive (by rank 0 only) and the
final metrics as ``metrics.json`` in ``output_dir``.
"""

import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
from omegaconf import DictConfig, OmegaConf

from neuraltypes.config import ConfigReader, config_from_cli
from neuraltypes.models import ModelPT

# The example models' code, imported as any training script imports its model: a config imports nothing.
from . import keyword_classifier as keyword_classifier
from . import text_classifier as text_classifier
from .configs import keyword_classifier_config, text_classifier_config, training_config

__all__ = ["EXAMPLES", "READERS", "build_config", "main", "usage"]

#: The example models, by the name given as ``example=...``.
EXAMPLES: dict[str, Callable[[], dict[str, Any]]] = {
    "keyword_classifier": keyword_classifier_config,
    "text_classifier": text_classifier_config,
}


#: What reads the sections of the training config that name no ``_target_``: this script reads the root's own
#: keys only, Lightning's ``Trainer`` the ``trainer`` section (the model's sections name their classes).
READERS: dict[str, ConfigReader] = {"": frozenset(), "trainer": pl.Trainer}

_HELP = ("-h", "--help")


def _example_of(argv: Sequence[str]) -> tuple[str, list[str]]:
    """The example named by ``example=...`` (the keyword classifier by default) and the other arguments.

    Raises:
        ValueError: an unknown example name.
    """
    example, rest = "keyword_classifier", []
    for argument in argv:
        if argument.startswith("example="):
            example = argument.partition("=")[2]
        else:
            rest.append(argument)
    if example not in EXAMPLES:
        raise ValueError(f"unknown example {example!r}; choose one of {sorted(EXAMPLES)}")
    return example, rest


def build_config(argv: Sequence[str]) -> DictConfig:
    """The run's config: the chosen example's defaults with the command line's overrides applied.

    Raises:
        ValueError: an unknown example name.
        ConfigOverrideError: an override that does not parse, names no existing key (without ``+``), adds a
            key that nothing reads, or gives a value of the wrong type.
    """
    example, overrides = _example_of(argv)
    return config_from_cli(training_config(EXAMPLES[example]()), overrides, readers=READERS)


def _flat(node: object, prefix: str) -> list[str]:
    if isinstance(node, dict):
        return [line for key, value in node.items() for line in _flat(value, f"{prefix}{key}.")]
    if isinstance(node, list):
        return [line for index, value in enumerate(node) for line in _flat(value, f"{prefix}{index}.")]
    return [f"  {prefix[:-1]}={'null' if node is None else node}"]


def usage(example: str = "keyword_classifier") -> str:
    """The ``--help`` text: how to call the script, and every key of ``example``'s config with its default."""
    return "\n".join(
        [
            "usage: python -m neuraltypes_modules.train [example=NAME] [key=value | +key=value | ~key ...]",
            "",
            "Train an example model, save it as an archive and its final metrics as metrics.json in output_dir.",
            f"Examples (example=NAME): {', '.join(EXAMPLES)}. Overrides use Hydra's syntax: key=value changes a",
            "key, +key=value adds one that the model or trainer reads, ~key deletes one. For instance:",
            "  python -m neuraltypes_modules.train model.hidden=256 trainer.max_epochs=2 trainer.devices=2",
            "",
            f"Keys of example={example}, with their defaults:",
            *_flat(training_config(EXAMPLES[example]()), ""),
        ]
    )


def _trainer_arguments(config: DictConfig) -> dict[str, Any]:
    arguments = OmegaConf.to_container(config.trainer, resolve=True)
    assert isinstance(arguments, dict)
    return {str(key): value for key, value in arguments.items()}


def main(argv: Sequence[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else list(argv)
    try:
        if any(argument in _HELP for argument in arguments):
            print(usage(_example_of(arguments)[0]))
            return 0
        options = [argument for argument in arguments if argument.startswith("-")]
        if options:
            raise ValueError(f"unknown option {options[0]!r}: arguments are overrides such as key=value (see --help)")
        config = build_config(arguments)
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
