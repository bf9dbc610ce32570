"""Module attributes read from unannotated ``__init__``s, under mypy's incremental cache and its daemon.

The plugin reads a class's method bodies (``self.block = Block()``) once per class body; an edit of the
``__init__`` must be seen through the cache and by the daemon, and its revert too. ``constructor_call``, the
reading offered to other rules, is tested on a stand-in for torch. The behaviour itself is stated case by
case in tests/mypy/cases/case_members*.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from mypy.build import build
from mypy.modulefinder import BuildSource
from mypy.nodes import CallExpr, IntExpr, RefExpr, TypeInfo
from mypy.options import Options

from neuraltypes_mypy_plugin._class_bodies import constructor_call

sys.path.insert(0, str(Path(__file__).parent / "mypy"))
from _harness import CACHE, HERE, Report, run_mypy

pytestmark = pytest.mark.slow
SESSION = uuid.uuid4().hex

MODEL = """\
# mypy: check-untyped-defs=False, disallow-untyped-defs=False, disallow-untyped-calls=False
from torch import Tensor, nn
from neuraltypes.core import NT, EncodedRepresentation


class Block(nn.Module):
    def forward(self, x: NT[Tensor, "B T C", EncodedRepresentation]) -> Tensor: ...


class Transposed(nn.Module):
    def forward(self, x: NT[Tensor, "B C T", EncodedRepresentation]) -> Tensor: ...


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = {built}

    def forward(self, x: NT[Tensor, "B C T", EncodedRepresentation]) -> Tensor:
        return self.block(x)
"""
MISWIRED = Report(
    20,
    "E",
    'Argument "x" to "forward" of "Block" has incompatible neural type NT[Tensor, "B C T", EncodedRepresentation]; '
    'expected NT[Tensor, "B T C", EncodedRepresentation] (axes transposed)  [neural-type-argument]',
)


def write_model(folder: Path, built: str) -> list[Path]:
    path = folder / "members_model.py"
    before = path.stat().st_mtime if path.exists() else 0.0
    # mypy's cache, shared across sessions, is keyed by module name: a module whose text it has cached is taken
    # as unchanged, and its errors are shown with the path they had then. A line of this session's own keeps
    # the first check of a session from being one of those.
    path.write_text(MODEL.format(built=built) + f"# session {SESSION}\n")
    # mypy takes a file of the same size and whole-second mtime as unchanged: move the mtime on, as an editor would.
    later = max(path.stat().st_mtime, before + 1.0)
    os.utime(path, (later, later))
    return [path]


def test_an_edited_init_is_seen_through_the_cache(tmp_path: Path) -> None:
    files = write_model(tmp_path, "Block()")
    assert run_mypy("with-plugin.ini", files, "with-plugin")[files[0]] == [MISWIRED]
    write_model(tmp_path, "Transposed()")
    assert run_mypy("with-plugin.ini", files, "with-plugin")[files[0]] == []
    write_model(tmp_path, "Block()")
    assert run_mypy("with-plugin.ini", files, "with-plugin")[files[0]] == [MISWIRED]


def test_the_daemon_rereads_an_edited_init(tmp_path: Path) -> None:
    files = write_model(tmp_path, "Block()")
    status_file = tmp_path / "dmypy.json"
    dmypy = [sys.executable, "-m", "mypy.dmypy", "--status-file", str(status_file)]
    options = ["--config-file", str(HERE / "with-plugin.ini"), "--cache-dir", str(CACHE / "with-plugin")]
    env = {**os.environ, "MYPYPATH": str(HERE.parent.parent)}

    def check() -> str:
        done = subprocess.run(
            [*dmypy, "run", "--", *options, *map(str, files)], capture_output=True, text=True, env=env, timeout=600
        )
        # A daemon that restarts re-reads everything: the plugin must not change the options it compares.
        assert "Restarting" not in done.stdout, done.stdout
        return done.stdout

    run_mypy("with-plugin.ini", files, "with-plugin")  # the daemon loads this run's cache
    try:
        assert f"members_model.py:20: error: {MISWIRED.message}" in check()
        write_model(tmp_path, "Transposed()")  # the daemon keeps the TypeInfo: its re-read body must be read anew
        assert "Success" in check()
        write_model(tmp_path, "Block()")
        assert f"members_model.py:20: error: {MISWIRED.message}" in check()
    finally:
        subprocess.run([*dmypy, "stop"], capture_output=True, env=env, timeout=60)


# A stand-in for torch: constructor_call needs classes with torch's nn.Module as a base, not torch itself.
FAKE_TORCH = {
    "torch/__init__.py": "",
    "torch/nn/__init__.py": "from torch.nn.modules.module import Module as Module\n"
    "from torch.nn.modules.linear import Linear as Linear\n",
    "torch/nn/modules/__init__.py": "",
    "torch/nn/modules/module.py": "class Module:\n    def __init__(self) -> None: ...\n",
    "torch/nn/modules/linear.py": "from torch.nn.modules.module import Module\n\n\n"
    "class Linear(Module):\n    def __init__(self, a: int, b: int, bias: bool = True) -> None: ...\n",
}
BUILT = """\
from torch import nn


class Plain:
    pass


class Attention(nn.Module):
    def __init__(self, n_embd, deep):
        super().__init__()
        self.c_attn = nn.Linear(n_embd, 3 * n_embd)
        if deep:
            self.twice = nn.Linear(n_embd, n_embd)
        else:
            self.twice = nn.Linear(n_embd, 2)
        self.plain = Plain()
        self.either = nn.Linear(1, 2) if deep else nn.Linear(2, 1)

    def reset(self):
        with open("log") as log:
            self.late = nn.Linear(4, 4, bias=False)
"""


def test_constructor_call_is_the_one_call_that_builds_an_attribute(tmp_path: Path) -> None:
    sources = []
    for name, text in {**FAKE_TORCH, "built.py": BUILT}.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        module = name.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
        sources.append(BuildSource(str(path), module, None))
    options = Options()
    options.incremental = False
    options.preserve_asts = True  # mypy frees a module's definitions once checked, otherwise
    result = build(sources, options)
    info = result.graph["built"].tree.names["Attention"].node  # type: ignore[union-attr]
    assert isinstance(info, TypeInfo)

    assert result.errors == []
    call = constructor_call(info, "c_attn")
    assert isinstance(call, CallExpr) and isinstance(call.callee, RefExpr)
    assert call.callee.fullname == "torch.nn.modules.linear.Linear" and len(call.args) == 2 and call.line == 11
    late = constructor_call(info, "late")  # in another method, inside a with block
    assert late is not None and late.arg_names == [None, None, "bias"] and isinstance(late.args[0], IntExpr)
    for unknown in ("twice", "plain", "either", "missing"):
        assert constructor_call(info, unknown) is None, unknown
