"""``neuraltypes-archive export``: a saved model to ONNX without writing Python."""

import io
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("onnxscript", reason="ONNX export needs the export extra")
pytest.importorskip("onnxruntime", reason="ONNX export needs the export extra")

from neuraltypes_modules.encoders import ConvEncoder

from neuraltypes.archive._cli import main
from neuraltypes.export import read_signature


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(list(argv), out=out, err=err)
    return status, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("archive") / "encoder.nta"
    ConvEncoder(16, 32).save_to(path)
    return path


def test_export_writes_the_file_and_shows_its_signature(archive: Path, tmp_path: Path) -> None:
    status, out, err = run("export", str(archive), str(tmp_path / "m.onnx"), "--size", "D=16")
    assert (status, err) == (0, "")
    assert out.splitlines() == [
        f"wrote {tmp_path / 'm.onnx'}",
        "neuraltypes_modules.encoders.ConvEncoder",
        "inputs",
        '  audio_signal: NT[Tensor, "B D T", SpectrogramType, "float"]',
        '  length: NT[Tensor, "B", LengthsType, "int"]',
        "outputs",
        '  encoded: NT[Tensor, "B D_enc T", AcousticEncodedRepresentation, "float"]',
        '  encoded_length: NT[Tensor, "B", LengthsType, "int"]',
        "sizes",
        "  B: dynamic",
        "  T: dynamic",
        "  D: static 16 (fixed by the module)",
        "  D_enc: static 32 (computed by the module)",
    ]
    assert list(read_signature(tmp_path / "m.onnx").inputs) == ["audio_signal", "length"]


def test_a_size_the_weights_fix_is_asked_for_with_the_option_to_give_it(archive: Path, tmp_path: Path) -> None:
    status, out, err = run("export", str(archive), str(tmp_path / "m.onnx"), "--no-check")
    assert (status, out) == (1, "")
    assert err.startswith("error: ConvEncoder: torch.export could not trace the module with the example (B=2, D=3, ")
    assert err.endswith("input_example(sizes={...})\n(on this command line: --size NAME=N)\n")
    assert not (tmp_path / "m.onnx").exists()


def test_a_static_size_and_the_examples_batch_and_time_are_options(archive: Path, tmp_path: Path) -> None:
    argv = ("export", str(archive), str(tmp_path / "m.onnx"), "--size", "D=16", "--static", "T", "--max-dim", "50")
    status, out, _ = run(*argv, "--max-batch", "3", "--no-check")
    assert status == 0 and "  T: static 50 (static=)" in out.splitlines()


def test_a_bad_size_option_is_a_usage_error(archive: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        run("export", str(archive), str(tmp_path / "m.onnx"), "--size", "D")
    assert stopped.value.code == 2
    assert "--size takes NAME=N (such as D=64), not 'D'" in capsys.readouterr().err


def test_a_missing_archive_is_an_error(tmp_path: Path) -> None:
    status, out, err = run("export", str(tmp_path / "none.nta"), str(tmp_path / "m.onnx"))
    assert (status, out) == (1, "")
    assert err.startswith("error: ") and "none.nta" in err


@pytest.mark.slow
def test_a_fresh_process_imports_the_models_package_only_when_told(archive: Path, tmp_path: Path) -> None:
    command = [sys.executable, "-m", "neuraltypes.archive", "export", str(archive), str(tmp_path / "m.onnx")]
    refused = subprocess.run([*command, "--size", "D=16"], capture_output=True, text=True, timeout=300)
    assert refused.returncode == 1
    assert "refusing target 'neuraltypes_modules.encoders.ConvEncoder'" in refused.stderr
    assert refused.stderr.endswith("(on this command line: --import PACKAGE, once you trust the archive's class)\n")
    told = [*command, "--size", "D=16", "--import", "neuraltypes_modules.encoders"]
    done = subprocess.run(told, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"wrote {tmp_path / 'm.onnx'}\n")
