"""Reading an archive costs what the archive is: bounded extraction, linear manifests, one class name, safe writes.

Amplification: a sparse or compressed ``.nemo`` member may not declare more than its file holds, a restore writes
only the artifacts its config refers to, a chunk at a time, within ``ArchiveLimits.max_extract_bytes``. Manifests
parse in linear time with their members capped. The manifest's ``target`` must be the config's ``_target_``. A
save that cannot be written raises an ``ArchiveError`` that is also an ``OSError`` and keeps the old file.
"""

from __future__ import annotations

import errno
import gzip
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors import SafetensorError
from test_archive_support import ArtifactModel, TinyModel, deadline, forge_archive, refused

from neuraltypes.archive import (
    ArchiveError,
    ArchiveLimits,
    ArchiveReader,
    ArchiveWriteError,
    Manifest,
    MemberRecord,
    archived_config,
    verify_archive,
)
from neuraltypes.archive._cli import main
from neuraltypes.archive._manifest import ManifestError, _no_duplicate_keys, sha256_hex

TESTS = str(Path(__file__).parent)
NEMO_CONFIG = b"vocab_path: nemo:1a2b_big.bin\n"


def _weights() -> bytes:
    buffer = io.BytesIO()
    torch.save(TinyModel().state_dict(), buffer)
    return buffer.getvalue()


def _regular(name: str, data: bytes) -> bytes:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info.tobuf(tarfile.GNU_FORMAT) + data + bytes(-len(data) % 512)


def _sparse(name: str, declared: int) -> bytes:
    """A GNU sparse member (type 'S') of ``declared`` bytes, all of them a hole: one 512-byte header, no data."""
    header = bytearray(_regular(name, b""))
    header[156:157] = b"S"
    header[386:398] = f"{declared:011o}\0".encode()  # one sparse entry: at offset `declared` ...
    header[398:410] = b"00000000000\0"  # ... 0 bytes of data
    header[483:495] = f"{declared:011o}\0".encode()  # the real (expanded) size
    header[148:156] = b" " * 8
    header[148:156] = f"{sum(header):06o}\0 ".encode()
    return bytes(header)


def nemo(path: Path, artifact: bytes | None = None, mode: str = "w", comment: str = "") -> None:
    """A .nemo of a TinyModel whose config refers to artifact ``1a2b_big.bin`` (``artifact``, if given).

    A ``comment`` goes into a PAX header of the config member (tarfile reads such headers whole).
    """
    with tarfile.open(path, mode, format=tarfile.PAX_FORMAT) as tar:  # type: ignore[call-overload]
        members = [("model_config.yaml", NEMO_CONFIG), ("model_weights.ckpt", _weights())]
        if artifact is not None:
            members.append(("1a2b_big.bin", artifact))
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            if comment and name == "model_config.yaml":
                info.pax_headers = {"comment": comment}
            tar.addfile(info, io.BytesIO(data))


# Finding 5: amplification. A .nemo may not declare more than its file holds; restores extract what the config
# refers to, a chunk at a time, within max_extract_bytes.


def test_a_gnu_sparse_member_is_refused_before_anything_is_written(sandbox: Path) -> None:
    archive = sandbox / "sparse.nemo"
    data = _regular("model_config.yaml", NEMO_CONFIG) + _regular("model_weights.ckpt", _weights())
    archive.write_bytes(data + _sparse("1a2b_big.bin", 1 << 30) + bytes(1024))
    assert archive.stat().st_size < 10 << 10
    error = refused(sandbox, archive, ArtifactModel)
    assert (error.member, error.reason) == (
        "1a2b_big.bin",
        "sparse members are not allowed (this one declares 1073741824 bytes that the file does not hold)",
    )


def _gnu_tar() -> str | None:
    found = shutil.which("tar")
    if found is None:
        return None
    version = subprocess.run([found, "--version"], capture_output=True, text=True, check=False).stdout
    return found if "GNU tar" in version else None


