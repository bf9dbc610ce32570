"""``Serialization``: build from configs, give back the config that rebuilds, interpolations included."""

from __future__ import annotations

import dataclasses
import enum
import functools
from typing import Any

import pytest
import torch
from omegaconf import DictConfig, OmegaConf

from neuraltypes.config import Serialization, UnsafeTargetError, class_path, instantiate, resolve_target


class Activation(enum.Enum):
    RELU = "relu"
    TANH = "tanh"


class Encoder(Serialization):
    def __init__(self, dim: int, activation: Activation = Activation.RELU, name: str = "enc") -> None:
        self.dim = dim
        self.activation = activation
        self.name = name


class Decoder(Serialization):
    def __init__(self, dim: int, vocab: int) -> None:
        self.dim = dim
        self.vocab = vocab


class Model(Serialization):
    def __init__(self, n_embed: int, encoder: Encoder, decoder: Decoder, tags: tuple[str, ...] = ()) -> None:
        self.n_embed = n_embed
        self.encoder = encoder
        self.decoder = decoder
        self.tags = tags


class WideEncoder(Encoder):
    def __init__(self, dim: int, width: int = 2, **kwargs: Any) -> None:
        super().__init__(dim * width, **kwargs)
        self.width = width


@dataclasses.dataclass
class EncoderConfig:
    dim: int = 8
    name: str = "from-dataclass"


def raw_value(config: DictConfig, key: str) -> object:
    """A config value as written, interpolations unresolved."""
    container = OmegaConf.to_container(config, resolve=False)
    assert isinstance(container, dict)
    return container[key]


def experiment() -> DictConfig:
    """A whole experiment config, of which the model is one sub-tree."""
    return OmegaConf.create(
        {
            "trainer": {"max_epochs": 3},
            "model": {
                "n_embed": 16,
                "encoder": {"_target_": f"{__name__}.Encoder", "dim": "${model.n_embed}", "name": "e${.dim}"},
                "decoder": {"_target_": f"{__name__}.Decoder", "dim": "${..n_embed}", "vocab": "${vocab}"},
            },
            "vocab": 100,
        }
    )


def test_nested_modules_are_built_with_interpolations_resolved() -> None:
    model = Model.from_config_dict(experiment().model)
    assert (model.n_embed, model.encoder.dim, model.encoder.name) == (16, 16, "e16")
    assert (model.decoder.dim, model.decoder.vocab) == (16, 100)


def test_a_saved_sub_tree_keeps_inner_interpolations_and_inlines_outer_ones() -> None:
    saved = Model.from_config_dict(experiment().model).to_config_dict()
    assert OmegaConf.to_container(saved, resolve=False) == {
        "_target_": f"{__name__}.Model",
        "n_embed": 16,
        "encoder": {"_target_": f"{__name__}.Encoder", "dim": "${..n_embed}", "name": "e${.dim}"},
        "decoder": {"_target_": f"{__name__}.Decoder", "dim": "${..n_embed}", "vocab": 100},
    }


def test_round_trip_gives_an_equal_config_and_an_equivalent_object() -> None:
    first = Model.from_config_dict(experiment().model)
    config = first.to_config_dict()
    second = resolve_target(config["_target_"]).from_config_dict(config)  # type: ignore[attr-defined]
    assert isinstance(second, Model)
    assert second.to_config_dict() == config
    assert (second.encoder.dim, second.encoder.name, second.decoder.vocab) == (16, "e16", 100)


def test_an_edited_saved_config_still_follows_its_interpolations() -> None:
    config = Model.from_config_dict(experiment().model).to_config_dict()
    config.n_embed = 32
    model = Model.from_config_dict(config)
    assert (model.encoder.dim, model.encoder.name, model.decoder.dim) == (32, "e32", 32)


def test_a_sub_module_saved_on_its_own_holds_values() -> None:
    model = Model.from_config_dict(experiment().model)
    assert model.encoder.to_config_dict() == {
        "_target_": f"{__name__}.Encoder",
        "dim": 16,
        "name": "e16",
    }


