"""What a newcomer does, in a fresh virtual environment: install as the README says, then use the package.

- ``pip install .`` (no extras): ``save_to`` / ``restore_from`` and the archive command work (safetensors'
  torch writer and the archive's byte views need numpy, a dependency of the library itself).
- ``pip install -e ".[mypy]"``, then mypy with the plugin from a project of one's own, with no ``MYPYPATH``:
  mypy finds ``neuraltypes`` and ``neuraltypes_modules`` (the editable install puts a folder of links to the
  packages on ``sys.path``, which mypy and pyright search, rather than only an import hook, which they do not
  follow: see _custom_build/backend.py), reports the planted mistakes and nothing on valid code; pyright
  finds them too.

Both work on a copy of the source tree (the builds write ``build/`` and ``*.egg-info`` there) in one virtual
environment made for this module, with torch installed from pip's cache (``TORCH_SPEC`` names another).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
#: Not copied: environments, caches and build outputs.
SKIP = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis", "lightning_logs",
    "outputs", "*.nta",
)  # fmt: skip


class Venv:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.python = path / "bin" / "python"

    def run(self, *args: str | Path, cwd: Path | None = None, timeout: float = 300) -> str:
        env = {key: value for key, value in os.environ.items() if key not in ("MYPYPATH", "PYTHONPATH", "VIRTUAL_ENV")}
        done = subprocess.run(
            [str(arg) for arg in args], cwd=cwd, env={**env, "OMP_NUM_THREADS": "1"},
            capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip
        assert done.returncode == 0, f"$ {' '.join(map(str, args))}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        return done.stdout

    def pip(self, *args: str | Path) -> str:
        return self.run(self.python, "-m", "pip", "install", "-q", *args, timeout=600)


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Venv:
    path = tmp_path_factory.mktemp("venv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True, timeout=120)
    made = Venv(path)
    made.pip(os.environ.get("TORCH_SPEC", f"torch=={torch.__version__.split('+')[0]}"))
    return made


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = tmp_path_factory.mktemp("source") / "neuraltypes"
    shutil.copytree(ROOT, copy, ignore=SKIP, symlinks=True)
    return copy


TINY_MODEL = """
import sys

import torch
from torch import Tensor

from neuraltypes import NT, LogitsType
from neuraltypes.nn import NeuralModule


class Tiny(NeuralModule):
    def __init__(self, dim: int = 4, classes: int = 3) -> None:
        super().__init__()
        self.proj = torch.nn.Linear(dim, classes)

    def forward(self, x: NT[Tensor, "B D", "float"]) -> NT[Tensor, "B C", LogitsType]:
        return self.proj(x)


if __name__ == "__main__":
    model = Tiny()
    model.save_to(sys.argv[1])
    restored = Tiny.restore_from(sys.argv[1])
    x = torch.randn(2, 4)
    print("outputs identical:", torch.equal(model(x), restored(x)))
"""


def test_a_plain_install_saves_restores_and_inspects_archives(venv: Venv, source: Path, tmp_path: Path) -> None:
    venv.pip(source)
    (tmp_path / "tiny.py").write_text(TINY_MODEL)
    archive = tmp_path / "tiny.nta"
    assert venv.run(venv.python, "tiny.py", archive, cwd=tmp_path) == "outputs identical: True\n"
    report = venv.run(venv.python, "-m", "neuraltypes.archive", "inspect", archive, cwd=tmp_path)
    assert "model           __main__.Tiny" in report and 'output: NT[Tensor, "B C", LogitsType]' in report
    assert venv.run(venv.python, "-m", "neuraltypes.archive", "verify", archive).startswith("OK: ")
    assert venv.run(venv.path / "bin" / "neuraltypes-archive", "verify", archive).startswith("OK: ")


MODEL = """
from torch import Tensor, nn

from neuraltypes import NT, LengthsType, LogitsType, MelSpectrogramType, ProbsType
from neuraltypes_modules.encoders import ConvEncoder


def score(p: NT[Tensor, "B T V", ProbsType]) -> Tensor:
    return p.sum()


class Model(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.encoder = ConvEncoder(feat_in=80, hidden=16)

    def forward(
        self, mel: NT[Tensor, "B D T", MelSpectrogramType], lengths: NT[Tensor, "B", LengthsType, "int64"]
    ) -> NT[Tensor, "B D_enc T", "float"]:
        encoded, _ = self.encoder(audio_signal=mel, length=lengths)
        return encoded


def use(model: Model, mel: NT[Tensor, "B D T", MelSpectrogramType], lengths: NT[Tensor, "B", LengthsType, "int64"],
        logits: NT[Tensor, "B T V", LogitsType]) -> None:
    model(mel, lengths)
    model(mel.transpose(1, 2), lengths)  # MISTAKE: axes transposed
    score(logits)  # MISTAKE: logits where probabilities are expected
"""
CONFIG = "[mypy]\nplugins = neuraltypes_mypy_plugin\nstrict = True\n"


def test_after_the_editable_install_mypy_in_a_project_of_ones_own_finds_and_checks_neuraltypes(
    venv: Venv, source: Path, tmp_path: Path
) -> None:
    venv.pip("-e", f"{source}[mypy]")
    project = tmp_path / "project"
    project.mkdir()
    (project / "mypy.ini").write_text(CONFIG)
    (project / "model.py").write_text(MODEL)
    (project / "valid.py").write_text(MODEL.split("def use(")[0])
    mistakes = [number for number, line in enumerate(MODEL.splitlines(), 1) if "# MISTAKE" in line]

    done = subprocess.run(
        [venv.path / "bin" / "mypy", "model.py", "valid.py"],
        cwd=project,
        env={key: value for key, value in os.environ.items() if key not in ("MYPYPATH", "PYTHONPATH")},
        capture_output=True,
        text=True,
        timeout=300,
    )
    errors = [line for line in done.stdout.splitlines() if ": error:" in line]
    assert [line.split(":")[:2] for line in errors] == [["model.py", str(number)] for number in mistakes], done.stdout
    assert all(line.endswith("[neural-type-argument]") for line in errors), done.stdout
    assert "axes transposed" in errors[0] and "elements are LogitsType, not ProbsType" in errors[1]

    # Python itself still imports from the source folders (tracebacks and debuggers show the files one edits),
    # and the install exposes our packages only (no `modules`).
    code = "import neuraltypes_modules.encoders as m, neuraltypes_mypy_plugin as p; print(m.__file__, p.__file__)"
    files = [Path(file) for file in venv.run(venv.python, "-c", code, cwd=project).split()]
    assert files == [source / "modules" / "encoders.py", source / "neuraltypes_mypy_plugin" / "__init__.py"]
    squat = subprocess.run([venv.python, "-c", "import modules"], cwd=project, capture_output=True, timeout=60)
    assert squat.returncode != 0


def test_after_the_editable_install_pyright_finds_neuraltypes(venv: Venv, source: Path, tmp_path: Path) -> None:
    if importlib.util.find_spec("basedpyright") is None:
        pytest.skip("basedpyright is not installed (it comes with the dev extra)")
    venv.pip("-e", f"{source}[mypy]")
    (tmp_path / "model.py").write_text(MODEL.split("def use(")[0])
    done = subprocess.run(
        [sys.executable, "-m", "basedpyright", "--outputjson", "--level", "error", "--pythonpath", venv.python,
         "model.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    report = json.loads(done.stdout)
    assert report["generalDiagnostics"] == [], report["generalDiagnostics"]
