"""NeuralModules built from configs, described by them, and saved whole or as one sub-module."""

# The axes strings inside NT[...] are not forward references, whatever pyflakes assumes of annotations.

from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf
from torch import Tensor

from neuraltypes.config import instantiate, resolve_target
from neuraltypes.core import NT, EncodedRepresentation, LogitsType
from neuraltypes.nn import NeuralModule


class Encoder(NeuralModule):
    def __init__(self, d_in: int, d_model: int) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(d_in, d_model)

    def forward(self, x: NT[Tensor, "B T D"]) -> NT[Tensor, "B T H", EncodedRepresentation]:
        return self.linear(x)


class Classifier(NeuralModule):
    def __init__(self, n_embed: int, n_classes: int, encoder: Encoder, activation: torch.nn.Module) -> None:
        super().__init__()
        self.encoder = encoder
        self.activation = activation
        self.head = torch.nn.Linear(n_embed, n_classes)

    def forward(self, x: NT[Tensor, "B T D"]) -> NT[Tensor, "B T C", LogitsType]:
        return self.head(self.activation(self.encoder(x)))


CONFIG = OmegaConf.create(
    {
        "model": {
            "n_embed": 8,
            "n_classes": 3,
            "encoder": {"_target_": f"{__name__}.Encoder", "d_in": 5, "d_model": "${model.n_embed}"},
            "activation": {"_target_": "torch.nn.GELU"},
        },
        "trainer": {"max_epochs": 1},
    }
)


def test_neural_modules_are_allowed_targets_without_marking() -> None:
    encoder = instantiate({"_target_": f"{__name__}.Encoder", "d_in": 2, "d_model": 4})
    assert isinstance(encoder, Encoder) and encoder.linear.out_features == 4


def test_a_nested_model_is_built_from_a_sub_tree_and_round_trips() -> None:
    model = Classifier.from_config_dict(CONFIG.model)
    assert model.encoder.linear.out_features == 8 and isinstance(model.activation, torch.nn.GELU)
    config = model.to_config_dict()
    assert OmegaConf.to_container(config, resolve=False) == {
        "_target_": f"{__name__}.Classifier",
        "n_embed": 8,
        "n_classes": 3,
        "encoder": {"_target_": f"{__name__}.Encoder", "d_in": 5, "d_model": "${..n_embed}"},
        "activation": {"_target_": "torch.nn.GELU"},
    }
    rebuilt = resolve_target(config["_target_"]).from_config_dict(config)  # type: ignore[attr-defined]
    rebuilt.load_state_dict(model.state_dict())
    x = torch.randn(2, 4, 5)
    assert torch.equal(rebuilt(x), model(x))
    assert rebuilt.to_config_dict() == config


def test_a_torch_module_given_directly_cannot_be_described_and_is_named() -> None:
    model = Classifier(4, 2, Encoder(3, 4), torch.nn.ReLU())
    with pytest.raises(ValueError, match=r"^cannot write argument 'Classifier.activation' as a config: a ReLU is not "):
        model.to_config_dict()
    from_config = Classifier.from_config_dict(
        {
            "n_embed": 4,
            "n_classes": 2,
            "encoder": {"_target_": f"{__name__}.Encoder", "d_in": 3, "d_model": 4},
            "activation": {"_target_": "torch.nn.ReLU"},
        }
    )
    assert from_config.to_config_dict()["activation"] == {"_target_": "torch.nn.ReLU"}


def test_a_sub_module_saves_and_restores_on_its_own(tmp_path: Path) -> None:
    model = Classifier.from_config_dict(CONFIG.model)
    path = tmp_path / "encoder.nta"
    model.encoder.save_to(path)
    restored = Encoder.restore_from(path)
    assert restored.to_config_dict() == {"_target_": f"{__name__}.Encoder", "d_in": 5, "d_model": 8}
    x = torch.randn(1, 2, 5)
    assert torch.equal(restored(x), model.encoder(x))


def test_a_whole_model_saves_and_restores_with_its_interpolations(tmp_path: Path) -> None:
    model = Classifier.from_config_dict(CONFIG.model)
    path = tmp_path / "model.nta"
    model.save_to(path)
    restored = Classifier.restore_from(path)
    assert restored.to_config_dict() == model.to_config_dict()
    x = torch.randn(1, 2, 5)
    assert torch.equal(restored(x), model(x))


class Flagged(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.flagged = True


class Cooperative(NeuralModule, Flagged):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.width = width


def test_super_init_continues_along_the_mro_through_neural_module() -> None:
    module = Cooperative(width=3)
    assert module.flagged and module.width == 3
    assert module.to_config_dict() == {"_target_": f"{__name__}.Cooperative", "width": 3}
