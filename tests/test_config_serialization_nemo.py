"""NeMo's config conventions in ``from_config_dict``: Hydra 0.x's ``cls``/``params``, NeMo's ``target`` and a
config without a class built as ``cls(cfg=config)``; each one still goes through the allowlist."""

from __future__ import annotations

from typing import Any

import pytest
from omegaconf import DictConfig, OmegaConf

from neuraltypes.config import Serialization, UnsafeTargetError, class_path, resolve_target
from neuraltypes.optim import CosineAnnealing


class Augmentation(Serialization):
    def __init__(self, rect_freq: int = 20, rect_masks: int = 0, rect_time: int = 5) -> None:
        self.rect = (rect_freq, rect_masks, rect_time)


class Holder(Serialization):
    def __init__(self, augment: Augmentation, scale: float = 1.0) -> None:
        self.augment = augment
        self.scale = scale


class Configured(Serialization):
    """NeMo's model form: the whole config as ``cfg``."""

    def __init__(self, cfg: DictConfig) -> None:
        self.cfg = cfg
        self.value = type(self).__name__


class ConfiguredV2(Configured):
    pass


class Trained(Serialization):
    def __init__(self, cfg: DictConfig, trainer: Any = None) -> None:
        self.cfg = cfg
        self.trainer = trainer


class Unrelated(Serialization):
    def __init__(self, cfg: DictConfig) -> None:
        self.cfg = cfg


def test_hydra_0_cls_and_params_are_read_as_target_and_arguments() -> None:
    config = DictConfig({"cls": class_path(Augmentation), "params": {"rect_freq": 50, "rect_masks": 5}})
    built = Serialization.from_config_dict(config)
    assert isinstance(built, Augmentation) and built.rect == (50, 5, 5)
    again = built.to_config_dict()
    assert "cls" not in again and "params" not in again
    assert again == {"_target_": class_path(Augmentation), "rect_freq": 50, "rect_masks": 5}


def test_hydra_0_nodes_nested_in_a_config_are_upgraded_too() -> None:
    config = {
        "_target_": class_path(Holder),
        "augment": {"cls": class_path(Augmentation), "params": {"rect_time": 9}},
        "scale": 2.0,
    }
    built = Holder.from_config_dict(config)
    assert built.augment.rect == (20, 0, 9) and built.scale == 2.0


def test_params_beside_a_hydra_1_target_is_an_argument() -> None:
    class Optimizer(Serialization):
        def __init__(self, params: dict[str, float]) -> None:
            self.params = params

    built = Optimizer.from_config_dict({"_target_": Optimizer, "params": {"lr": 0.1}}, allow=[Optimizer])
    assert built.params == {"lr": 0.1}


def test_a_malformed_params_node_is_named() -> None:
    with pytest.raises(ValueError, match="a config's 'params' must be a mapping of arguments, got list"):
        Serialization.from_config_dict({"cls": class_path(Augmentation), "params": [1, 2]})
    with pytest.raises(ValueError, match="a config gives 'rect_freq' both inside 'params' and beside it"):
        Serialization.from_config_dict({"cls": class_path(Augmentation), "rect_freq": 1, "params": {"rect_freq": 2}})


def test_a_target_key_builds_the_class_named_with_the_whole_config_as_cfg() -> None:
    config = DictConfig({"target": class_path(ConfiguredV2)})
    built = Serialization.from_config_dict(config)
    assert isinstance(built, ConfiguredV2) and built.value == "ConfiguredV2"
    assert built.cfg == config
    assert built.to_config_dict() == config  # given back as it came, as NeMo does


def test_a_target_naming_a_base_of_the_calling_class_builds_the_calling_class() -> None:
    built = ConfiguredV2.from_config_dict(DictConfig({"target": class_path(Configured)}))
    assert type(built) is ConfiguredV2


def test_a_target_of_another_class_is_refused() -> None:
    with pytest.raises(TypeError, match=r"the config's target '.*Unrelated' is not Configured or a subclass of it"):
        Configured.from_config_dict({"target": class_path(Unrelated)})


def test_a_target_key_goes_through_the_allowlist_before_anything_is_called() -> None:
    with pytest.raises(UnsafeTargetError, match=r"refusing to instantiate target 'os.system' at 'target'"):
        Serialization.from_config_dict({"target": "os.system", "x": 1})


def test_a_config_without_a_class_builds_a_cfg_taking_class_with_cfg() -> None:
    built = Configured.from_config_dict({"hidden": 8, "layers": 2})
    assert built.cfg == {"hidden": 8, "layers": 2}
    assert built.to_config_dict() == {"hidden": 8, "layers": 2}  # as it came, as NeMo gives it back
    assert Configured.from_config_dict(built.to_config_dict()).cfg == {"hidden": 8, "layers": 2}


def test_a_config_that_is_only_the_constructors_arguments_is_passed_as_arguments() -> None:
    built = Configured.from_config_dict({"cfg": {"hidden": 8}})
    assert built.cfg == {"hidden": 8}


def test_the_trainer_is_passed_to_a_constructor_that_takes_one() -> None:
    trainer = object()
    built = Trained.from_config_dict({"target": class_path(Trained), "hidden": 4}, trainer)
    assert built.trainer is trainer and OmegaConf.to_container(built.cfg) == {
        "target": class_path(Trained),
        "hidden": 4,
    }


def test_a_nemo_class_path_builds_its_counterpart_while_nemo_is_not_imported() -> None:
    from neuraltypes_modules.asr import SpectrogramAugmentation  # the counterpart must be imported, as any target

    config = {"cls": "nemo.collections.asr.modules.SpectrogramAugmentation", "params": {"rect_masks": 5}}
    built = Serialization.from_config_dict(config)
    assert isinstance(built, SpectrogramAugmentation)
    assert built.to_config_dict()["_target_"] == class_path(SpectrogramAugmentation)
    scheduler = resolve_target("nemo.core.optim.lr_scheduler.CosineAnnealing")
    assert scheduler is CosineAnnealing


def test_a_nemo_class_path_without_a_counterpart_is_refused_by_name() -> None:
    with pytest.raises(
        ImportError, match=r"'neuraltypes_modules.asr' has no attribute or submodule 'ConformerEncoder'"
    ):
        resolve_target("nemo.collections.asr.modules.ConformerEncoder")
    with pytest.raises(UnsafeTargetError, match=r"resolving it would import package 'nemo'"):
        resolve_target("nemo.collections.nlp.models.TextClassificationModel")  # no counterpart: NeMo's own
    with pytest.raises((ImportError, UnsafeTargetError)):
        resolve_target("nemo.core.optim.lr_scheduler.torch")  # a module reachable from ours is not a class path
