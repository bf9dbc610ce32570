"""Freezing: ``freeze``/``unfreeze``/``as_frozen`` keep each parameter's previous ``requires_grad``."""

import pytest
import torch

from neuraltypes.nn import NeuralModule


class Tower(NeuralModule):
    def __init__(self) -> None:
        super().__init__()
        self.embed = torch.nn.Embedding(10, 4)
        self.body = torch.nn.Linear(4, 4)
        self.head = torch.nn.Linear(4, 2, bias=False)
        self.drop = torch.nn.Dropout(0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.drop(self.body(self.embed(x))))


def trainable(module: torch.nn.Module) -> dict[str, bool]:
    return {name: p.requires_grad for name, p in module.named_parameters()}


def test_num_weights_counts_trainable_elements() -> None:
    tower = Tower()
    assert tower.num_weights == 10 * 4 + 4 * 4 + 4 + 4 * 2
    tower.embed.weight.requires_grad_(False)
    assert tower.num_weights == 4 * 4 + 4 + 4 * 2


def test_freeze_and_unfreeze_return_the_module_as_lightning_does() -> None:
    tower = Tower()
    assert tower.freeze() is tower
    assert tower.unfreeze() is tower


def test_freeze_stops_all_gradients_and_switches_to_eval() -> None:
    tower = Tower()
    tower.freeze()
    assert not any(trainable(tower).values())
    assert not any(m.training for m in tower.modules())
    assert tower.num_weights == 0


def test_unfreeze_makes_everything_trainable_and_switches_to_train() -> None:
    tower = Tower()
    tower.embed.weight.requires_grad_(False)
    tower.freeze()
    tower.unfreeze()
    assert all(trainable(tower).values())
    assert all(m.training for m in tower.modules())


def test_partial_unfreeze_keeps_what_was_frozen_before() -> None:
    tower = Tower()
    tower.embed.weight.requires_grad_(False)
    before = trainable(tower)
    tower.freeze()
    tower.freeze()  # a second freeze does not overwrite the record
    tower.unfreeze(partial=True)
    assert trainable(tower) == before and before["embed.weight"] is False


def test_partial_unfreeze_without_a_freeze_is_refused_as_in_nemo() -> None:
    tower = Tower()
    tower.embed.weight.requires_grad_(False)
    with pytest.raises(ValueError, match=r"cannot unfreeze Tower partially: it was not frozen with freeze\(\) first"):
        tower.unfreeze(partial=True)
    assert trainable(tower)["embed.weight"] is False  # nothing changed


def test_the_freeze_record_is_nemos_frozen_grad_map() -> None:
    tower = Tower()
    tower.embed.weight.requires_grad_(False)
    tower.freeze()
    record: dict[str, bool] = tower.__dict__["_frozen_grad_map"]  # NeMo's tests read `module._frozen_grad_map`
    assert record["embed.weight"] is False
    assert all(record[name] for name in trainable(tower) if name != "embed.weight")
    tower.unfreeze(partial=True)
    assert not hasattr(tower, "_frozen_grad_map")


def test_as_frozen_restores_requires_grad_and_modes_exactly() -> None:
    tower = Tower()
    tower.body.bias.requires_grad_(False)
    tower.drop.eval()
    before_grad = trainable(tower)
    before_modes = {name: m.training for name, m in tower.named_modules()}
    with tower.as_frozen() as frozen:
        assert frozen is tower
        assert not any(trainable(tower).values()) and not tower.training
        out = tower(torch.tensor([[1, 2]]))
        assert not out.requires_grad
    assert trainable(tower) == before_grad
    assert {name: m.training for name, m in tower.named_modules()} == before_modes


def test_as_frozen_nests_and_restores_on_error() -> None:
    tower = Tower()
    tower.head.weight.requires_grad_(False)
    before = trainable(tower)
    try:
        with tower.as_frozen():
            with tower.as_frozen():
                pass
            assert not any(trainable(tower).values()) and not tower.training  # the outer block still holds
            raise RuntimeError("inside")
    except RuntimeError:
        pass
    assert trainable(tower) == before and tower.training


def test_a_partially_frozen_submodule_stays_frozen_after_the_parent_block() -> None:
    outer = torch.nn.Module()
    outer.tower = Tower()
    outer.tower.freeze()
    parent = Tower()
    parent.add_module("inner", outer.tower)
    with parent.as_frozen():
        pass
    assert not any(trainable(outer.tower).values())
    assert all(p.requires_grad for n, p in parent.named_parameters() if not n.startswith("inner."))
