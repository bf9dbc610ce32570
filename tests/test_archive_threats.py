"""One test per row of the archive threats table: the specific error, nothing written, nothing run.

Rows about tar members (1-6 in their tar form, 8 for pickled checkpoints) are also exercised against the NeMo
1.x reader in ``test_archive_nemo.py``; atomic saving (rows 12, 13) in ``test_archive_atomic.py``.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import torch
from omegaconf import OmegaConf
from test_archive_support import (
    LabelModel,
    TinyModel,
    VocabModel,
    deadline,
    forge_archive,
    raw_safetensors,
    refused,
    same_weights,
)

import neuraltypes
from neuraltypes.archive import ArchiveError, verify_archive
from neuraltypes.archive._format import CONFIG_MEMBER


class Payload:
    """Unpickling this creates a file: proof that code ran."""

    def __init__(self, proof: Path) -> None:
        self.proof = proof

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (str(self.proof), "w"))


def test_row1_member_escaping_with_dotdot_is_rejected(sandbox: Path) -> None:
    archive = sandbox / "a.nta"
    forge_archive(archive, artifacts={"../evil": b"x"})
    error = refused(sandbox, archive)
    assert error.member == "manifest"
    assert error.reason == (
        "member '__neuraltypes__/artifacts/../evil': artifact names must be plain file names (letters, digits, "
        "'.', '_', '-'; no path separators, no '..', no leading dot; at most 200 characters)"
    )
    assert not (sandbox / "evil").exists()


def test_row2_absolute_member_is_rejected(sandbox: Path) -> None:
    archive = sandbox / "a.nta"
    forge_archive(archive, artifacts={str(sandbox / "x"): b"x"})
    error = refused(sandbox, archive)
    assert "artifact names must be plain file names" in error.reason
    forge_archive(archive, config_text=f"_target_: test_archive_support.TinyModel\ndim: nt-artifact:{sandbox}/x\n")
    error = refused(sandbox, archive)
    assert (error.member, error.reason) == (
        CONFIG_MEMBER,
        f"'dim' refers to artifact '{sandbox}/x', which the archive does not hold",
    )


def test_row3_links_cannot_be_expressed_and_a_tar_of_links_is_refused(sandbox: Path) -> None:
    # The format has no links at all (members are byte ranges); a tar with a link goes to the NeMo reader.
    import tarfile

    archive = sandbox / "links.nemo"
    with tarfile.open(archive, "w") as tar:
        info = tarfile.TarInfo("model_config.yaml")
        info.type = tarfile.SYMTYPE
        info.linkname = "/etc/passwd"
        tar.addfile(info)
    error = refused(sandbox, archive)
    assert (error.member, error.reason) == (
        "model_config.yaml",
        "links are not allowed; an archive holds regular files only",
    )


def test_row4_duplicate_member_names_are_rejected(sandbox: Path) -> None:
    archive = sandbox / "dup.nta"
    forge_archive(archive)
    good = archive.read_bytes()
    length = int.from_bytes(good[:8], "little")
    header = good[8 : 8 + length].decode().rstrip()
    # Repeat the first tensor entry under the same name: safetensors alone would keep one silently.
    start = header.index('"inp.bias"')
    end = header.index("}", start) + 1
    duplicated = header[:start] + header[start:end] + "," + header[start:]
    archive.write_bytes(raw_safetensors(duplicated, good[8 + length :]))
    error = refused(sandbox, archive)
    assert (error.member, error.reason) == ("inp.bias", "the member name appears twice in the header")


def test_row4_duplicate_names_in_the_manifest_are_rejected(sandbox: Path) -> None:
    archive = sandbox / "dup.nta"
    forge_archive(archive, edit_manifest=lambda m: m["members"].append(dict(m["members"][1])))
    error = refused(sandbox, archive)
    assert (error.member, error.reason) == ("manifest", "member 'scale' is listed twice")


def test_row5_unlisted_member_is_rejected(sandbox: Path) -> None:
    archive = sandbox / "extra.nta"
    forge_archive(archive, extra_tensors={"smuggled": torch.zeros(3)})
    error = refused(sandbox, archive)
    assert (error.member, error.reason) == ("smuggled", "not listed in the manifest")


def test_row5_oversize_config_is_rejected_before_reading(sandbox: Path) -> None:
    archive = sandbox / "huge.nta"
    forge_archive(archive, config_text="a: 1\n" + "#" * (1 << 20))
    error = refused(sandbox, archive)
    assert (error.member, error.reason) == (
        "manifest",
        "member '__neuraltypes__/config.yaml': 1048581 bytes exceeds the 1048576 cap",
    )


def test_row5_unknown_header_metadata_is_rejected(sandbox: Path) -> None:
    archive = sandbox / "meta.nta"
    forge_archive(archive, edit_metadata=lambda m: m.update({"setuid": "1"}))
    error = refused(sandbox, archive)
    assert (error.member, error.reason) == ("manifest", "unexpected header metadata key 'setuid'")


def test_row6_truncated_archive_is_rejected_wherever_it_is_cut(sandbox: Path) -> None:
    TinyModel().save_to(sandbox / "m.nta")
    data = (sandbox / "m.nta").read_bytes()
    for cut in (0, 7, 8, 100, len(data) // 2, len(data) - 1):
        (sandbox / "cut.nta").write_bytes(data[:cut])
        error = refused(sandbox, sandbox / "cut.nta")
        assert error.reason.startswith("not a valid archive (its safetensors header was rejected): ")


def test_row6_archive_missing_a_listed_member_is_rejected(sandbox: Path) -> None:
    archive = sandbox / "short.nta"
    weights = dict(TinyModel().state_dict())

    def add_phantom(manifest: dict[str, Any]) -> None:
        manifest["members"].append(dict(manifest["members"][1], name="phantom"))

    forge_archive(archive, tensors=weights, edit_manifest=add_phantom)
    error = refused(sandbox, archive)
    assert (error.member, error.reason) == (
        "phantom",
        "listed in the manifest but missing from the archive (truncated?)",
    )


def test_row7_one_flipped_bit_in_the_weights_is_caught(sandbox: Path) -> None:
    TinyModel().save_to(sandbox / "m.nta")
    data = bytearray((sandbox / "m.nta").read_bytes())
    length = int.from_bytes(data[:8], "little")
    start, _ = json.loads(data[8 : 8 + length])["inp.weight"]["data_offsets"]
    data[8 + length + start + 5] ^= 0x10
    (sandbox / "m.nta").write_bytes(bytes(data))
    error = refused(sandbox, sandbox / "m.nta")
    assert error.member == "inp.weight"
    assert error.reason.startswith("sha256 mismatch, the archive is corrupt (manifest ")


def test_row7_flipped_bit_in_the_manifest_or_config_is_caught(sandbox: Path) -> None:
    TinyModel().save_to(sandbox / "m.nta")
    data = (sandbox / "m.nta").read_bytes()
    index = data.index(f"neuraltypes {neuraltypes.__version__}".encode())  # the manifest's created_by text
    (sandbox / "m.nta").write_bytes(data[:index] + b"N" + data[index + 1 :])
    error = refused(sandbox, sandbox / "m.nta")
    assert (error.member, error.reason) == ("manifest", "sha256 mismatch: the manifest is corrupt")
    index = data.index(b"_target_: test_archive_support")  # the config member's bytes
    (sandbox / "m.nta").write_bytes(data[:index] + b"X" + data[index + 1 :])
    error = refused(sandbox, sandbox / "m.nta")
    assert error.member == CONFIG_MEMBER
    assert error.reason.startswith("sha256 mismatch")


def test_row8_pickle_payload_is_never_unpickled(sandbox: Path) -> None:
    proof = sandbox / "ran"
    archive = sandbox / "payload.nta"
    archive.write_bytes(pickle.dumps(Payload(proof)))
    error = refused(sandbox, archive)
    assert error.reason.startswith("not a valid archive (its safetensors header was rejected)")
    torch.save({"weight": Payload(proof)}, archive)
    error = refused(sandbox, archive)
    assert error.reason.startswith("not a valid archive (its safetensors header was rejected)")
    assert not proof.exists()


@pytest.mark.parametrize(
    ("target", "why"),
    [
        ("os.system", "it resolves to builtin_function_or_method"),
        ("torch.optim.optimizer.torch.load", "it resolves to function torch.serialization.load"),
        ("builtins.open", "it resolves to builtin_function_or_method"),
    ],
)
def test_row9_config_target_outside_the_allowlist_is_refused(sandbox: Path, target: str, why: str) -> None:
    archive = sandbox / "target.nta"
    forge_archive(archive, config_text=f"_target_: {target}\ncommand: touch {sandbox}/ran\n")
    error = refused(sandbox, archive)
    assert error.member == CONFIG_MEMBER
    assert error.reason.startswith(f"refusing the config's _target_: refusing to instantiate target {target!r}")
    assert why in error.reason
    assert not (sandbox / "ran").exists()


def test_row9_nested_target_outside_the_allowlist_is_refused(sandbox: Path) -> None:
    archive = sandbox / "nested.nta"
    text = f"_target_: test_archive_support.LabelModel\nlabel:\n  _target_: os.system\n  command: touch {sandbox}/ran\n"
    forge_archive(archive, tensors=dict(LabelModel().state_dict()), config_text=text)
    error = refused(sandbox, archive, LabelModel)
    assert error.member == CONFIG_MEMBER
    assert "UnsafeTargetError: refusing to instantiate target 'os.system'" in error.reason
    assert not (sandbox / "ran").exists()


def test_row10_environment_secrets_are_stored_unresolved(sandbox: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NT_TEST_SECRET", "hunter2-secret-value")
    config = OmegaConf.create({"label": "${oc.env:NT_TEST_SECRET}"})
    model = LabelModel.from_config_dict(config, allow_resolvers=True)
    assert model.label == "hunter2-secret-value"
    model.save_to(sandbox / "m.nta")
    data = (sandbox / "m.nta").read_bytes()
    assert b"hunter2" not in data
    assert b"${oc.env:NT_TEST_SECRET}" in data


def test_row10_resolvers_in_an_archived_config_are_not_evaluated(
    sandbox: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NT_TEST_SECRET", "hunter2-secret-value")
    archive = sandbox / "env.nta"
    text = "_target_: test_archive_support.LabelModel\nlabel: prefix-${oc.env:NT_TEST_SECRET}\n"
    forge_archive(archive, tensors=dict(LabelModel().state_dict()), config_text=text)
    with pytest.warns(UserWarning) as warned:
        config = LabelModel.restore_from(archive, return_config=True)
    assert str(warned[0].message) == (
        "__neuraltypes__/config.yaml: resolver interpolations in an archived config are not evaluated; these keys "
        "are now missing ('???'): label. Pass override_config_path to supply them."
    )
    assert OmegaConf.to_container(config) == {"_target_": "test_archive_support.LabelModel", "label": "???"}


def test_row11_yaml_alias_bomb_is_refused_at_once(sandbox: Path) -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(9)
    )
    archive = sandbox / "bomb.nta"
    forge_archive(archive, config_text=bomb)
    started = time.perf_counter()
    error = refused(sandbox, archive)
    assert time.perf_counter() - started < 2
    assert (error.member, error.reason) == (CONFIG_MEMBER, "YAML anchors and aliases are not allowed in a config")


def test_row14_restore_works_in_a_fresh_cwd_and_home_without_the_artifact_sources(
    sandbox: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    source = tmp_path_factory.mktemp("original") / "vocab.txt"
    source.write_text("red green blue")
    VocabModel(str(source)).save_to(sandbox / "v.nta")
    source.unlink()
    source.parent.rmdir()
    restored = VocabModel.restore_from(sandbox / "v.nta")
    assert restored.words == ["red", "green", "blue"]
    assert Path(restored.vocab_file).read_text() == "red green blue"
    assert os.listdir(sandbox / "cwd") == [] and os.listdir(sandbox / "home") == []


def test_row15_malformed_safetensors_headers_are_rejected(sandbox: Path) -> None:
    cases = {
        "oversize header": (1 << 40).to_bytes(8, "little") + b"{}",
        "not json": raw_safetensors("{not json", b""),
        "overlap": raw_safetensors(
            {
                "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]},
            },
            bytes(12),
        ),
        "trailing bytes": raw_safetensors({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, bytes(8)),
    }
    for name, data in cases.items():
        (sandbox / "bad.nta").write_bytes(data)
        error = refused(sandbox, sandbox / "bad.nta")
        assert error.reason.startswith("not a valid archive (its safetensors header was rejected): "), name


def test_row15_manifest_that_disagrees_with_the_data_is_rejected(sandbox: Path) -> None:
    archive = sandbox / "lie.nta"

    def claim_half(manifest: dict[str, Any]) -> None:
        record = manifest["members"][2]
        record["dtype"], record["size"] = "float16", record["size"] // 2

    forge_archive(archive, edit_manifest=claim_half)
    error = refused(sandbox, archive)
    assert (error.member, error.reason) == (
        "inp.weight",
        "the manifest says float16 [8, 4] but the data is float32 [8, 4]",
    )


def test_row15_weights_that_do_not_fit_the_model_are_rejected_before_loading(sandbox: Path) -> None:
    archive = sandbox / "shape.nta"
    weights = dict(TinyModel().state_dict())
    weights["inp.weight"] = torch.zeros(8, 5)
    forge_archive(archive, tensors=weights)
    error = refused(sandbox, archive)
    assert (error.member, error.reason) == (
        "inp.weight",
        "the model expects float32 [8, 4] but the archive holds float32 [8, 5]",
    )
    weights["inp.weight"] = torch.zeros(8, 4, dtype=torch.int64)
    forge_archive(archive, tensors=weights)
    error = refused(sandbox, archive)
    assert error.reason == "the model expects float32 [8, 4] but the archive holds int64 [8, 4]"


def test_row16_archives_record_no_device_and_restore_to_cpu(sandbox: Path) -> None:
    TinyModel().save_to(sandbox / "m.nta")
    assert b"cuda" not in (sandbox / "m.nta").read_bytes()
    restored = TinyModel.restore_from(sandbox / "m.nta")
    assert {tensor.device.type for tensor in restored.state_dict().values()} == {"cpu"}


def test_row17_restore_holds_one_copy_of_the_weights_and_writes_nothing(sandbox: Path) -> None:
    script = textwrap.dedent(
        """
        import sys, tempfile, os
        sys.path.insert(0, sys.argv[2])
        import torch
        from test_archive_support import TinyModel
        tempfile.tempdir = sys.argv[3]
        TinyModel(4, 8).save_to(sys.argv[1] + ".warm")
        TinyModel.restore_from(sys.argv[1] + ".warm")  # imports and allocator warmed up
        def status(key): return next(int(l.split()[1]) * 1024 for l in open("/proc/self/status") if l.startswith(key))
        open("/proc/self/clear_refs", "w").write("5")  # reset the peak (imports peaked higher than now)
        before = status("VmRSS:")
        model = TinyModel.restore_from(sys.argv[1])
        peak = status("VmHWM:")
        print(before, peak, sum(t.nbytes for t in model.state_dict().values()))
        """
    )
    dim = 2048
    torch.manual_seed(0)
    with torch.device("meta"):
        big = TinyModel(dim, 4096)
    big.to_empty(device="cpu")
    big.save_to(sandbox / "big.nta")
    del big
    env = dict(os.environ, OMP_NUM_THREADS="1")
    result = subprocess.run(
        [sys.executable, "-c", script, str(sandbox / "big.nta"), str(Path(__file__).parent), str(sandbox / "tmp")],
        capture_output=True, text=True, check=True, env=env, timeout=120,
    )  # fmt: skip
    before, peak, weights = map(int, result.stdout.split())
    assert weights >= 64 << 20
    # One copy, not two (a naive load peaks at 2x); the 1.2x target itself is measured in benchmarks/, since
    # page-cache and allocator noise on a loaded machine can push a single run a little past it.
    assert peak - before <= 1.5 * weights, (peak - before) / weights
    assert os.listdir(sandbox / "tmp") == []


def test_row18_concurrent_restores_in_one_process_do_not_interfere(sandbox: Path) -> None:
    models = [TinyModel(4, 8 + i) for i in range(4)]
    for i, model in enumerate(models):
        model.save_to(sandbox / f"m{i}.nta")
    results: dict[int, TinyModel] = {}
    cwd = os.getcwd()

    def restore(i: int) -> None:
        for _ in range(3):
            results[i] = TinyModel.restore_from(sandbox / f"m{i}.nta")

    threads = [threading.Thread(target=restore, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert os.getcwd() == cwd
    assert all(same_weights(models[i], results[i]) for i in range(4))


def test_row19_newer_format_version_names_the_versions(sandbox: Path) -> None:
    archive = sandbox / "future.nta"
    forge_archive(archive, edit_manifest=lambda m: m.update(format_version=2))
    error = refused(sandbox, archive)
    assert (error.member, error.reason) == (
        "manifest",
        "archive format version 2 is newer than this library reads (up to 1); upgrade neuraltypes to restore it",
    )
    forge_archive(archive, edit_manifest=lambda m: m.update(format_version="1"))
    assert refused(sandbox, archive).reason == "format_version '1' is not a known archive format version"


def test_row20_only_rank_zero_writes_in_a_distributed_job(sandbox: Path) -> None:
    script = textwrap.dedent(
        """
        import os, sys
        sys.path.insert(0, sys.argv[2])
        import torch, torch.distributed as dist
        from test_archive_support import TinyModel, same_weights
        dist.init_process_group("gloo")
        rank = dist.get_rank()
        torch.manual_seed(rank)
        model = TinyModel()
        model.save_to(sys.argv[1])
        restored = TinyModel.restore_from(sys.argv[1])  # every rank returns after rank 0 has written
        matches = [None, None]
        dist.all_gather_object(matches, same_weights(model, restored))
        print(rank, matches)
        dist.destroy_process_group()
        """
    )
    env = dict(
        os.environ,
        OMP_NUM_THREADS="1",
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(29500 + os.getpid() % 1000),
        WORLD_SIZE="2",
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(sandbox / "m.nta"), str(Path(__file__).parent)],
            env=dict(env, RANK=str(rank)),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for rank in range(2)
    ]
    outputs = [process.communicate(timeout=120) for process in processes]
    assert [process.returncode for process in processes] == [0, 0], outputs
    assert [out.strip() for out, _ in outputs] == ["0 [True, False]", "1 [True, False]"]
    assert sorted(os.listdir(sandbox)) == ["cwd", "home", "m.nta", "tmp"]


def test_a_fifo_or_folder_is_refused_without_blocking(sandbox: Path) -> None:
    os.mkfifo(sandbox / "pipe.nta")
    with deadline(10):
        error = refused(sandbox, sandbox / "pipe.nta")
    assert (error.member, error.reason) == (None, "not a regular file")
    with pytest.raises(ArchiveError, match="not a regular file"):
        verify_archive(sandbox / "pipe.nta")


def test_row7_flipped_bit_is_caught_without_mmap_too(sandbox: Path) -> None:
    TinyModel().save_to(sandbox / "m.nta")
    data = bytearray((sandbox / "m.nta").read_bytes())
    length = int.from_bytes(data[:8], "little")
    start, _ = json.loads(data[8 : 8 + length])["out.weight"]["data_offsets"]
    data[8 + length + start] ^= 0x01
    (sandbox / "m.nta").write_bytes(bytes(data))
    error = refused(sandbox, sandbox / "m.nta", mmap=False)
    assert error.member == "out.weight"
    assert error.reason.startswith("sha256 mismatch")


def test_row10_only_resolvers_that_read_the_config_survive_loading(sandbox: Path) -> None:
    archive = sandbox / "sel.nta"
    text = (
        "_target_: test_archive_support.LabelModel\nlabel: ${oc.select:name, plain}\nname: x\n"
        "home: ${oc.env:HOME}\nindirect: ${${name}:y}\n"
    )
    forge_archive(archive, tensors=dict(LabelModel().state_dict()), config_text=text)
    with pytest.warns(UserWarning, match=r"these keys are now missing \('\?\?\?'\): home, indirect\."):
        config = LabelModel.restore_from(archive, return_config=True)
    assert OmegaConf.to_container(config) == {
        "_target_": "test_archive_support.LabelModel",
        "label": "${oc.select:name, plain}",
        "name": "x",
        "home": "???",
        "indirect": "???",
    }
