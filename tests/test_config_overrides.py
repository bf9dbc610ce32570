"""Hydra-style command-line overrides applied to a script's config."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from neuraltypes.config import ConfigOverrideError, apply_overrides, config_from_cli

BASE = {"model": {"hidden": 256, "dropout": 0.1, "encoder": {"layers": 2}}, "trainer": {"max_epochs": 1}}


@dataclasses.dataclass
class TrainerConfig:
    max_epochs: int = 1
    precision: str = "32"


def test_values_are_changed_with_their_types() -> None:
    config = apply_overrides(BASE, ["model.hidden=512", "trainer.max_epochs=3", "model.dropout=1e-3"])
    assert config.model.hidden == 512 and config.trainer.max_epochs == 3 and config.model.dropout == 0.001
    assert isinstance(config.model.hidden, int) and isinstance(config.model.dropout, float)


def test_the_input_config_is_left_untouched() -> None:
    original = OmegaConf.create(BASE)
    apply_overrides(original, ["model.hidden=1"])
    assert original.model.hidden == 256


def test_plus_adds_plus_plus_adds_or_changes_tilde_deletes() -> None:
    config = apply_overrides(
        BASE, ["+trainer.seed=7", "++model.hidden=64", "++model.name=big", "~model.dropout", "~trainer.max_epochs=1"]
    )
    assert OmegaConf.to_container(config) == {
        "model": {"hidden": 64, "encoder": {"layers": 2}, "name": "big"},
        "trainer": {"seed": 7},
    }


def test_lists_mappings_null_and_interpolations() -> None:
    config = apply_overrides(
        BASE, ["model.encoder={kernel:3}", "+model.sizes=[1,2]", "model.dropout=null", "+model.width=${model.hidden}"]
    )
    assert config.model.encoder == {"layers": 2, "kernel": 3}
    assert config.model.sizes == [1, 2] and config.model.dropout is None and config.model.width == 256


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            "model.width=3",
            "cannot apply 'model.width=3': the config has no key 'model.width' (to add one, write '+model.width=3')",
        ),
        (
            "model.hiden=3",
            "cannot apply 'model.hiden=3': the config has no key 'model.hiden'; did you mean 'model.hidden=3'?",
        ),
        (
            "model.hidden.x=3",
            "cannot apply 'model.hidden.x=3': the config has no key 'model.hidden.x' (to add one, "
            "write '+model.hidden.x=3')",
        ),
        (
            "+model.hidden=1",
            "cannot apply '+model.hidden=1': 'model.hidden' already exists; drop the '+' to change "
            "it, or write '++model.hidden=1'",
        ),
        ("~model.nope", "cannot apply '~model.nope': there is no 'model.nope' to delete"),
        ("~model.hidden=3", "cannot apply '~model.hidden=3': 'model.hidden' is 256, not 3"),
        ("model.hidden=1,2", "override 'model.hidden=1,2' is a sweep, which needs Hydra's --multirun"),
        ("model@pkg=x", "override 'model@pkg=x' names a config group package (@)"),
    ],
)
def test_bad_overrides_are_reported_by_name(override: str, message: str) -> None:
    with pytest.raises(ConfigOverrideError) as caught:
        apply_overrides(BASE, [override])
    assert str(caught.value) == message


def test_unparsable_overrides_are_reported() -> None:
    with pytest.raises(ConfigOverrideError, match=r"^cannot parse override: .*a b"):
        apply_overrides(BASE, ["a b"])
    assert issubclass(ConfigOverrideError, ValueError)


def test_structured_defaults_keep_their_types() -> None:
    config = apply_overrides(TrainerConfig, ["max_epochs=4"])
    assert config.max_epochs == 4
    with pytest.raises(ConfigOverrideError, match=r"^cannot apply 'max_epochs=many': "):
        apply_overrides(TrainerConfig, ["max_epochs=many"])


def test_config_from_cli_reads_sys_argv(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["train.py", "model.hidden=512", "trainer.max_epochs=3"])
    config = config_from_cli(BASE)
    assert (config.model.hidden, config.trainer.max_epochs) == (512, 3)


def test_config_from_cli_loads_a_yaml_file(tmp_path: Path) -> None:
    path = tmp_path / "train.yaml"
    path.write_text("model:\n  hidden: 8\n")
    assert config_from_cli(path, ["model.hidden=9"]).model.hidden == 9
    assert config_from_cli(str(path), []).model.hidden == 8


def test_keys_are_found_without_evaluating_interpolations() -> None:
    base = {"data": "${oc.env:NEURALTYPES_TEST_UNSET_VARIABLE}", "layers": [1, {"width": 2}]}
    config = apply_overrides(base, ["data=/tmp/x", "layers.1.width=5", "+layers.1.depth=3"])
    assert OmegaConf.to_container(config) == {"data": "/tmp/x", "layers": [1, {"width": 5, "depth": 3}]}
    untouched = apply_overrides(base, ["+seed=1"])
    assert OmegaConf.to_container(untouched, resolve=False) == {**base, "seed": 1}


# -- keys that nothing reads, values of the wrong type --------------------------------------------------------


class Encoder:
    """A config target: it reads exactly its parameters."""

    def __init__(
        self, feat_in: int, hidden: int = 64, dropout: float = 0.0, act: str | None = None, steps: int = 1
    ) -> None: ...


class Loose:
    """A target that takes any keyword."""

    def __init__(self, **settings: object) -> None: ...


class WholeConfig:
    """A target built from its whole config as one mapping, which lists the keys it reads (as ``ModelPT``)."""

    config_keys = frozenset({"hidden", "encoder", "extra"})

    def __init__(self, cfg: object) -> None: ...


def _target(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


TARGETED = {
    "model": {
        "_target_": _target(WholeConfig),
        "hidden": 64,
        "encoder": {"_target_": _target(Encoder), "feat_in": 80, "hidden": "${hidden}", "steps": "auto"},
        "loose": {"_target_": _target(Loose), "a": 1},
        "data": {"batch_size": 8},
    },
    "trainer": {"max_epochs": 1, "devices": 1},
    "seed": 0,
    "name": "run",
}


def _trainer(max_epochs: int | None = None, devices: list[int] | str | int = "auto", precision: str = "32") -> None:
    """Stands for Lightning's Trainer: the script names it as the reader of ``trainer``."""