@pytest.mark.skipif(_gnu_tar() is None, reason="needs GNU tar")
def test_a_sparse_file_archived_by_gnu_tar_is_refused(sandbox: Path) -> None:
    folder = sandbox / "src"
    folder.mkdir()
    (folder / "model_config.yaml").write_bytes(NEMO_CONFIG)
    (folder / "model_weights.ckpt").write_bytes(_weights())
    with open(folder / "1a2b_big.bin", "wb") as hole:
        hole.truncate(64 << 20)  # a hole, no data
    archive = sandbox / "sparse.nemo"
    command = [str(_gnu_tar()), "--sparse", "-cf", str(archive), "-C", str(folder), "."]
    subprocess.run(command, check=True)
    shutil.rmtree(folder)
    if archive.stat().st_size > 1 << 20:
        pytest.skip("this file system does not keep holes, so tar stored the zeros")
    error = refused(sandbox, archive, ArtifactModel)
    assert (error.member, error.reason) == (
        "./1a2b_big.bin",
        "sparse members are not allowed (this one declares 67108864 bytes that the file does not hold)",
    )


def test_a_gzip_nemo_that_expands_past_its_ratio_is_refused_before_anything_is_written(sandbox: Path) -> None:
    archive = sandbox / "zeros.nemo"
    nemo(archive, bytes(64 << 20), "w:gz")  # 64 MiB of zeros: about 64 KiB on disk
    size = archive.stat().st_size
    assert size < 256 << 10
    error = refused(sandbox, archive, ArtifactModel)
    assert error.member == "1a2b_big.bin"
    assert error.reason.startswith(f"it declares {64 << 20} bytes: the archive would expand to at least ")
    assert error.reason.endswith(
        f" bytes, more than 16 times its {size} bytes on disk; refusing it. If you trust this archive, pass "
        "limits=ArchiveLimits(max_expansion_ratio=...) with a larger value (now 16.0)"
    )


def test_a_gzip_nemo_restores_when_its_expansion_ratio_is_allowed(sandbox: Path) -> None:
    archive = sandbox / "zeros.nemo"
    nemo(archive, bytes(8 << 20), "w:gz")
    assert refused(sandbox, archive, ArtifactModel).member == "1a2b_big.bin"
    model = ArtifactModel.restore_from(archive, limits=ArchiveLimits(max_expansion_ratio=10_000))
    assert Path(model.vocab_file).read_bytes() == bytes(8 << 20)


def test_a_tar_header_that_expands_past_the_ratio_is_refused_while_it_is_read(sandbox: Path) -> None:
    # tarfile reads a PAX header whole before the member is seen: the decompressed stream itself is bounded.
    archive = sandbox / "pax.nemo"
    nemo(archive, b"vocabulary", "w:gz", comment="a" * (512 << 10))
    size = archive.stat().st_size
    error = refused(sandbox, archive, ArtifactModel)
    assert (error.member, error.reason) == (
        None,
        f"it expands to more than {16 * size} bytes, 16 times its {size} bytes on disk; refusing it. If you trust "
        "this archive, pass limits=ArchiveLimits(max_expansion_ratio=...) with a larger value (now 16.0)",
    )


@pytest.mark.parametrize("mode", ["w", "w:gz"])
def test_a_tar_header_declaring_gigabytes_is_refused_before_it_is_read(sandbox: Path, mode: str) -> None:
    # tarfile reads a PAX header into a buffer of its declared size: 64 GiB here, from a file of a few KiB.
    header = tarfile.TarInfo("././@PaxHeader")
    header.type, header.size = tarfile.XHDTYPE, 64 << 30
    archive = sandbox / "pax.nemo"
    data = header.tobuf(tarfile.GNU_FORMAT) + b"20 comment=aaaaaaaa\n" + bytes(1024)
    archive.write_bytes(gzip.compress(data) if mode == "w:gz" else data)
    error = refused(sandbox, archive, ArtifactModel)
    assert (error.member, error.reason) == (
        None,
        "a tar header of 68719476736 bytes; real ones are under 1048576 (a few KiB)",
    )