def test_a_chain_of_outer_references_is_followed_as_written() -> None:
    config = OmegaConf.create({"base": 4, "size": "${base}", "model": {"dim": "${size}"}})
    encoder = Encoder.from_config_dict(config.model)
    assert encoder.to_config_dict() == {"_target_": f"{__name__}.Encoder", "dim": 4}


def test_an_outer_reference_embedded_in_a_string_becomes_its_value() -> None:
    config = OmegaConf.create({"prefix": "big", "model": {"dim": 2, "name": "${prefix}_${.dim}"}})
    saved = Encoder.from_config_dict(config.model).to_config_dict()
    assert raw_value(saved, "name") == "big_${.dim}"


def test_an_outer_reference_to_a_missing_key_is_reported() -> None:
    config = OmegaConf.create({"model": {"dim": "${nowhere.dim}"}})
    with pytest.raises(
        ValueError,
        match=r"^interpolation '\$\{nowhere.dim\}' points to 'nowhere.dim', which does "
        r"not exist$",
    ):
        Encoder.from_config_dict(config.model)


def test_a_directly_built_module_describes_itself() -> None:
    model = Model(4, Encoder(dim=4, activation=Activation.TANH), Decoder(4, vocab=10), tags=("a", "b"))
    assert OmegaConf.to_container(model.to_config_dict()) == {
        "_target_": f"{__name__}.Model",
        "n_embed": 4,
        "encoder": {"_target_": f"{__name__}.Encoder", "dim": 4, "activation": Activation.TANH},
        "decoder": {"_target_": f"{__name__}.Decoder", "dim": 4, "vocab": 10},
        "tags": ["a", "b"],
    }
    rebuilt = instantiate(model.to_config_dict())
    assert rebuilt.encoder.activation is Activation.TANH and rebuilt.to_config_dict() == model.to_config_dict()


def test_the_outermost_constructor_call_is_recorded() -> None:
    wide = WideEncoder(3, width=4, name="w")
    assert wide.dim == 12
    assert wide.to_config_dict() == {"_target_": f"{__name__}.WideEncoder", "dim": 3, "width": 4, "name": "w"}
    assert WideEncoder.from_config_dict(wide.to_config_dict()).dim == 12


def test_a_config_without_target_builds_the_class_it_is_given_to() -> None:
    built = Encoder.from_config_dict({"dim": 5})
    assert type(built) is Encoder and built.dim == 5
    assert built.to_config_dict() == {"_target_": f"{__name__}.Encoder", "dim": 5}


def test_a_target_naming_a_subclass_builds_the_subclass() -> None:
    built = Encoder.from_config_dict({"_target_": f"{__name__}.WideEncoder", "dim": 5})
    assert type(built) is WideEncoder and built.dim == 10


def test_a_target_of_another_class_is_refused() -> None:
    with pytest.raises(
        TypeError,
        match=r"^Encoder.from_config_dict: the config's _target_ "
        rf"'{__name__}.Decoder' is not Encoder or a subclass of it$",
    ):
        Encoder.from_config_dict({"_target_": f"{__name__}.Decoder", "dim": 1, "vocab": 2})


def test_from_config_dict_checks_targets_like_instantiate() -> None:
    with pytest.raises(UnsafeTargetError, match=r"target 'os.system'"):
        Encoder.from_config_dict({"_target_": "os.system"})


def test_structured_dataclass_configs_are_accepted() -> None:
    built = Encoder.from_config_dict(EncoderConfig(dim=3))
    assert (built.dim, built.name) == (3, "from-dataclass")
    assert Encoder.from_config_dict(EncoderConfig).dim == 8


def test_an_environment_value_is_stored_as_its_expression_never_its_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEURALTYPES_TEST_TOKEN", "hunter2")
    built = Encoder.from_config_dict({"dim": 1, "name": "${oc.env:NEURALTYPES_TEST_TOKEN}"}, allow_resolvers=True)
    assert built.name == "hunter2"
    assert OmegaConf.to_yaml(built.to_config_dict()).count("hunter2") == 0
    assert raw_value(built.to_config_dict(), "name") == "${oc.env:NEURALTYPES_TEST_TOKEN}"


