"""Reading NeMo 1.x ``.nemo`` files for migration: weights without pickle code, members checked like ours."""

from __future__ import annotations

import io
import pickle
import tarfile
from pathlib import Path
from typing import Any

import pytest
import torch
from test_archive_support import TinyModel, VocabModel, listing, same_weights

from neuraltypes.archive import ArchiveError


def _add(tar: tarfile.TarFile, name: str, data: bytes, **fields: Any) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    for key, value in fields.items():
        setattr(info, key, value)
    tar.addfile(info, io.BytesIO(data))


def _checkpoint(state: dict[str, torch.Tensor] | object) -> bytes:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


def write_nemo(
    path: Path,
    config: str,
    weights: bytes,
    extra: dict[str, bytes] | None = None,
    mode: str = "w",
) -> None:
    """A .nemo as NeMo 1.x writes it: './'-prefixed members in a tar (gzip in older versions)."""
    with tarfile.open(path, mode) as tar:  # type: ignore[call-overload]
        root = tarfile.TarInfo(".")
        root.type = tarfile.DIRTYPE
        tar.addfile(root)
        _add(tar, "./model_config.yaml", config.encode())
        _add(tar, "./model_weights.ckpt", weights)
        for name, data in (extra or {}).items():
            _add(tar, name, data)


@pytest.mark.parametrize("mode", ["w", "w:gz"])
def test_a_nemo_file_restores_with_weights_and_artifacts(tmp_path: Path, mode: str) -> None:
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("a b c d")
    model = VocabModel(str(vocab))
    config = "target: nemo.collections.nlp.models.SomeModel\nvocab_path: nemo:1a2b_vocab.txt\ndim: 3\n"
    write_nemo(tmp_path / "m.nemo", config, _checkpoint(model.state_dict()), {"./1a2b_vocab.txt": b"a b c d"}, mode)
    vocab.unlink()
    restored = VocabModel.restore_from(tmp_path / "m.nemo")
    assert restored.words == ["a", "b", "c", "d"]
    assert same_weights(model, restored)


def test_a_nemo_config_is_returned_as_stored(tmp_path: Path) -> None:
    write_nemo(tmp_path / "m.nemo", "dim: 4\nhidden: 8\n", _checkpoint(TinyModel().state_dict()))
    config = TinyModel.restore_from(tmp_path / "m.nemo", return_config=True)
    assert dict(config) == {"dim": 4, "hidden": 8}


class Payload:
    def __init__(self, proof: Path) -> None:
        self.proof = proof

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (str(self.proof), "w"))


def test_a_pickled_payload_in_the_checkpoint_is_refused_and_never_run(tmp_path: Path) -> None:
    proof = tmp_path / "ran"
    write_nemo(tmp_path / "evil.nemo", "dim: 4\n", pickle.dumps({"inp.weight": Payload(proof)}, protocol=2))
    before = listing(tmp_path)
    with pytest.raises(ArchiveError) as caught:
        TinyModel.restore_from(tmp_path / "evil.nemo")
    assert caught.value.member == "model_weights.ckpt"
    assert caught.value.reason.startswith(
        "refused by torch.load(weights_only=True) (pickled code is never run): UnpicklingError: "
        "Weights only load failed"
    )
    assert not proof.exists()
    assert listing(tmp_path) == before


def test_a_checkpoint_that_is_not_a_state_dict_is_refused(tmp_path: Path) -> None:
    write_nemo(tmp_path / "m.nemo", "dim: 4\n", _checkpoint([torch.ones(2)]))
    with pytest.raises(ArchiveError) as caught:
        TinyModel.restore_from(tmp_path / "m.nemo")
    assert (caught.value.member, caught.value.reason) == (
        "model_weights.ckpt",
        "the checkpoint is not a state dict of named tensors",
    )


GOOD_WEIGHTS = _checkpoint(TinyModel().state_dict())


@pytest.mark.parametrize(
    ("name", "fields", "member", "reason"),
    [
        ("../evil", {}, "../evil", "member path escapes the archive (absolute or '..'); refusing the archive"),
        ("/tmp/x", {}, "/tmp/x", "member path escapes the archive (absolute or '..'); refusing the archive"),
        (
            "./link",
            {"type": tarfile.LNKTYPE, "linkname": "./model_config.yaml"},
            "./link",
            "links are not allowed; an archive holds regular files only",
        ),
        ("./fifo", {"type": tarfile.FIFOTYPE}, "./fifo", "only regular files are allowed in an archive"),
        ("./run.sh", {"mode": 0o4755}, "./run.sh", "setuid, setgid or sticky mode bits are not allowed"),
        ("./model_config.yaml", {}, "model_config.yaml", "the member name appears twice in the archive"),
        ("./sub/dir.txt", {}, "sub/dir.txt", "unexpected member: artifact names must be plain file names (letters, "
         "digits, '.', '_', '-'; no path separators, no '..', no leading dot; at most 200 characters)"),
    ],
)  # fmt: skip
def test_unsafe_tar_members_are_refused(
    tmp_path: Path, name: str, fields: dict[str, Any], member: str, reason: str
) -> None:
    archive = tmp_path / "bad.nemo"
    with tarfile.open(archive, "w") as tar:
        _add(tar, "./model_config.yaml", b"dim: 4\n")
        _add(tar, "./model_weights.ckpt", GOOD_WEIGHTS)
        _add(tar, name, b"payload", **fields)
    before = listing(tmp_path)
    with pytest.raises(ArchiveError) as caught:
        TinyModel.restore_from(archive)
    assert (caught.value.member, caught.value.reason) == (member, reason)
    assert listing(tmp_path) == before


def test_a_truncated_nemo_file_is_refused(tmp_path: Path) -> None:
    write_nemo(tmp_path / "m.nemo", "dim: 4\nhidden: 8\n", GOOD_WEIGHTS)
    data = (tmp_path / "m.nemo").read_bytes()
    (tmp_path / "cut.nemo").write_bytes(data[:1536])  # ends after the config: the weights are gone
    with pytest.raises(ArchiveError) as caught:
        TinyModel.restore_from(tmp_path / "cut.nemo")
    assert (caught.value.member, caught.value.reason) == (
        "model_weights.ckpt",
        "required member is missing (truncated, or not a NeMo archive)",
    )
    with tarfile.open(tmp_path / "m.nemo") as tar:
        weights = tar.getmember("./model_weights.ckpt")
    cut = weights.offset_data + weights.size // 2
    (tmp_path / "cut.nemo").write_bytes(data[:cut])
    with pytest.raises(ArchiveError) as caught:
        TinyModel.restore_from(tmp_path / "cut.nemo")
    assert (caught.value.member, caught.value.reason) == (
        "./model_weights.ckpt",
        f"it declares {weights.size} bytes, which end past the end of the {cut}-byte file (truncated?)",
    )