def test_a_tar_with_too_many_members_is_refused(sandbox: Path) -> None:
    archive = sandbox / "many.nemo"
    nemo(archive, b"vocabulary")
    error = refused(sandbox, archive, ArtifactModel, limits=ArchiveLimits(max_members=2))
    assert (error.member, error.reason) == (
        "1a2b_big.bin",
        "the archive has more than 2 members; refusing it. If you trust this archive, pass "
        "limits=ArchiveLimits(max_members=...) with a larger value (now 2)",
    )


@pytest.mark.parametrize("kind", ["native", "nemo"])
def test_artifacts_beyond_max_extract_bytes_are_refused_before_anything_is_written(sandbox: Path, kind: str) -> None:
    archive = sandbox / f"m.{kind}"
    if kind == "nemo":
        nemo(archive, bytes(2000))
        member = "1a2b_big.bin"
    else:
        text = "_target_: test_archive_support.ArtifactModel\nvocab_path: nt-artifact:big.bin\n"
        forge_archive(archive, config_text=text, artifacts={"big.bin": bytes(2000)})
        member = "__neuraltypes__/artifacts/big.bin"
    error = refused(sandbox, archive, ArtifactModel, limits=ArchiveLimits(max_extract_bytes=1999))
    assert (error.member, error.reason) == (
        member,
        "the config refers to 2000 bytes of it; with the artifacts before it, restoring would write 2000 bytes to "
        "disk, more than 1999; refusing it. If you trust this archive, pass limits=ArchiveLimits("
        "max_extract_bytes=...) with a larger value (now 1999)",
    )
    assert Path(ArtifactModel.restore_from(archive, limits=ArchiveLimits(max_extract_bytes=2000)).vocab_file).is_file()


def test_only_the_artifacts_the_config_refers_to_are_written(sandbox: Path) -> None:
    archive = sandbox / "m.nta"
    text = "_target_: test_archive_support.ArtifactModel\nvocab_path: nt-artifact:used.txt\n"
    forge_archive(archive, config_text=text, artifacts={"used.txt": b"used", "unused.bin": bytes(1 << 20)})
    model = ArtifactModel.restore_from(archive)
    folder = Path(model.vocab_file).parent
    assert os.listdir(folder) == ["used.txt"]
    nemo(sandbox / "m.nemo", b"used")
    with tarfile.open(sandbox / "m.nemo", "a") as tar:
        info = tarfile.TarInfo("9f8e_unused.bin")
        info.size = 1 << 20
        tar.addfile(info, io.BytesIO(bytes(1 << 20)))
    model = ArtifactModel.restore_from(sandbox / "m.nemo")
    assert os.listdir(Path(model.vocab_file).parent) == ["1a2b_big.bin"]


def test_an_artifact_that_fails_its_checksum_while_copied_leaves_nothing_behind(sandbox: Path) -> None:
    archive = sandbox / "m.nta"
    text = "_target_: test_archive_support.ArtifactModel\nvocab_path: nt-artifact:big.bin\n"

    def wrong_sha(manifest: dict[str, Any]) -> None:
        manifest["members"][-1]["sha256"] = "0" * 64

    forge_archive(archive, config_text=text, artifacts={"big.bin": bytes(3 << 20)}, edit_manifest=wrong_sha)
    error = refused(sandbox, archive, ArtifactModel)
    assert error.member == "__neuraltypes__/artifacts/big.bin"
    assert error.reason.startswith("sha256 mismatch, the archive is corrupt (manifest 0000000000000000..., data ")