def test_an_argument_a_config_cannot_hold_is_named() -> None:
    encoder = Encoder(dim=torch.zeros(1))  # type: ignore[arg-type]
    with pytest.raises(
        ValueError,
        match=r"^cannot write argument 'Encoder.dim' as a config: a Tensor is not config "
        r"data \(use numbers, strings, lists, mappings, dataclasses or Serialization objects\)$",
    ):
        encoder.to_config_dict()


def test_a_partial_argument_is_written_as_a_partial_target() -> None:
    make = functools.partial(Decoder, vocab=3)
    holder = Model(1, Encoder(1), make(dim=1), tags=())
    assert holder.to_config_dict()["decoder"] == {"_target_": f"{__name__}.Decoder", "dim": 1, "vocab": 3}

    class Holder(Serialization):
        def __init__(self, factory: Any) -> None:
            self.factory = factory

    assert Holder(make).to_config_dict()["factory"] == {
        "_target_": f"{__name__}.Decoder",
        "_partial_": True,
        "vocab": 3,
    }


def test_extra_positional_arguments_cannot_be_written() -> None:
    class Varargs(Serialization):
        def __init__(self, *sizes: int) -> None:
            self.sizes = sizes

    with pytest.raises(
        ValueError,
        match=r"^cannot write .*Varargs as a config: its constructor was given extra "
        r"positional arguments \(\*sizes\)$",
    ):
        Varargs(1, 2).to_config_dict()


def test_the_stored_target_is_the_class_import_path_even_through_an_alias() -> None:
    assert class_path(Encoder) == f"{__name__}.Encoder"
    built = instantiate({"_target_": f"{__name__}.Encoder", "dim": 2})
    assert built.to_config_dict()["_target_"] == f"{__name__}.Encoder"


def test_returned_configs_are_copies() -> None:
    built = Encoder.from_config_dict({"dim": 5})
    built.to_config_dict().dim = 99
    assert built.to_config_dict().dim == 5


def test_a_config_holding_python_objects_is_described_by_the_constructor_call() -> None:
    built = Model.from_config_dict(
        {"n_embed": 2, "encoder": {"_target_": Encoder, "dim": 2}, "decoder": Decoder(dim=2, vocab=5)}
    )
    assert built.to_config_dict() == {
        "_target_": f"{__name__}.Model",
        "n_embed": 2,
        "encoder": {"_target_": f"{__name__}.Encoder", "dim": 2},
        "decoder": {"_target_": f"{__name__}.Decoder", "dim": 2, "vocab": 5},
    }


def test_a_partial_config_is_not_an_instance() -> None:
    with pytest.raises(
        TypeError, match=r"^Encoder.from_config_dict: the config built a partial \(_partial_: true\), not an instance$"
    ):
        Encoder.from_config_dict({"dim": 1, "_partial_": True})


class Holder(Serialization):
    def __init__(self, value: Any) -> None:
        self.value = value


def test_references_with_spaces_list_indices_and_relative_paths_are_moved() -> None:
    inner = {"x": "${ a }", "y": "${ ...a }", "l": [1, "${h.value.l[0]}", "${..x}"], "z": "${ h.value.x }"}
    config = OmegaConf.create({"a": 1, "h": {"value": inner}})
    saved = Holder.from_config_dict(config.h).to_config_dict()
    assert raw_value(saved, "value") == {"x": 1, "y": 1, "l": [1, "${.0}", "${..x}"], "z": "${.x}"}
    assert saved.value.l == [1, 1, 1] and saved.value.z == 1


def test_a_child_built_from_its_own_config_nests_into_its_parent() -> None:
    encoder = Encoder.from_config_dict({"dim": 3, "name": "e${dim}"})
    config = Model(3, encoder, Decoder(3, 4)).to_config_dict()
    assert raw_value(config, "encoder") == {"_target_": f"{__name__}.Encoder", "dim": 3, "name": "e${.dim}"}
    assert config.encoder.name == "e3"


def test_recording_never_breaks_construction() -> None:
    class Broken(Serialization):
        def to_config_dict(self) -> DictConfig:
            raise RuntimeError("no config here")

    holder = Holder(Broken())
    assert isinstance(holder.value, Broken)
    with pytest.raises(ValueError, match=r"^cannot write Holder as a config: RuntimeError: no config here$"):
        holder.to_config_dict()