READERS = {"": (), "trainer": _trainer}


@pytest.fixture(autouse=False)
def allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test's classes as allowlisted targets (as NeuralModule subclasses are)."""
    for cls in (Encoder, Loose, WholeConfig):
        monkeypatch.setattr(cls, "__neuraltypes_instantiable__", True, raising=False)


@pytest.mark.usefixtures("allowed")
@pytest.mark.parametrize(
    "override",
    [
        "+model.encoder.dropout=0.1",  # a parameter of the target's constructor
        "+model.loose.anything=1",  # a target taking **kwargs
        "+model.extra=[1,2]",  # listed in the target's config_keys
        "+model.data.num_workers=2",  # a mapping without a reader: its reading code checks its own keys
        "+trainer.precision=16",  # the reader the script names for the section
        "model.encoder={dropout:0.5}",  # merged into a mapping
    ],
)
def test_a_new_key_that_its_reader_reads_is_added(override: str) -> None:
    config = apply_overrides(TARGETED, [override], readers=READERS)
    assert OmegaConf.to_container(config) != TARGETED


@pytest.mark.usefixtures("allowed")
@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            "+model.hiden=256",
            "cannot apply '+model.hiden=256': WholeConfig does not read 'model.hiden'; did you mean "
            "'model.hidden=256'?",
        ),
        (
            "++model.hiden=256",
            "cannot apply '++model.hiden=256': WholeConfig does not read 'model.hiden'; did you mean "
            "'model.hidden=256'?",
        ),
        (
            "+model.encoder.dropuot=0.1",
            "cannot apply '+model.encoder.dropuot=0.1': Encoder does not read 'model.encoder.dropuot'; did you mean "
            "'+model.encoder.dropout=0.1'?",
        ),
        (
            "+model.encoder.layers=3",
            "cannot apply '+model.encoder.layers=3': Encoder does not read 'model.encoder.layers' (it reads act, "
            "dropout, feat_in, hidden, steps)",
        ),
        (
            "model.encoder={layers:3}",
            "cannot apply 'model.encoder={layers:3}': Encoder does not read 'model.encoder.layers' (it reads act, "
            "dropout, feat_in, hidden, steps)",
        ),
        (
            "+trainer.max_epoch=2",
            "cannot apply '+trainer.max_epoch=2': _trainer does not read 'trainer.max_epoch'; did you mean "
            "'trainer.max_epochs=2'?",
        ),
        ("+sed=1", "cannot apply '+sed=1': nothing reads 'sed'; did you mean 'seed=1'?"),
        ("+other=1", "cannot apply '+other=1': nothing reads 'other' (the keys there are model, name, seed, trainer)"),
        (
            "model.encoder.hiden=3",
            "cannot apply 'model.encoder.hiden=3': the config has no key 'model.encoder.hiden'; did you mean "
            "'model.encoder.hidden=3'?",
        ),
        (
            "model.encoder.layers=3",
            "cannot apply 'model.encoder.layers=3': the config has no key 'model.encoder.layers', and Encoder does "
            "not read 'layers' (it reads act, dropout, feat_in, hidden, steps)",
        ),
    ],
)
def test_a_key_that_nothing_reads_is_refused_with_the_key_meant(override: str, message: str) -> None:
    with pytest.raises(ConfigOverrideError) as caught:
        apply_overrides(TARGETED, [override], readers=READERS)
    assert str(caught.value) == message