def test_a_large_artifact_is_copied_without_holding_it_in_memory(sandbox: Path) -> None:
    """Peak memory of restoring a 64 MiB artifact, native and .nemo, is a small fraction of it (was 2x)."""
    source = sandbox / "big.bin"
    source.write_bytes(bytes(64 << 20))
    ArtifactModel(str(source)).save_to(sandbox / "big.nta")
    nemo(sandbox / "big.nemo", source.read_bytes())
    source.unlink()
    script = textwrap.dedent(
        """
        import sys, tempfile
        sys.path.insert(0, sys.argv[1])
        from test_archive_support import ArtifactModel
        tempfile.tempdir = sys.argv[2]
        def status(key): return next(int(l.split()[1]) * 1024 for l in open("/proc/self/status") if l.startswith(key))
        ArtifactModel.restore_from(sys.argv[3])  # imports and allocator warmed up
        growth = []
        for path in sys.argv[3:]:
            open("/proc/self/clear_refs", "w").write("5")  # reset the peak
            before = status("VmRSS:")
            model = ArtifactModel.restore_from(path)
            growth.append(status("VmHWM:") - before)
            del model
        print(*growth)
        """
    )
    paths = [str(sandbox / "big.nta"), str(sandbox / "big.nemo")]
    command = [sys.executable, "-c", script, TESTS, str(sandbox / "tmp"), *paths]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    result = subprocess.run(command, capture_output=True, text=True, check=True, env=env, timeout=120)
    native, tar = map(int, result.stdout.split())
    assert native < 16 << 20 and tar < 16 << 20, (native >> 20, tar >> 20)


# Finding 6: manifests parse in linear time, with their size and members capped.


class CountingKey(str):
    """A string that counts how often it is compared for equality."""

    comparisons = 0

    def __eq__(self, other: object) -> bool:
        CountingKey.comparisons += 1
        return str.__eq__(self, other)

    __hash__ = str.__hash__


def test_duplicate_manifest_keys_are_found_without_comparing_every_pair() -> None:
    pairs = [(CountingKey(f"alias{i}"), "w") for i in range(2000)]
    CountingKey.comparisons = 0
    assert len(_no_duplicate_keys(pairs)) == 2000
    assert CountingKey.comparisons <= 2000  # a scan per key made ~4,000,000
    with pytest.raises(ManifestError, match="duplicate key 'alias7' in the manifest"):
        _no_duplicate_keys([*pairs, (CountingKey("alias7"), "w")])


def test_a_member_is_looked_up_without_scanning_the_manifest() -> None:
    records = tuple(MemberRecord(CountingKey(f"w{i}"), "weight", 0, "0" * 64) for i in range(2000))
    manifest = Manifest(target="a.B", members=records)
    CountingKey.comparisons = 0
    assert manifest.member("w1999") is records[-1]
    assert manifest.member("missing") is None
    assert CountingKey.comparisons <= 2  # a scan compared all 2000 names, once per member read


def _aliases(count: int) -> dict[str, str]:
    return {f"alias{i}": "inp.weight" for i in range(count)}


def test_a_manifest_of_200k_aliases_is_refused_at_once(sandbox: Path) -> None:
    archive = sandbox / "aliases.nta"
    forge_archive(archive, aliases=_aliases(200_000))
    started = time.perf_counter()
    with deadline(60):
        error = refused(sandbox, archive, TinyModel)
    assert time.perf_counter() - started < 5  # generous: a scan per key took minutes
    assert (error.member, error.reason) == (
        "manifest",
        "the manifest lists 200006 members and aliases, more than 100000; refusing it. If you trust this archive, "
        "pass limits=ArchiveLimits(max_members=...) with a larger value (now 100000)",
    )


def test_a_manifest_of_200k_aliases_is_read_quickly_when_allowed(sandbox: Path) -> None:
    archive = sandbox / "aliases.nta"
    forge_archive(archive, aliases=_aliases(200_000))
    started = time.perf_counter()
    with deadline(60), ArchiveReader(archive, limits=ArchiveLimits(max_members=300_000)) as reader:
        assert len(reader.manifest.aliases) == 200_000
    assert time.perf_counter() - started < 5  # generous: a scan per key took minutes


