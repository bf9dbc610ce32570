"""The training script: overrides on the command line, one example or the other, clear errors."""

import json
from pathlib import Path

import pytest
from neuraltypes_modules.encoders import TransformerEncoder
from neuraltypes_modules.keyword_classifier import KeywordClassifier
from neuraltypes_modules.train import build_config, main
from omegaconf import OmegaConf

from neuraltypes.models import ModelPT


def test_overrides_reach_the_model_the_trainer_and_the_outputs() -> None:
    config = build_config(["model.hidden=256", "trainer.max_epochs=2", "trainer.devices=2", "output_dir=run"])
    model = OmegaConf.create(OmegaConf.to_container(config.model))  # interpolations are relative to the model
    assert model.encoder.hidden == 256  # through the ${hidden} interpolation
    assert model.decoder.feat_in == 256
    assert (config.trainer.max_epochs, config.trainer.devices, config.output_dir) == (2, 2, "run")


def test_the_example_is_chosen_on_the_command_line() -> None:
    config = build_config(["example=text_classifier", "model.encoder.num_layers=2"])
    assert config.model._target_ == "neuraltypes_modules.text_classifier.TextClassifier"
    assert config.model.encoder.num_layers == 2


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        ("example=nope", "error: unknown example 'nope'; choose one of ['keyword_classifier', 'text_classifier']"),
        ("model.hiden=3", "error: cannot apply 'model.hiden=3': the config has no key 'model.hiden'"),
        ("model.hidden=abc", "error: model.hidden=abc: expected an int (the config has 64)\n"),
        (
            "+model.hiden=256",
            "error: cannot apply '+model.hiden=256': KeywordClassifier does not read 'model.hiden'; did you mean "
            "'model.hidden=256'?\n",
        ),
        (
            "+trainer.max_epoch=2",
            "error: cannot apply '+trainer.max_epoch=2': Trainer does not read 'trainer.max_epoch'; did you mean "
            "'trainer.max_epochs=2'?\n",
        ),
        ("--lr=3", "error: unknown option '--lr=3': arguments are overrides such as key=value (see --help)\n"),
    ],
)
def test_a_bad_command_line_is_an_error_message_not_a_traceback(
    argument: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([argument]) == 2
    assert capsys.readouterr().err.startswith(message)


@pytest.mark.parametrize(
    "override",
    [
        "+model.decoder.dropout=0.1",  # ClassificationDecoder takes no dropout
        "+model.preprocessor.n_mel=40",
        "+model.train_ds.dataset.noice=0.3",
        "+model.label_smothing=0.1",
        "+trainer.max_epoch=2",
        "+outputdir=x",
    ],
)
def test_a_key_that_nothing_reads_is_never_stored_in_the_model(override: str) -> None:
    with pytest.raises(ValueError, match=r"does not read|nothing reads"):
        build_config([override])


def test_keys_that_the_model_reads_can_be_added() -> None:
    config = build_config(
        ["+model.encoder.kernel_size=3", "+model.test_ds={dataset:{num_samples:8}}", "+trainer.precision=bf16-mixed"]
    )
    assert config.model.encoder.kernel_size == 3 and config.trainer.precision == "bf16-mixed"
    swapped = build_config(["example=text_classifier", "+model.encoder.dropout=0.1"])
    assert swapped.model.encoder.dropout == 0.1


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_lists_the_keys_with_their_defaults(flag: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([flag]) == 0
    shown = capsys.readouterr().out
    assert shown.startswith("usage: python -m neuraltypes_modules.train [example=NAME]")
    assert "  model.hidden=64\n" in shown and "  trainer.max_epochs=3\n" in shown
    assert main(["example=text_classifier", flag]) == 0
    assert "  model.encoder.num_heads=4\n" in capsys.readouterr().out


@pytest.mark.slow
def test_one_process_training_writes_an_archive_and_metrics(tmp_path: Path) -> None:
    arguments = ["example=text_classifier", "trainer.max_epochs=1", "trainer.enable_progress_bar=false"]
    assert main([*arguments, f"output_dir={tmp_path}", "model.train_ds.dataset.num_samples=64"]) == 0
    assert set(json.loads((tmp_path / "metrics.json").read_text())) == {"train_loss", "val_loss", "val_acc"}
    assert (tmp_path / "model.nta").is_file()


@pytest.mark.slow
def test_the_encoder_is_swapped_by_its_target_on_the_command_line(tmp_path: Path) -> None:
    arguments = [
        "model.encoder._target_=neuraltypes_modules.encoders.TransformerEncoder",
        "model.hidden=16",
        "model.train_ds.dataset.num_samples=32",
        "model.validation_ds.0.dataset.num_samples=16",
        "model.validation_ds.1.dataset.num_samples=16",
        "trainer.max_epochs=1",
        "trainer.enable_progress_bar=false",
        f"output_dir={tmp_path}",
    ]
    assert main(arguments) == 0
    restored = ModelPT.restore_from(tmp_path / "model.nta")
    assert isinstance(restored, KeywordClassifier)
    assert type(restored.encoder) is TransformerEncoder
    assert "noisy_val_acc" in json.loads((tmp_path / "metrics.json").read_text())
