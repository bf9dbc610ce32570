"""save_to / restore_from round trips: the same model back, the right class, tied weights, artifacts, nesting."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import torch
from omegaconf import DictConfig, OmegaConf
from safetensors.torch import load_file
from test_archive_support import (
    AnnotatedEncoder,
    BufferModel,
    OddModel,
    ParentModel,
    TiedModel,
    TinyModel,
    TinySubclass,
    TypedModel,
    VocabModel,
    same_weights,
)

from neuraltypes.archive import ArchiveError, ArchiveReader, archived_config, verify_archive
from neuraltypes.nn import NeuralModule


def test_restored_model_has_identical_weights_and_output(tmp_path: Path) -> None:
    model = TinyModel(4, 8)
    model.save_to(tmp_path / "m.nta")
    restored = TinyModel.restore_from(tmp_path / "m.nta")
    assert type(restored) is TinyModel
    assert same_weights(model, restored)
    x = torch.randn(2, 4)
    assert torch.equal(model(x), restored(x))


def test_restoring_through_a_base_class_builds_the_archived_subclass(tmp_path: Path) -> None:
    TinySubclass(4, 8).save_to(tmp_path / "m.nta")
    assert type(TinyModel.restore_from(tmp_path / "m.nta")) is TinySubclass


def test_restoring_as_an_unrelated_class_is_refused(tmp_path: Path) -> None:
    TinyModel().save_to(tmp_path / "m.nta")
    with pytest.raises(ArchiveError) as caught:
        TiedModel.restore_from(tmp_path / "m.nta")
    assert str(caught.value) == (
        f"archive {str(tmp_path / 'm.nta')!r}, member '__neuraltypes__/config.yaml': the archive holds a "
        "test_archive_support.TinyModel, which is not a test_archive_support.TiedModel"
    )


def test_weights_come_back_on_cpu_by_default_in_the_archived_precision(tmp_path: Path) -> None:
    TinyModel().half().save_to(tmp_path / "m.nta")
    restored = TinyModel.restore_from(tmp_path / "m.nta")
    assert {p.device.type for p in restored.parameters()} == {"cpu"}
    assert {p.dtype for p in restored.parameters()} == {torch.float16}
    explicit = TinyModel.restore_from(tmp_path / "m.nta", map_location=torch.device("cpu"))
    assert same_weights(restored, explicit)


def test_without_mmap_restored_weights_are_private_copies(tmp_path: Path) -> None:
    model = TinyModel()
    model.save_to(tmp_path / "m.nta")
    restored = TinyModel.restore_from(tmp_path / "m.nta", mmap=False)
    (tmp_path / "m.nta").write_bytes(b"overwritten in place")
    assert same_weights(model, restored)


def test_tied_weights_are_stored_once_and_tied_again(tmp_path: Path) -> None:
    model = TiedModel()
    model.save_to(tmp_path / "t.nta")
    with ArchiveReader(tmp_path / "t.nta") as reader:
        assert [r.name for r in reader.manifest.weights] == ["embed.weight"]
        assert reader.manifest.aliases == (("project.weight", "embed.weight"),)
    restored = TiedModel.restore_from(tmp_path / "t.nta")
    assert restored.project.weight is restored.embed.weight
    assert same_weights(model, restored)


def test_non_persistent_buffers_are_recomputed_by_the_constructor(tmp_path: Path) -> None:
    BufferModel().save_to(tmp_path / "b.nta")
    restored = BufferModel.restore_from(tmp_path / "b.nta")
    assert torch.equal(restored.table, torch.tensor([0.0, 2.0, 4.0, 6.0]))


def test_archive_is_a_safetensors_file_holding_the_plain_weights(tmp_path: Path) -> None:
    model = TinyModel()
    model.save_to(tmp_path / "m.nta")
    tensors = load_file(tmp_path / "m.nta")
    weights = {k: v for k, v in tensors.items() if not k.startswith("__neuraltypes__/")}
    assert weights.keys() == model.state_dict().keys()
    assert all(torch.equal(weights[k], v) for k, v in model.state_dict().items())


def test_manifest_lists_every_member_with_size_sha256_and_the_typed_signature(tmp_path: Path) -> None:
    TypedModel().save_to(tmp_path / "m.nta")
    manifest = verify_archive(tmp_path / "m.nta")
    assert manifest.format_version == 1
    assert manifest.target == "test_archive_support.TypedModel"
    assert manifest.signature.inputs == (("x", 'NT[Tensor, "B T C", EncodedRepresentation]'),)
    assert manifest.signature.outputs == (("logits", 'NT[Tensor, "B T D", LogitsType]'),)
    assert [(r.name, r.kind, r.size) for r in manifest.members] == [
        ("__neuraltypes__/config.yaml", "config", manifest.members[0].size),
        ("scale", "weight", 16),
        ("inp.weight", "weight", 128),
        ("inp.bias", "weight", 32),
        ("out.weight", "weight", 128),
        ("out.bias", "weight", 32 // 2),
    ]
    assert all(len(r.sha256) == 64 for r in manifest.members)


def test_artifacts_survive_deletion_of_their_source_and_live_as_long_as_the_model(tmp_path: Path) -> None:
    vocab = tmp_path / "src" / "vocab.txt"
    vocab.parent.mkdir()
    vocab.write_text("alpha beta gamma")
    VocabModel(str(vocab)).save_to(tmp_path / "v.nta")
    shutil.rmtree(vocab.parent)
    restored = VocabModel.restore_from(tmp_path / "v.nta")
    assert restored.words == ["alpha", "beta", "gamma"]
    artifact = Path(restored.registered_artifacts["vocab_path"])
    assert artifact.read_text() == "alpha beta gamma"
    assert oct(artifact.parent.stat().st_mode & 0o777) == "0o700"
    folder = artifact.parent
    del restored
    import gc

    gc.collect()
    assert not folder.exists()


def test_a_restored_model_saves_again_with_its_artifacts(tmp_path: Path) -> None:
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("one two")
    VocabModel(str(vocab)).save_to(tmp_path / "a.nta")
    vocab.unlink()
    VocabModel.restore_from(tmp_path / "a.nta").save_to(tmp_path / "b.nta")
    assert VocabModel.restore_from(tmp_path / "b.nta").words == ["one", "two"]


def test_nested_models_and_their_artifacts_round_trip(tmp_path: Path) -> None:
    vocab = tmp_path / "tok.txt"
    vocab.write_text("x y z")
    model = ParentModel(TinyModel(), VocabModel(str(vocab)))
    model.save_to(tmp_path / "p.nta")
    vocab.unlink()
    restored = ParentModel.restore_from(tmp_path / "p.nta")
    assert type(restored.encoder) is TinyModel
    assert restored.tokenizer.words == ["x", "y", "z"]
    assert same_weights(model, restored)


def test_a_submodule_is_archived_alone(tmp_path: Path) -> None:
    model = ParentModel(TinyModel(), VocabModel(str(_vocab(tmp_path))))
    model.encoder.save_to(tmp_path / "enc.nta")
    assert same_weights(model.encoder, TinyModel.restore_from(tmp_path / "enc.nta"))


def _vocab(tmp_path: Path) -> Path:
    path = tmp_path / "vocab.txt"
    path.write_text("a b")
    return path


def test_return_config_gives_the_stored_config_without_building(tmp_path: Path) -> None:
    VocabModel(str(_vocab(tmp_path))).save_to(tmp_path / "v.nta")
    config = VocabModel.restore_from(tmp_path / "v.nta", return_config=True)
    assert isinstance(config, DictConfig)
    assert OmegaConf.to_container(config) == {
        "_target_": "test_archive_support.VocabModel",
        "vocab_path": "nt-artifact:vocab.txt",
    }
    assert archived_config(tmp_path / "v.nta") == config


def test_override_config_path_replaces_the_stored_config(tmp_path: Path) -> None:
    TinyModel(4, 8).save_to(tmp_path / "m.nta")
    override = tmp_path / "override.yaml"
    override.write_text("_target_: test_archive_support.TinyModel\ndim: 4\nhidden: 8\n")
    restored = TinyModel.restore_from(tmp_path / "m.nta", override_config_path=override)
    assert restored.to_config_dict()["hidden"] == 8
    with pytest.raises(
        ArchiveError, match="the model expects float32 \\[16, 4\\] but the archive holds float32 \\[8, 4\\]"
    ):
        TinyModel.restore_from(tmp_path / "m.nta", override_config_path=OmegaConf.create({"dim": 4, "hidden": 16}))


def test_strict_names_missing_and_unexpected_weights(tmp_path: Path) -> None:
    model = TinyModel()
    model.save_to(tmp_path / "m.nta")
    wider = OmegaConf.create({"_target_": "test_archive_support.TypedModel"})
    # A subclass with the same weights restores either way.
    assert same_weights(model, TinyModel.restore_from(tmp_path / "m.nta", override_config_path=wider))
    BufferModel().save_to(tmp_path / "b.nta")
    other = OmegaConf.create({"_target_": "test_archive_support.TinyModel"})
    with pytest.raises(ArchiveError) as caught:
        TinyModel.restore_from(tmp_path / "b.nta", override_config_path=other)
    assert caught.value.reason == (
        "the model has weights the archive lacks: scale, inp.weight, inp.bias, out.weight, out.bias; the archive "
        "holds weights the model does not have: lin.weight, lin.bias (restore with strict=False to keep the "
        "model's own values for missing weights and ignore unexpected ones)"
    )


def test_non_strict_restore_keeps_initial_values_for_missing_weights(tmp_path: Path) -> None:
    BufferModel(4).save_to(tmp_path / "b.nta")
    config = OmegaConf.create({"_target_": "test_archive_support.TinyModel", "dim": 4, "hidden": 4})
    restored = TinyModel.restore_from(tmp_path / "b.nta", strict=False, override_config_path=config)
    assert torch.equal(restored.scale, torch.ones(4))  # its constructor's value, not meta


def test_non_strict_restore_ignores_unexpected_weights(tmp_path: Path) -> None:
    model = TiedModel(10, 4)
    model.save_to(tmp_path / "t.nta")
    config = OmegaConf.create({"_target_": "test_archive_support.TiedModel", "vocab": 10, "dim": 4})
    restored = TiedModel.restore_from(tmp_path / "t.nta", strict=False, override_config_path=config)
    assert same_weights(model, restored)


def test_extract_state_dict_writes_verified_safetensors(tmp_path: Path) -> None:
    model = ParentModel(TinyModel(), VocabModel(str(_vocab(tmp_path))))
    model.save_to(tmp_path / "p.nta")
    state = ParentModel.extract_state_dict_from(tmp_path / "p.nta", tmp_path / "out")
    assert state.keys() == model.state_dict().keys()
    assert sorted(os.listdir(tmp_path / "out")) == ["model_weights.safetensors"]
    split = ParentModel.extract_state_dict_from(tmp_path / "p.nta", tmp_path / "split", split_by_module=True)
    assert split.keys() == state.keys()
    assert sorted(os.listdir(tmp_path / "split")) == [
        "encoder.safetensors",
        "head.safetensors",
        "tokenizer.safetensors",
    ]
    assert torch.equal(load_file(tmp_path / "split" / "head.safetensors")["weight"], model.head.weight)


def test_progress_bar_is_drawn_on_request(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    TinyModel().save_to(tmp_path / "m.nta", progress=True)
    TinyModel.restore_from(tmp_path / "m.nta", progress=True)
    err = capsys.readouterr().err
    assert "saving" in err and "restoring" in err
    TinyModel().save_to(tmp_path / "m.nta")
    assert capsys.readouterr().err == ""


def test_saving_a_module_without_config_names_the_problem(tmp_path: Path) -> None:
    from neuraltypes.archive import Archivable

    class Bare(Archivable, torch.nn.Module):
        pass

    with pytest.raises(ArchiveError) as caught:
        Bare().save_to(tmp_path / "b.nta")
    assert caught.value.reason.endswith("<locals>.Bare has no to_config_dict(); it cannot be archived")
    assert caught.value.path == str(tmp_path / "b.nta")
    assert os.listdir(tmp_path) == []


def test_a_neural_module_round_trips_with_its_annotated_signature(tmp_path: Path) -> None:
    encoder = AnnotatedEncoder(6)
    encoder.save_to(tmp_path / "enc.nta")
    manifest = verify_archive(tmp_path / "enc.nta")
    assert manifest.signature.inputs == (("features", str(encoder.input_types["features"])),)
    assert manifest.signature.outputs == (("output", str(encoder.output_types["output"])),)
    assert manifest.signature.inputs[0][1].startswith('NT[Tensor, "B T D"')
    restored = NeuralModule.restore_from(tmp_path / "enc.nta")
    assert type(restored) is AnnotatedEncoder
    assert same_weights(encoder, restored)


def test_a_model_without_artifacts_writes_no_files_when_restored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    TinyModel().save_to(tmp_path / "m.nta")
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    restored = TinyModel.restore_from(tmp_path / "m.nta")
    assert os.listdir(tmp_path / "tmp") == []
    assert restored is not None


def test_restore_maps_the_weights_copy_on_write(tmp_path: Path) -> None:
    model = TiedModel()
    model.save_to(tmp_path / "t.nta")
    before = (tmp_path / "t.nta").read_bytes()
    restored = TiedModel.restore_from(tmp_path / "t.nta")
    with torch.no_grad():
        restored.embed.weight.add_(1)  # training writes to private pages, never to the file
    assert (tmp_path / "t.nta").read_bytes() == before
    restored = TiedModel.restore_from(tmp_path / "t.nta")
    assert restored.project.weight is restored.embed.weight
    assert same_weights(model, restored)
    storage = restored.embed.weight.untyped_storage()
    assert storage.nbytes() == (tmp_path / "t.nta").stat().st_size  # a view of the whole mapped file
    model.save_to(tmp_path / "t.nta")  # an atomic replace leaves the mapped (old) file alone
    assert same_weights(model, restored)


@pytest.mark.parametrize("mmap", [True, False])
def test_every_dtype_and_odd_shape_round_trips(tmp_path: Path, mmap: bool) -> None:
    model = OddModel()
    with torch.no_grad():
        model.steps.mul_(3)
        model.flags.logical_not_()
    model.save_to(tmp_path / "odd.nta")
    restored = OddModel.restore_from(tmp_path / "odd.nta", mmap=mmap)
    assert same_weights(model, restored)
    assert restored.scalar.shape == () and restored.empty.shape == (0, 3)


def test_an_artifact_under_a_key_the_config_lacks_is_refused_at_save(tmp_path: Path) -> None:
    model = TinyModel()
    model.register_artifact("tokenizer.path", _vocab(tmp_path))
    with pytest.raises(ArchiveError) as caught:
        model.save_to(tmp_path / "m.nta")
    assert (caught.value.member, caught.value.reason) == (
        "tokenizer.path",
        f"artifact {str(tmp_path / 'vocab.txt')!r} is registered under config key 'tokenizer.path', which the "
        "model's config does not have, so a restored model could not find it",
    )
    assert not (tmp_path / "m.nta").exists()


def test_a_missing_artifact_file_at_save_names_it(tmp_path: Path) -> None:
    model = VocabModel(str(_vocab(tmp_path)))
    (tmp_path / "vocab.txt").unlink()
    with pytest.raises(ArchiveError) as caught:
        model.save_to(tmp_path / "m.nta")
    assert (caught.value.member, caught.value.reason) == (
        "vocab_path",
        f"cannot read artifact file {str(tmp_path / 'vocab.txt')!r}: No such file or directory",
    )