def test_a_manifest_over_max_manifest_bytes_is_refused(sandbox: Path) -> None:
    archive = sandbox / "m.nta"
    forge_archive(archive)
    error = refused(sandbox, archive, TinyModel, limits=ArchiveLimits(max_manifest_bytes=1000))
    assert (error.member, error.reason) == (
        "manifest",
        "the manifest is over 1000 bytes; refusing it. If you trust this archive, pass "
        "limits=ArchiveLimits(max_manifest_bytes=...) with a larger value (now 1000)",
    )


def test_a_deeply_nested_manifest_is_an_archive_error(sandbox: Path) -> None:
    archive = sandbox / "m.nta"
    forge_archive(archive, edit_manifest=lambda m: m.update(created_by=[]))
    data = archive.read_bytes()
    length = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + length])
    nested = header["__metadata__"]["neuraltypes.manifest"].replace('"created_by": []', '"x": ' + "[" * 100_000)
    header["__metadata__"].update(
        {"neuraltypes.manifest": nested, "neuraltypes.manifest_sha256": sha256_hex(nested.encode())}
    )
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    archive.write_bytes(len(text).to_bytes(8, "little") + text + data[8 + length :])
    error = refused(sandbox, archive, TinyModel)
    assert (error.member, error.reason) == ("manifest", "the manifest nests too deeply to be a manifest")


def test_a_shape_of_too_many_dimensions_is_refused(sandbox: Path) -> None:
    archive = sandbox / "m.nta"

    def deep_shape(manifest: dict[str, Any]) -> None:
        manifest["members"][1]["shape"] = [1] * 65 + [4]

    forge_archive(archive, edit_manifest=deep_shape)
    error = refused(sandbox, archive, TinyModel)
    assert (error.member, error.reason) == (
        "manifest",
        "member 'scale': its shape has 66 dimensions, more than a tensor's 64",
    )


def test_a_header_with_far_more_entries_than_the_manifest_is_refused(sandbox: Path) -> None:
    archive = sandbox / "m.nta"
    forge_archive(archive, extra_tensors={f"extra{i}": torch.zeros(1) for i in range(100)})
    error = refused(sandbox, archive, TinyModel)
    assert (error.member, error.reason) == (
        None,
        "the header holds far more entries than the 6 members the manifest lists",
    )


# Finding 7: the manifest's target is the config's _target_.


def test_a_manifest_target_other_than_the_configs_is_refused_everywhere(sandbox: Path) -> None:
    archive = sandbox / "m.nta"
    forge_archive(archive, edit_manifest=lambda m: m.update(target="os.system"))
    reason = (
        "the manifest's target 'os.system' is not the config's _target_ 'test_archive_support.TinyModel': the "
        "archive was changed after it was written"
    )
    for read in (
        lambda: TinyModel.restore_from(archive),
        lambda: TinyModel.restore_from(archive, return_config=True),
        lambda: verify_archive(archive),
        lambda: archived_config(archive),
        lambda: ArchiveReader(archive),
    ):
        with pytest.raises(ArchiveError) as caught:
            read()
        assert (caught.value.member, caught.value.reason) == ("manifest", reason)
    out, err = io.StringIO(), io.StringIO()
    assert main(["inspect", str(archive)], out=out, err=err) == 1
    assert out.getvalue() == ""  # never prints "model os.system"
    assert reason in err.getvalue()


def test_a_manifest_target_must_be_an_import_path(sandbox: Path) -> None:
    archive = sandbox / "m.nta"
    forge_archive(archive, config_text="_target_: ${oc.env:MODEL}\n")
    error = refused(sandbox, archive, TinyModel)
    assert (error.member, error.reason) == (
        "manifest",
        "'target' '${oc.env:MODEL}' is not an import path (a model class, like 'package.module.Model')",
    )


