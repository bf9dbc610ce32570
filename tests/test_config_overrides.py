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
            "model.hiden=3",
            "cannot apply 'model.hiden=3': the config has no key 'model.hiden' (to add one, write '+model.hiden=3')",
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
