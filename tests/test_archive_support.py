"""Small models used by the archive tests (no tests here): plain, tied, nested, with artifacts and buffers."""

from __future__ import annotations

import torch

from neuraltypes.archive import Archivable
from neuraltypes.config import Serialization

__test__ = False


class TinyModel(Archivable, Serialization, torch.nn.Module):
    """Two linear layers and a persistent buffer."""

    def __init__(self, dim: int = 4, hidden: int = 8) -> None:
        super().__init__()
        self.inp = torch.nn.Linear(dim, hidden)
        self.out = torch.nn.Linear(hidden, dim)
        self.register_buffer("scale", torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(torch.relu(self.inp(x))) * self.scale


class TinySubclass(TinyModel):
    """A subclass, to restore through the base class."""


class TiedModel(Archivable, Serialization, torch.nn.Module):
    """An embedding whose weight is also the output projection's."""

    def __init__(self, vocab: int = 10, dim: int = 4) -> None:
        super().__init__()
        self.embed = torch.nn.Embedding(vocab, dim)
        self.project = torch.nn.Linear(dim, vocab, bias=False)
        self.project.weight = self.embed.weight


class BufferModel(Archivable, Serialization, torch.nn.Module):
    """A model with a non-persistent buffer computed in its constructor (cannot be built on meta)."""

    def __init__(self, dim: int = 4) -> None:
        super().__init__()
        self.lin = torch.nn.Linear(dim, dim)
        self.register_buffer("table", torch.arange(dim, dtype=torch.float32) * 2, persistent=False)


class VocabModel(Archivable, Serialization, torch.nn.Module):
    """A model whose constructor reads a vocabulary artifact."""

    def __init__(self, vocab_path: str, dim: int = 3) -> None:
        super().__init__()
        self.vocab_file = self.register_artifact("vocab_path", vocab_path)
        with open(self.vocab_file, encoding="utf-8") as file:
            self.words = file.read().split()
        self.embed = torch.nn.Embedding(len(self.words), dim)


class ParentModel(Archivable, Serialization, torch.nn.Module):
    """A model holding other archivable models, one of them with an artifact."""

    def __init__(self, encoder: TinyModel, tokenizer: VocabModel) -> None:
        super().__init__()
        self.encoder = encoder
        self.tokenizer = tokenizer
        self.head = torch.nn.Linear(4, 2)


class TypedModel(TinyModel):
    """A model that declares its neural types, NeMo style."""

    @property
    def input_types(self) -> dict[str, object]:
        from neuraltypes.core import EncodedRepresentation, NeuralType

        return {"x": NeuralType(("B", "T", "C"), EncodedRepresentation())}

    @property
    def output_types(self) -> dict[str, object]:
        from neuraltypes.core import LogitsType, NeuralType

        return {"logits": NeuralType(("B", "T", "D"), LogitsType())}


def same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    """Whether two modules have the same state-dict names, dtypes and values."""
    left, right = a.state_dict(), b.state_dict()
    return list(left) == list(right) and all(
        left[name].dtype == right[name].dtype and torch.equal(left[name], right[name]) for name in left
    )
