"""Small models used by the archive tests (no tests here): plain, tied, nested, with artifacts and buffers."""

from __future__ import annotations

import contextlib
import json
import re
import signal
import struct
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import Tensor

from neuraltypes import NT, EncodedRepresentation
from neuraltypes.archive import Archivable, ArchiveError
from neuraltypes.config import Serialization
from neuraltypes.nn import NeuralModule

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


class LabelModel(Archivable, Serialization, torch.nn.Module):
    """A model with a string setting, to carry interpolations and targets in its config."""

    def __init__(self, label: str = "plain") -> None:
        super().__init__()
        self.label = label
        self.lin = torch.nn.Linear(2, 2)


def forge_archive(
    path: Path,
    *,
    tensors: dict[str, torch.Tensor] | None = None,
    config_text: str = "_target_: test_archive_support.TinyModel\n",
    artifacts: dict[str, bytes] | None = None,
    edit_manifest: Callable[[dict[str, Any]], None] | None = None,
    extra_tensors: dict[str, torch.Tensor] | None = None,
    edit_metadata: Callable[[dict[str, str]], None] | None = None,
    aliases: dict[str, str] | None = None,
) -> None:
    """Write an archive by hand (a consistent one unless told otherwise), to test what the reader refuses.

    The manifest's target is the config's ``_target_`` (as a correct writer makes it), so that a test of what
    the config may name is not refused earlier for the two differing.
    """
    from safetensors.torch import save_file

    from neuraltypes.archive._format import CONFIG_MEMBER, artifact_member
    from neuraltypes.archive._manifest import sha256_hex

    weights = dict(TinyModel().state_dict()) if tensors is None else tensors
    members: dict[str, tuple[str, torch.Tensor]] = {
        CONFIG_MEMBER: ("config", torch.frombuffer(bytearray(config_text.encode()), dtype=torch.uint8))
    }
    members.update({name: ("weight", tensor.contiguous()) for name, tensor in weights.items()})
    for name, data in (artifacts or {}).items():
        members[artifact_member(name)] = ("artifact", torch.frombuffer(bytearray(data), dtype=torch.uint8))
    manifest: dict[str, Any] = {
        "format": "neuraltypes-archive",
        "format_version": 1,
        "target": _config_target(config_text),
        "created_by": "forged",
        "signature": {"inputs": {}, "outputs": {}},
        "aliases": aliases or {},
        "members": [
            {
                "name": name,
                "kind": kind,
                "size": tensor.nbytes,
                "sha256": sha256_hex(tensor.numpy().tobytes()),
                "dtype": str(tensor.dtype).removeprefix("torch."),
                "shape": list(tensor.shape),
            }
            for name, (kind, tensor) in members.items()
        ],
    }
    if edit_manifest is not None:
        edit_manifest(manifest)
    text = json.dumps(manifest)
    metadata = {
        "neuraltypes.format": "neuraltypes-archive",
        "neuraltypes.manifest": text,
        "neuraltypes.manifest_sha256": sha256_hex(text.encode()),
    }
    if edit_metadata is not None:
        edit_metadata(metadata)
    stored = {name: tensor for name, (_, tensor) in members.items()}
    stored.update(extra_tensors or {})
    save_file(stored, str(path), metadata=metadata)


def _config_target(config_text: str) -> str:
    found = re.search(r"^_target_:\s*(\S+)\s*$", config_text, re.MULTILINE)
    return "test_archive_support.TinyModel" if found is None else found.group(1)


def raw_safetensors(header: dict[str, Any] | str, data: bytes) -> bytes:
    """The bytes of a safetensors file with exactly this header text (duplicate keys, bad offsets ...)."""
    text = header if isinstance(header, str) else json.dumps(header)
    encoded = text.encode()
    encoded += b" " * (-len(encoded) % 8)
    return struct.pack("<Q", len(encoded)) + encoded + data


def listing(root: Path) -> set[str]:
    """Every path under ``root``, relative, to show that nothing was written."""
    return {str(path.relative_to(root)) for path in root.rglob("*")}


class AnnotatedEncoder(NeuralModule):
    """A NeuralModule whose neural types come from forward's annotations."""

    def __init__(self, dim: int = 4) -> None:
        super().__init__()
        self.proj = torch.nn.Linear(dim, dim)

    def forward(
        self, features: NT[Tensor, "B T D", EncodedRepresentation]
    ) -> NT[Tensor, "B T D", EncodedRepresentation]:
        return self.proj(features)


class OddModel(TinyModel):
    """Buffers of every awkward kind: empty, 0-d, bool, bfloat16, float64, complex, int64."""

    def __init__(self, dim: int = 4, hidden: int = 8) -> None:
        super().__init__(dim, hidden)
        self.register_buffer("empty", torch.empty(0, 3))
        self.register_buffer("scalar", torch.tensor(3.5, dtype=torch.float64))
        self.register_buffer("flags", torch.tensor([True, False, True]))
        self.register_buffer("brain", torch.randn(5, dtype=torch.bfloat16))
        self.register_buffer("complex", torch.randn(2, dtype=torch.complex64))
        self.register_buffer("steps", torch.arange(7))


class ArtifactModel(TinyModel):
    """A model that registers an artifact without reading it (so restoring it costs only the copy)."""

    def __init__(self, vocab_path: str, dim: int = 4, hidden: int = 8) -> None:
        super().__init__(dim, hidden)
        self.vocab_file = self.register_artifact("vocab_path", vocab_path)


@contextlib.contextmanager
def deadline(seconds: int) -> Iterator[None]:
    """Fail instead of hanging when something that must be quick (it used to take minutes) is not."""

    def expire(signum: int, frame: object) -> None:
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def refused(sandbox: Path, archive: Path, cls: type[Any] = TinyModel, **kwargs: Any) -> ArchiveError:
    """Restore ``archive``, expecting an ArchiveError, and check that nothing was written anywhere."""
    before = listing(sandbox)
    with pytest.raises(ArchiveError) as caught:
        cls.restore_from(archive, **kwargs)
    assert listing(sandbox) == before
    assert caught.value.path == str(archive)
    return caught.value
