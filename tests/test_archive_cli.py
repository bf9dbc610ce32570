"""``python -m neuraltypes.archive``: inspect shows what an archive holds; verify checks every byte."""

from __future__ import annotations

import io
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from test_archive_support import TiedModel, TypedModel

from neuraltypes.archive import verify_archive
from neuraltypes.archive._cli import main


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(list(argv), out=out, err=err)
    return status, out.getvalue(), err.getvalue()


def test_inspect_shows_signature_members_and_config(tmp_path: Path) -> None:
    TypedModel(4, 8).save_to(tmp_path / "m.nta")
    status, out, err = run("inspect", str(tmp_path / "m.nta"))
    assert (status, err) == (0, "")
    lines = out.splitlines()
    assert lines[:2] == ["format version  1", "model           test_archive_support.TypedModel"]
    assert lines[2].startswith("created by      neuraltypes ")
    assert lines[3:7] == [
        "inputs",
        '  x: NT[Tensor, "B T C", EncodedRepresentation]',
        "outputs",
        '  logits: NT[Tensor, "B T D", LogitsType]',
    ]
    assert lines[7] == "members         6, 379 B"  # 320 bytes of weights and a 59-byte config
    assert lines[8].startswith("  config   config.yaml")
    assert lines[9].split()[:5] == ["weight", "scale", "16", "B", lines[9].split()[4]]
    assert lines[9].endswith("float32 [4]")
    assert lines[14:] == ["config:", "_target_: test_archive_support.TypedModel", "dim: 4", "hidden: 8"]


def test_inspect_lists_tied_weights_and_full_hashes_on_request(tmp_path: Path) -> None:
    TiedModel().save_to(tmp_path / "t.nta")
    status, out, _ = run("inspect", "--no-config", "--full-hashes", str(tmp_path / "t.nta"))
    assert status == 0
    assert out.splitlines()[-1] == "  tied     project.weight -> embed.weight"
    assert len(out.splitlines()[-2].split()[4]) == 64
    assert "config:" not in out


def test_verify_reports_ok_or_the_corrupt_member(tmp_path: Path) -> None:
    TiedModel().save_to(tmp_path / "t.nta")
    status, out, _ = run("verify", str(tmp_path / "t.nta"))
    assert status == 0
    size = sum(record.size for record in verify_archive(tmp_path / "t.nta").members)
    assert out == f"OK: {tmp_path / 't.nta'}: 2 members, {size} bytes, all sha256 match\n"
    data = bytearray((tmp_path / "t.nta").read_bytes())
    data[-60] ^= 1
    (tmp_path / "t.nta").write_bytes(bytes(data))
    status, out, err = run("verify", str(tmp_path / "t.nta"))
    assert (status, out) == (1, "")
    assert err.startswith(f"error: archive {str(tmp_path / 't.nta')!r}, member 'embed.weight': sha256 mismatch")


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    status, _, err = run("verify", str(tmp_path / "nope.nta"))
    assert status == 1
    assert err == f"error: [Errno 2] No such file or directory: {str(tmp_path / 'nope.nta')!r}\n"


def test_inspect_describes_a_nemo_file(tmp_path: Path) -> None:
    with tarfile.open(tmp_path / "m.nemo", "w") as tar:
        for name, data in [("./model_config.yaml", b"dim: 4\n"), ("./model_weights.ckpt", b"x" * 10)]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    status, out, _ = run("inspect", str(tmp_path / "m.nemo"))
    assert status == 0
    assert out.splitlines() == [
        "NeMo 1.x archive (no checksums, no typed signature; restore it to migrate)",
        "  model_config.yaml  7 B",
        "  model_weights.ckpt  10 B",
        "config:",
        "dim: 4",
        "",
    ]


@pytest.mark.slow
def test_module_entry_point_runs(tmp_path: Path) -> None:
    TiedModel().save_to(tmp_path / "t.nta")
    result = subprocess.run(
        [sys.executable, "-m", "neuraltypes.archive", "verify", str(tmp_path / "t.nta")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("OK: ")
