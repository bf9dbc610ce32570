"""Objects are built by us from the resolved config, with Hydra's semantics: the same configs give the same objects.

Each benign config is built both ways and the results compared, container types included (Hydra hands nested
configs to constructors as ``DictConfig``/``ListConfig`` unless ``_convert_`` says otherwise).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import hydra.utils
import pytest
from hydra.errors import InstantiationException
from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import MissingMandatoryValue

from neuraltypes.config import instantiable, instantiate


@instantiable
class Box:
    """Keeps what it is called with."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args = args
        self.kwargs = kwargs


BOX = f"{__name__}.Box"


def shape(value: Any) -> Any:
    """A comparable picture of a built value: container kinds, partials and boxes included."""
    if isinstance(value, DictConfig | ListConfig):
        return type(value).__name__, shape(OmegaConf.to_container(value, resolve=True))
    if isinstance(value, dict):
        return "dict", {key: shape(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value).__name__, [shape(item) for item in value]
    if isinstance(value, functools.partial):
        return "partial", value.func, shape(value.args), shape(value.keywords)
    if isinstance(value, Box):
        return "Box", shape(value.args), shape(value.kwargs)
    return value


@dataclasses.dataclass
class BoxConfig:
    _target_: str = BOX
    a: int = 1
    b: list[int] = dataclasses.field(default_factory=lambda: [1, 2])


CONFIGS: list[Any] = [
    {"_target_": BOX, "a": 1, "b": {"c": 2}, "n": None, "f": 1.5, "s": "text", "t": True},
    {"_target_": BOX, "a": [1, {"x": 2}], "_convert_": "all"},
    {"_target_": BOX, "a": [1, {"x": 2}], "_convert_": "partial"},
    {"_target_": BOX, "a": [1, {"x": 2}], "_convert_": "object"},
    {"_target_": BOX, "child": {"_target_": BOX, "v": 1}, "items": [{"_target_": BOX}, 3]},
    {"_target_": BOX, "child": {"_target_": BOX, "v": 1}, "_recursive_": False},
    {"_target_": BOX, "child": {"_target_": BOX, "v": 1}, "_recursive_": False, "_convert_": "all"},
    {"_target_": BOX, "_partial_": True, "a": 1},
    {"_target_": BOX, "_partial_": True, "a": "???"},
    {"_target_": BOX, "_args_": [1, {"q": 2}, {"_target_": BOX}]},
    {"_target_": BOX, "_args_": [1, {"q": 2}], "_convert_": "all"},
    {"a": {"_target_": BOX, "x": 1}, "b": [1, 2]},
    {"a": {"_target_": BOX, "x": 1}, "b": [1, 2], "_convert_": "all"},
    [{"_target_": BOX}, {"y": 1}],
    {"_target_": BOX, "x": "${y}", "y": 3, "z": "${oc.select:missing,4}"},
    {"_target_": BOX, "nested": {"_convert_": "all", "_target_": BOX, "d": {"e": 1}}},
    {"_target_": BOX, "nested": {"_target_": BOX, "_partial_": True, "k": 2}},
]


@pytest.mark.parametrize("config", CONFIGS)
def test_a_config_builds_what_hydra_builds(config: Any) -> None:
    assert shape(instantiate(config)) == shape(hydra.utils.instantiate(OmegaConf.create(config)))


def test_structured_configs_positional_arguments_and_keyword_overrides_follow_hydra() -> None:
    assert shape(instantiate(BoxConfig())) == shape(hydra.utils.instantiate(BoxConfig()))
    assert shape(instantiate(BoxConfig(), a=5)) == shape(hydra.utils.instantiate(BoxConfig(), a=5))
    config = {"_target_": BOX, "_args_": [9]}
    assert shape(instantiate(config, 1, 2, c=3)) == shape(hydra.utils.instantiate(config, 1, 2, c=3))


@pytest.mark.parametrize(
    ("config", "error"),
    [
        ({"_target_": BOX, "a": "???"}, MissingMandatoryValue),
        ({"_target_": BOX, "_args_": 3}, InstantiationException),
        ({"_target_": "torch.nn.Linear", "in_features": "x"}, InstantiationException),
        ({"_target_": BOX, "_recursive_": "yes"}, TypeError),
    ],
)
def test_mistakes_raise_what_hydra_raises(config: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        hydra.utils.instantiate(OmegaConf.create(config))
    with pytest.raises(error):
        instantiate(config)


def test_an_unknown_convert_mode_is_an_error_where_hydra_ignores_it() -> None:
    assert isinstance(hydra.utils.instantiate({"_target_": BOX, "_convert_": "bogus"}), Box)
    with pytest.raises(InstantiationException, match=r"_convert_ at '<root>' is 'bogus'; expected one of"):
        instantiate({"_target_": BOX, "_convert_": "bogus"})