@pytest.mark.usefixtures("allowed")
def test_the_reader_is_the_target_after_every_override() -> None:
    swapped = [f"model.encoder._target_={_target(Loose)}", "+model.encoder.layers=3"]
    assert apply_overrides(TARGETED, swapped, readers=READERS).model.encoder.layers == 3


@pytest.mark.usefixtures("allowed")
@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("model.hidden=abc", "model.hidden=abc: expected an int (the config has 64)"),
        ("seed=1.5", "seed=1.5: expected an int (the config has 0)"),
        ("model.encoder.hidden=abc", "model.encoder.hidden=abc: expected an int (Encoder takes hidden: int)"),
        ("model.encoder.hidden=null", "model.encoder.hidden=null: expected an int (Encoder takes hidden: int)"),
        (
            "+model.encoder.dropout=high",
            "+model.encoder.dropout=high: expected a number (Encoder takes dropout: float)",
        ),
        (
            "model.encoder={hidden:abc}",
            "model.encoder={hidden:abc}: model.encoder.hidden expected an int (Encoder takes hidden: int)",
        ),
        (
            "trainer.max_epochs=many",
            "trainer.max_epochs=many: expected an int or null (_trainer takes max_epochs: int | None)",
        ),
        (
            "trainer.devices={a:1}",
            "trainer.devices={a:1}: expected a list, a string or an int (_trainer takes "
            "devices: list[int] | str | int)",
        ),
        (
            "model.data={batch_size:[1]}",
            "model.data={batch_size:[1]}: model.data.batch_size expected an int (the config has 8)",
        ),
        ("model.data=3", "model.data=3: expected a mapping (the config has {'batch_size': 8})"),
    ],
)
def test_a_value_of_the_wrong_type_is_one_line_naming_key_value_and_expectation(override: str, message: str) -> None:
    with pytest.raises(ConfigOverrideError) as caught:
        apply_overrides(TARGETED, [override], readers=READERS)
    assert str(caught.value) == message


@pytest.mark.usefixtures("allowed")
@pytest.mark.parametrize(
    "override",
    [
        "model.hidden=128",
        "trainer.devices=auto",  # the reader's annotation, not the config's value, decides
        "trainer.devices=[0,1]",
        "+model.encoder.dropout=1",  # an int where a float is expected
        "model.hidden=null",  # null switches a setting off
        "model.hidden=${seed}",  # an interpolation's type is not known before resolution
        "name=123",  # a number where a string is: Hydra reads a name that looks like a number as one
        "+model.encoder.act=relu",
        "model.encoder.steps=auto",  # the annotation says int, but the config has a string there: its reader's
    ],
)
def test_values_of_the_expected_type_are_accepted(override: str) -> None:
    config = apply_overrides(TARGETED, [override], readers=READERS)
    assert config is not None