def test_a_config_without_target_does_not_match_the_manifest(sandbox: Path) -> None:
    archive = sandbox / "m.nta"
    forge_archive(
        archive, config_text="dim: 4\n", edit_manifest=lambda m: m.update(target="test_archive_support.TinyModel")
    )
    error = refused(sandbox, archive, TinyModel)
    assert (error.member, error.reason) == (
        "manifest",
        "the manifest's target 'test_archive_support.TinyModel' is not the config's _target_ None: the archive was "
        "changed after it was written",
    )


# Finding 8: a failed write is an ArchiveError and an OSError, with errno; the old archive survives.


def _saved(path: Path) -> bytes:
    TinyModel().save_to(path)
    return path.read_bytes()


def test_a_full_disk_reported_by_safetensors_raises_an_os_error_and_keeps_the_old_archive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = tmp_path / "m.nta"
    before = _saved(archive)

    def fill_the_disk(tensors: object, filename: str, metadata: object = None) -> None:
        Path(filename).write_bytes(b"partial")
        raise SafetensorError("Error while serializing: I/O error: No space left on device (os error 28)")

    monkeypatch.setattr("neuraltypes.archive._writer.save_file", fill_the_disk)
    with pytest.raises(OSError) as caught:  # what callers of a save catch for a full disk
        TinyModel().save_to(archive)
    error = caught.value
    assert isinstance(error, ArchiveError)
    assert (error.errno, error.strerror, error.path, error.member) == (
        errno.ENOSPC,
        "No space left on device",
        str(archive),
        None,
    )
    assert str(error) == (
        f"archive {str(archive)!r}: writing failed: [Errno 28] No space left on device; any previous file at this "
        "path is unchanged"
    )
    assert archive.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.nta"]


def test_a_real_file_size_limit_during_save_keeps_the_old_archive(tmp_path: Path) -> None:
    archive = tmp_path / "m.nta"
    before = _saved(archive)
    script = textwrap.dedent(
        """
        import resource, signal, sys
        sys.path.insert(0, sys.argv[1])
        from test_archive_support import TinyModel
        from neuraltypes.archive import ArchiveError
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # so that the write fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 << 10, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
        try:
            TinyModel(256, 512).save_to(sys.argv[2])  # 1 MiB of weights
        except OSError as error:
            print(type(error).__name__, isinstance(error, ArchiveError), error.errno)
        """
    )
    command = [sys.executable, "-c", script, TESTS, str(archive)]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    result = subprocess.run(command, capture_output=True, text=True, check=True, env=env, timeout=120)
    assert result.stdout.split() == ["ArchiveWriteError", "True", str(errno.EFBIG)], result.stderr
    assert archive.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.nta"]


def test_a_failed_rename_raises_an_os_error_and_keeps_the_old_archive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = tmp_path / "m.nta"
    before = _saved(archive)

    def cross_device(source: object, destination: object) -> None:
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr("neuraltypes.archive._atomic.os.replace", cross_device)
    with pytest.raises(OSError) as caught:
        TinyModel().save_to(archive)
    assert isinstance(caught.value, ArchiveError)
    assert caught.value.errno == errno.EXDEV
    monkeypatch.undo()
    assert archive.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.nta"]


def test_a_write_error_is_a_value_error_and_an_os_error_without_losing_its_message() -> None:
    error = ArchiveWriteError("writing failed", path="m.nta", errno=errno.ENOSPC)
    assert isinstance(error, ValueError) and isinstance(error, OSError)
    assert (str(error), error.errno, error.strerror, error.filename) == (
        "archive 'm.nta': writing failed",
        errno.ENOSPC,
        "No space left on device",
        "m.nta",
    )
    assert ArchiveWriteError("no errno").errno is None
