"""Every Python example in README.md and docs/*.md runs as a reader would run it.

The ```python blocks of one file run in order, in one namespace (a later example may use an earlier one's
names), as a module of their own (so classes they define can be config targets and archived), in a scratch
working directory. An HTML comment on the line before a block's fence marks it:

- ``<!-- no-run: why -->``: not run (a mypy excerpt, a stub, a fragment of a larger file); it must still parse;
- ``<!-- slow -->``: run only with the slow tests (it trains).

Code a reader need not see (the model an example saves, a file it reads) goes in a hidden setup, run in its
place in the order::

    <!-- setup
    model = ASRModel()
    -->

and ``<!-- setup (slow)`` for a setup that only slow blocks need.
"""

from __future__ import annotations

import dataclasses
import linecache
import re
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

_MARK = re.compile(r"<!--\s*(no-run|slow)\b.*-->\s*$")
_SETUP = re.compile(r"<!--\s*setup\s*(\(slow\))?\s*$")


@dataclasses.dataclass(frozen=True)
class Block:
    """One example: where it starts (the line of its first code line), its code, and how it is marked."""

    document: Path
    line: int
    code: str
    mark: str  # "run", "no-run", "slow", "setup" or "slow setup"

    @property
    def name(self) -> str:
        return f"{self.document.relative_to(ROOT)}:{self.line}"


def blocks_of(document: Path) -> list[Block]:
    """The ```python blocks and hidden setups of a markdown file, in order."""
    lines = document.read_text().splitlines()
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        setup = _SETUP.match(lines[index].strip())
        if setup is not None or lines[index].startswith("```python"):
            end = next(i for i in range(index + 1, len(lines)) if lines[i].strip() in ("-->", "```"))
            if setup is not None:
                mark = "slow setup" if setup.group(1) else "setup"
            else:
                marked = _MARK.match(lines[index - 1].strip()) if index else None
                mark = marked.group(1) if marked else "run"
            blocks.append(Block(document, index + 2, "\n".join(lines[index + 1 : end]) + "\n", mark))
            index = end
        index += 1
    return blocks


def _compiled(block: Block) -> types.CodeType:
    filename = f"<{block.name}>"
    source = "\n" * (block.line - 1) + block.code  # line numbers as in the markdown file
    # inspect.getsource (which @typecheck and tracebacks read) finds the code through linecache.
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    return compile(source, filename, "exec")


def _run(document: Path, marks: set[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    """Run the blocks of ``document`` marked with one of ``marks`` in order; returns how many ran."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["docs-example"])  # a block that reads the command line sees none
    module = types.ModuleType("docs_example_" + re.sub(r"\W", "_", document.stem))
    monkeypatch.setitem(sys.modules, module.__name__, module)
    ran = 0
    for block in blocks_of(document):
        if block.mark not in marks:
            continue
        try:
            exec(_compiled(block), module.__dict__)  # the project's own documentation
        except Exception as error:
            raise AssertionError(f"the example at {block.name} fails: {type(error).__name__}: {error}") from error
        ran += 1
    return ran


def _documents_with(mark: str) -> list[Path]:
    return [document for document in DOCUMENTS if any(block.mark == mark for block in blocks_of(document))]


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_every_python_block_parses(document: Path) -> None:
    for block in blocks_of(document):
        try:
            _compiled(block)
        except SyntaxError as error:
            raise AssertionError(f"the example at {block.name} is not valid Python: {error}") from None


@pytest.mark.parametrize("document", _documents_with("run"), ids=lambda path: path.name)
def test_examples_run(document: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _run(document, {"run", "setup"}, tmp_path, monkeypatch) > 0


@pytest.mark.slow
@pytest.mark.parametrize("document", _documents_with("slow"), ids=lambda path: path.name)
def test_slow_examples_run(document: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _run(document, {"run", "setup", "slow", "slow setup"}, tmp_path, monkeypatch) > 0


def test_markers_are_read() -> None:
    marked = {block.mark for document in DOCUMENTS for block in blocks_of(document)}
    assert {"run", "no-run", "setup"} <= marked
