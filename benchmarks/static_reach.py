"""How far neural types reach inside real model code: the mypy plugin, plain mypy and ``@typecheck``, measured.

    python benchmarks/static_reach.py                      # the corpus in benchmarks/static_reach/
    python benchmarks/static_reach.py --corpus DIR         # any folder of <model>.py + <model>_bugs.py files
    python benchmarks/static_reach.py --quick              # two bugs per model, no typed-__init__ bug variants
    python benchmarks/static_reach.py --json out.json -v   # the numbers as JSON; every probe and new error
    python benchmarks/static_reach.py --source-root CHECKOUT  # another checkout's plugin and runtime (a baseline)

A corpus is a folder of model files, each with a sidecar ``<model>_bugs.py`` that defines ``BUGS``, a list of
``Bug(name, find, replace, silent, description)`` (``from static_reach import Bug``): a wiring mistake, applied
as the replacement of the one occurrence of ``find`` in the model's source. A model file annotates its ports
with ``NT[...]``, checks them with ``@typecheck`` and defines ``run() -> object``, which builds a tiny model
with a fixed seed, runs it on small random inputs and returns the outputs.

For each model, with mypy's defaults (not strict; ``check_untyped_defs = False``), with and without the
``neuraltypes_mypy_plugin``, and at run time:

- **Correct code**: the errors mypy reports with the plugin ("false positives", target 0) and without it, and
  the errors the plugin adds to the same code with every neural annotation removed (``NT[X, ...]`` -> ``X``,
  no ``@typecheck``): target 0.
- **Probes**: after every assignment to a name (or a tuple of names) in every function, a line
  ``reveal_neural_type(name)``; mypy with the plugin notes what it knows there: ``NT[...]`` (known; "fully"
  when no axis is ``?`` and an element type is known), ``unknown`` (a tensor of unknown neural type), or
  "not a tensor". The same variant run at run time says which probes really hold tensors, which gives two
  shares: known among the probes mypy calls tensors (the notes' share), and known among the probes that hold
  a tensor when ``run()`` runs (the grounded share, which also counts the tensors mypy sees as ``Any``, such
  as every result of ``self.layer(x)`` when ``__init__`` is untyped, and those in functions mypy does not
  check). A known type that the run contradicts (another rank, a fixed size or a dtype that differs: a name
  re-bound to another tensor keeps its first type for mypy) is counted apart. Measured on the code as
  written and with ``-> None`` added to every ``__init__``.
- **Bugs**: a bug is caught by mypy (with or without the plugin) when it reports an error that the correct
  code does not have (messages compared as multisets, line numbers aside); by the run-time check when
  ``run()`` raises ``NeuralTypeError``. Run again inside ``disable_checks()``, the bug crashes, gives NaN or
  infinite values, or is silent; a bug's ``silent`` flag must agree.

mypy runs once per configuration over every variant file together (one module per variant in a temporary
folder), with a persistent cache in ``.mypy_cache/static-reach``; the run-time checks run in one subprocess
per model. Targets of the issue, for the hidden corpus (28 bugs, 10 of them silent): at least 20 caught
statically, at least 5 of the silent ones, at least 80% of the probes known, no false positive, no error added
to unannotated code.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import importlib.util
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import tokenize
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = Path(__file__).resolve().parent / "static_reach"
CACHE = REPO / ".mypy_cache" / "static-reach"
QUICK_BUGS = 2
"""Bugs per model in ``--quick`` mode (the first ones of each sidecar)."""


class Bug(NamedTuple):
    """A wiring mistake: the one occurrence of ``find`` in the model's source replaced by ``replace``.

    ``silent``: the buggy model runs to the end with checks off, without an exception and without NaN or
    infinite values in what ``run()`` returns.
    """

    name: str
    find: str
    replace: str
    silent: bool
    description: str


# The sidecars write `from static_reach import Bug`: run as a script, this module is `__main__`.
sys.modules.setdefault("static_reach", sys.modules[__name__])


class CorpusError(ValueError):
    """A corpus that cannot be measured: a missing ``run``, a bug whose ``find`` text is not there once, ..."""


# ---------------------------------------------------------------------------------------------------- corpus


@dataclass
class Model:
    name: str
    path: Path
    source: str
    bugs: list[Bug]

    def buggy_source(self, bug: Bug) -> str:
        count = self.source.count(bug.find)
        if count != 1:
            raise CorpusError(f"{self.name}: bug {bug.name!r}: its find text occurs {count} times, not once")
        return self.source.replace(bug.find, bug.replace)


def load_bugs(sidecar: Path) -> list[Bug]:
    spec = importlib.util.spec_from_file_location(f"_static_reach_bugs_{sidecar.stem}", sidecar)
    if spec is None or spec.loader is None:
        raise CorpusError(f"cannot import {sidecar}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    bugs = getattr(module, "BUGS", None)
    if not isinstance(bugs, list | tuple):
        raise CorpusError(f"{sidecar} defines no BUGS list")
    return [bug if isinstance(bug, Bug) else Bug(*bug) for bug in bugs]


def load_corpus(folder: Path, only: Sequence[str] = ()) -> list[Model]:
    """The models of a corpus folder: every ``<model>.py`` that has a ``<model>_bugs.py`` beside it, checked."""
    models = []
    for path in sorted(folder.glob("*.py")):
        sidecar = folder / f"{path.stem}_bugs.py"
        if path.stem.endswith("_bugs") or not sidecar.is_file() or (only and path.stem not in only):
            continue
        model = Model(path.stem, path, path.read_text(), load_bugs(sidecar))
        problems = [
            f"{model.name}: {bug.name}: find text occurs {model.source.count(bug.find)} times, not once"
            for bug in model.bugs
            if model.source.count(bug.find) != 1
        ]
        names = Counter(bug.name for bug in model.bugs)
        problems += [f"{model.name}: two bugs are named {name!r}" for name, count in names.items() if count > 1]
        if not any(isinstance(node, ast.FunctionDef) and node.name == "run" for node in ast.parse(model.source).body):
            problems.append(f"{model.name}: defines no run() function")
        if problems:
            raise CorpusError("\n".join(problems))
        models.append(model)
    if not models:
        raise CorpusError(f"no <model>.py with a <model>_bugs.py beside it in {folder}")
    return models


# ------------------------------------------------------------------------------------------ source transforms


def _line_starts(source: str) -> list[int]:
    starts = [0]
    for line in source.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    return starts


class _Positions:
    """Character offsets of ast positions (ast columns count UTF-8 bytes)."""

    def __init__(self, source: str) -> None:
        self.lines = source.splitlines(keepends=True)
        self.starts = _line_starts(source)

    def offset(self, lineno: int, col: int) -> int:
        line = self.lines[lineno - 1] if lineno - 1 < len(self.lines) else ""
        return self.starts[lineno - 1] + len(line.encode()[:col].decode(errors="replace"))

    def span(self, node: ast.AST) -> tuple[int, int]:
        start = self.offset(node.lineno, node.col_offset)  # type: ignore[attr-defined]
        end = self.offset(node.end_lineno, node.end_col_offset)  # type: ignore[attr-defined]
        return start, end


def _apply(source: str, edits: Iterable[tuple[int, int, str]]) -> str:
    """Replace character ranges; ranges inside an earlier-applied (wider) one are skipped."""
    result = source
    last_start = len(source) + 1
    for start, end, text in sorted(edits, key=lambda edit: (edit[0], -edit[1]), reverse=True):
        if end > last_start:
            continue
        result = result[:start] + text + result[end:]
        last_start = start
    return result


def _dotted_tail(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _is_neural_annotation(node: ast.Subscript) -> bool:
    """``NT[X, ...]``, or ``Annotated[X, NeuralType(...), ...]``."""
    head = _dotted_tail(node.value)
    if head == "NT":
        return True
    if head == "Annotated" and isinstance(node.slice, ast.Tuple):
        return any(
            isinstance(meta, ast.Call) and _dotted_tail(meta.func) == "NeuralType" for meta in node.slice.elts[1:]
        )
    return False


def _is_typecheck(decorator: ast.expr) -> bool:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return _dotted_tail(target) == "typecheck"


def strip_neural_annotations(source: str) -> str:
    """The same code without neural types: ``NT[X, ...]`` -> ``X``, no ``@typecheck``, no unused neuraltypes
    import. Decorator lines are blanked (line numbers of the code below them are kept)."""
    tree = ast.parse(source)
    positions = _Positions(source)
    edits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and _is_neural_annotation(node):
            first = node.slice.elts[0] if isinstance(node.slice, ast.Tuple) else node.slice
            segment = ast.get_source_segment(source, first)
            edits.append((*positions.span(node), segment if segment is not None else ast.unparse(first)))
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            for decorator in node.decorator_list:
                if _is_typecheck(decorator):
                    start = positions.starts[decorator.lineno - 1]
                    end = positions.starts[decorator.end_lineno or decorator.lineno]
                    edits.append(
                        (start, end, "\n" * ((decorator.end_lineno or decorator.lineno) - decorator.lineno + 1))
                    )
    stripped = _apply(source, edits)
    return _drop_unused_neuraltypes_imports(stripped)


def _drop_unused_neuraltypes_imports(source: str) -> str:
    tree = ast.parse(source)
    used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    positions = _Positions(source)
    edits = []
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "neuraltypes" and not node.level:
            keep = [alias for alias in node.names if (alias.asname or alias.name) in used]
            if len(keep) == len(node.names):
                continue
            lines = (node.end_lineno or node.lineno) - node.lineno
            text = (
                ""
                if not keep
                else f"from {node.module} import "
                + ", ".join(alias.name if alias.asname is None else f"{alias.name} as {alias.asname}" for alias in keep)
            )
            edits.append((*positions.span(node), text + "\n" * lines))
        elif (
            isinstance(node, ast.Import)
            and all(alias.name.split(".")[0] == "neuraltypes" for alias in node.names)
            and not any((alias.asname or alias.name.split(".")[0]) in used for alias in node.names)
        ):
            edits.append((*positions.span(node), "\n" * ((node.end_lineno or node.lineno) - node.lineno)))
    return _apply(source, edits)


def type_inits(source: str) -> str:
    """Every ``def __init__(...)`` without a return annotation gets ``-> None`` (line numbers are kept)."""
    tree = ast.parse(source)
    wanted = {
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == "__init__" and node.returns is None
    }
    if not wanted:
        return source
    positions = _Positions(source)
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    inserts = []
    for index, token in enumerate(tokens):
        if not (token.type == tokenize.NAME and token.string == "def" and token.start[0] in wanted):
            continue
        following = tokens[index + 1 : index + 3]
        if [t.string for t in following] != ["__init__", "("]:
            continue
        depth = 0
        for closing in tokens[index + 2 :]:
            if closing.type == tokenize.OP and closing.string in "([{":
                depth += 1
            elif closing.type == tokenize.OP and closing.string in ")]}":
                depth -= 1
                if depth == 0:
                    row, col = closing.end
                    offset = positions.starts[row - 1] + col
                    inserts.append((offset, offset, " -> None"))
                    break
    return _apply(source, inserts)


@dataclass(frozen=True)
class Probe:
    """One ``reveal_neural_type(name)`` line: after an assignment at ``line`` (of the model's source) in
    ``function``; ``variant_line`` is where it sits in the probe variant."""

    function: str
    name: str
    line: int
    variant_line: int


def _assigned_names(statement: ast.stmt) -> list[str]:
    targets: list[ast.expr] = []
    if isinstance(statement, ast.Assign):
        targets = list(statement.targets)
    elif isinstance(statement, ast.AugAssign) or (isinstance(statement, ast.AnnAssign) and statement.value):
        targets = [statement.target]
    names: list[str] = []

    def collect(target: ast.expr) -> None:
        if isinstance(target, ast.Name):
            names.append(target.id)
        elif isinstance(target, ast.Starred):
            collect(target.value)
        elif isinstance(target, ast.Tuple | ast.List):
            for element in target.elts:
                collect(element)

    for target in targets:
        collect(target)
    return [name for name in dict.fromkeys(names) if name != "_"]


def _statements(body: Sequence[ast.stmt]) -> Iterator[ast.stmt]:
    """The statements of a function body, into compound statements, not into nested functions or classes."""
    for statement in body:
        yield statement
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        for attribute in ("body", "orelse", "finalbody"):
            inner = getattr(statement, attribute, None)
            if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt):
                yield from _statements(inner)
        for handler in getattr(statement, "handlers", []):
            yield from _statements(handler.body)
        for case in getattr(statement, "cases", []):
            yield from _statements(case.body)


def _functions(tree: ast.Module) -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    def visit(nodes: Iterable[ast.AST], prefix: str) -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
        for node in nodes:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                name = f"{prefix}{node.name}"
                yield name, node
                yield from visit(ast.iter_child_nodes(node), f"{name}.")
            elif isinstance(node, ast.ClassDef):
                yield from visit(node.body, f"{prefix}{node.name}.")
            elif isinstance(node, ast.stmt):
                yield from visit(ast.iter_child_nodes(node), prefix)

    yield from visit(tree.body, "")


REVEAL_IMPORT = "from neuraltypes import reveal_neural_type\n"


def insert_probes(source: str) -> tuple[str, list[Probe]]:
    """The source with ``reveal_neural_type(name)`` after each assignment to names in a function body.

    Assignments that do not start and end their line (``a = 1; b = 2``, ``if c: a = 1``) get no probe; ``_``
    gets none. The import goes before the first statement after the docstring and ``__future__`` imports."""
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    after: dict[int, list[tuple[str, str, str, int]]] = {}
    for function, node in _functions(tree):
        for statement in _statements(node.body):
            names = _assigned_names(statement)
            if not names or statement.end_lineno is None or statement.end_col_offset is None:
                continue
            first = lines[statement.lineno - 1].encode()
            last = lines[statement.end_lineno - 1].encode()
            before = first[: statement.col_offset].decode()
            rest = last[statement.end_col_offset :].decode().strip()
            if before.strip() or (rest and not rest.startswith("#")):
                continue
            for name in names:
                after.setdefault(statement.end_lineno, []).append((before, name, function, statement.lineno))
    import_before = len(lines) + 1
    for index, statement in enumerate(tree.body):
        docstring = index == 0 and isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)
        future = isinstance(statement, ast.ImportFrom) and statement.module == "__future__"
        if not (docstring or future):
            import_before = statement.lineno
            break
    output: list[str] = []
    probes: list[Probe] = []
    for number, line in enumerate(lines, start=1):
        if number == import_before:
            output.append(REVEAL_IMPORT)
        output.append(line)
        for indent, name, function, assigned_at in after.get(number, []):
            output.append(f"{indent}reveal_neural_type({name})\n")
            probes.append(Probe(function, name, assigned_at, len(output)))
    if import_before > len(lines):
        output.append(REVEAL_IMPORT)
    return "".join(output), probes


# --------------------------------------------------------------------------------------------------- mypy


class Report(NamedTuple):
    line: int
    severity: str  # "error" or "note"
    message: str  # with the error code, as mypy prints it: "...  [neural-type]"


_REPORT = re.compile(r"^(?P<path>.+?):(?P<line>\d+): (?P<severity>error|note): (?P<message>.*)$")
_INTERNAL = re.compile(r"^(?P<path>.+?):(?P<line>\d+): error: INTERNAL ERROR")

MYPY_CONFIGS = {
    # A user's model code: mypy's defaults, not strict; untyped functions (most `__init__`s) are not checked.
    "plugin": "[mypy]\nplugins = neuraltypes_mypy_plugin\ncheck_untyped_defs = False\n",
    "plain": "[mypy]\ncheck_untyped_defs = False\n",
}
# neuraltypes is found through MYPYPATH (a source tree): follow it silently, as an installed package would be.
_SILENT = (
    "\n[mypy-neuraltypes.*]\nfollow_imports = silent\n\n[mypy-neuraltypes_mypy_plugin.*]\nfollow_imports = silent\n"
)


@dataclass
class MypyRun:
    config: str
    reports: dict[str, list[Report]]  # by module (file stem)
    crashed: dict[str, str]  # module -> the internal error's first line
    seconds: float
    status: int


def _environment(source_root: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["MYPYPATH"] = str(source_root)
    env["PYTHONPATH"] = os.pathsep.join([str(source_root), *filter(None, [env.get("PYTHONPATH")])])
    env.setdefault("OMP_NUM_THREADS", "1")
    env.pop("MYPY_FORCE_COLOR", None)
    return env


def run_mypy(config: str, folder: Path, modules: Sequence[str], source_root: Path) -> MypyRun:
    """One mypy run over ``folder/<module>.py`` for every module; a module mypy crashes on (an INTERNAL ERROR)
    is recorded and left out, and mypy is run again on the rest."""
    ini = folder / f"mypy-{config}.ini"
    ini.write_text(MYPY_CONFIGS[config] + _SILENT)
    root_key = hashlib.sha256(str(source_root.resolve()).encode()).hexdigest()[:8]
    cache = CACHE / (config if source_root.resolve() == REPO else f"{config}-{root_key}")
    remaining = list(modules)
    crashed: dict[str, str] = {}
    started = time.perf_counter()
    while True:
        command = [sys.executable, "-m", "mypy", "--config-file", str(ini), "--cache-dir", str(cache)]
        command += [
            "--no-error-summary",
            "--hide-error-context",
            "--no-pretty",
            "--show-error-codes",
            "--show-traceback",
        ]
        command += [f"{module}.py" for module in remaining]
        done = subprocess.run(command, cwd=folder, capture_output=True, text=True, env=_environment(source_root))
        crash = next(filter(None, map(_INTERNAL.match, done.stdout.splitlines() + done.stderr.splitlines())), None)
        if crash is None:
            break
        module = Path(crash["path"]).stem
        if module not in remaining:
            raise RuntimeError(
                f"mypy ({config}) crashed outside the corpus:\n{done.stdout[-4000:]}{done.stderr[-4000:]}"
            )
        crashed[module] = crash.group(0) + _crash_reason(done.stdout + done.stderr)
        remaining.remove(module)
        if not remaining:
            break
    if done.returncode not in (0, 1) and crash is None:
        raise RuntimeError(
            f"mypy ({config}) failed with status {done.returncode}:\n{done.stdout[-4000:]}{done.stderr[-4000:]}"
        )
    reports: dict[str, list[Report]] = {module: [] for module in modules}
    for text in done.stdout.splitlines():
        match = _REPORT.match(text)
        if match is None:
            continue
        path = Path(match["path"])
        if path.parent != Path(".") and path.resolve().parent != folder.resolve():
            continue  # a note about a library's file
        reports.setdefault(path.stem, []).append(Report(int(match["line"]), match["severity"], match["message"]))
    return MypyRun(config, reports, crashed, time.perf_counter() - started, done.returncode)


def _crash_reason(output: str) -> str:
    """The last line of a crash's traceback (with --show-traceback mypy prints it; without, nothing)."""
    lines = [line for line in output.splitlines() if line.strip() and not line.startswith(" ")]
    errors = [line for line in lines if re.match(r"^\w+(Error|Exception)\b", line)]
    return f" ({errors[-1]})" if errors else ""


def _normalized(message: str, module: str, base: str) -> str:
    message = message.replace(f'"{module}', f'"{base}').replace(f"{module}.", f"{base}.")
    return re.sub(r"\bline \d+", "line N", message)


def error_keys(reports: Sequence[Report], module: str, base: str) -> Counter[str]:
    return Counter(_normalized(r.message, module, base) for r in reports if r.severity == "error")


def new_errors(variant: Sequence[Report], correct: Counter[str], module: str, base: str) -> list[str]:
    """The variant's errors that the correct code does not have (as many as it has more of the same message),
    as ``line: message``."""
    remaining = Counter(correct)
    added = []
    for report in variant:
        if report.severity != "error":
            continue
        key = _normalized(report.message, module, base)
        if remaining[key] > 0:
            remaining[key] -= 1
        else:
            added.append(f"{report.line}: {report.message}")
    return added


# ------------------------------------------------------------------------------------------------ run time


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for key in sorted(value, key=repr) for leaf in _leaves(value[key])]
    if isinstance(value, list | tuple):
        return [leaf for item in value for leaf in _leaves(item)]
    return [value]


def _load_module(path: Path, name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and typing look their module up
    spec.loader.exec_module(module)
    return module


def _describe(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    first = text[0] if text else ""
    return f"{type(error).__name__}: {first[:200]}"


def runtime_outcomes(variants: Sequence[tuple[str, Path]], probe_file: Path | None = None) -> Iterator[dict[str, Any]]:
    """For each ``(key, path)``: import the module and call its ``run()`` with the checks on, then inside
    ``disable_checks()``. The first variant is the correct code, whose outputs the others are compared with.
    With ``probe_file``, last, which of its ``reveal_neural_type`` lines saw a tensor."""
    import warnings

    import torch

    import neuraltypes
    from neuraltypes.runtime import NeuralTypeError, disable_checks

    warnings.simplefilter("ignore")
    torch.set_num_threads(1)
    reference: list[Any] | None = None

    def outcome(module: Any, checks: bool) -> tuple[dict[str, Any], list[Any] | None]:
        started = time.perf_counter()
        try:
            if checks:
                result = module.run()
            else:
                with disable_checks():
                    result = module.run()
        except NeuralTypeError as error:
            return {"kind": "neural-type-error", "error": _describe(error)}, None
        except Exception as error:
            return {"kind": "crash", "error": _describe(error)}, None
        seconds = time.perf_counter() - started
        leaves = _leaves(result)
        finite = all(
            bool(torch.isfinite(leaf).all())
            for leaf in leaves
            if isinstance(leaf, torch.Tensor) and leaf.is_floating_point()
        )
        return {"kind": "ok" if finite else "nan", "seconds": round(seconds, 4)}, leaves

    def differs(leaves: list[Any]) -> bool:
        if reference is None or len(leaves) != len(reference):
            return True
        for mine, theirs in zip(leaves, reference, strict=True):
            if isinstance(mine, torch.Tensor) and isinstance(theirs, torch.Tensor):
                if mine.shape != theirs.shape or mine.dtype != theirs.dtype:
                    return True
                if not torch.allclose(mine.double(), theirs.double(), rtol=1e-5, atol=1e-6, equal_nan=True):
                    return True
            elif type(mine) is not type(theirs) or (not isinstance(mine, torch.Tensor) and mine != theirs):
                return True
        return False

    for index, (key, path) in enumerate(variants):
        record: dict[str, Any] = {"key": key}
        try:
            module = _load_module(path, f"_static_reach_{key}")
        except Exception as error:
            crash = {"kind": "crash", "error": "at import: " + _describe(error)}
            record.update(checked=crash, unchecked=crash)
            yield record
            continue
        record["checked"], _ = outcome(module, checks=True)
        record["unchecked"], leaves = outcome(module, checks=False)
        if index == 0:
            reference = leaves
        elif leaves is not None:
            record["unchecked"]["differs"] = differs(leaves)
        yield record
    if probe_file is not None:
        seen: dict[int, dict[str, Any]] = {}
        filename = str(probe_file)

        def record_probe(value: Any) -> Any:
            frame = sys._getframe(1)
            if frame.f_code.co_filename == filename:
                line = seen.setdefault(frame.f_lineno, {"tensor": False, "shapes": [], "dtypes": []})
                if isinstance(value, torch.Tensor):
                    line["tensor"] = True
                    shape, dtype = list(value.shape), str(value.dtype).removeprefix("torch.")
                    if shape not in line["shapes"] and len(line["shapes"]) < 8:
                        line["shapes"].append(shape)
                    if dtype not in line["dtypes"]:
                        line["dtypes"].append(dtype)
            return value

        original = neuraltypes.reveal_neural_type
        neuraltypes.reveal_neural_type = record_probe  # what `from neuraltypes import reveal_neural_type` reads
        failure: str | None = None
        try:
            module = _load_module(probe_file, "_static_reach_probes")
            with disable_checks():
                module.run()
        except Exception as error:
            failure = _describe(error)
        finally:
            neuraltypes.reveal_neural_type = original
        yield {"key": "probes", "lines": {str(line): values for line, values in seen.items()}, "error": failure}


def _runtime_worker(spec_path: Path, out_path: Path) -> None:
    spec = json.loads(spec_path.read_text())
    variants = [(key, Path(path)) for key, path in spec["variants"]]
    probe = Path(spec["probe"]) if spec.get("probe") else None
    with out_path.open("w") as out:
        for record in runtime_outcomes(variants, probe):
            out.write(json.dumps(record) + "\n")
            out.flush()


def run_runtime(
    model: str,
    variants: Sequence[tuple[str, Path]],
    probe: Path | None,
    folder: Path,
    source_root: Path,
    timeout: float,
) -> tuple[dict[str, dict[str, Any]], float, str | None]:
    """The run-time outcomes of a model's variants, from one subprocess; what it had not done when it timed out
    or died is missing (the caller reports it)."""
    spec = folder / f"runtime-{model}.json"
    out = folder / f"runtime-{model}.jsonl"
    spec.write_text(json.dumps({"variants": [[key, str(path)] for key, path in variants], "probe": str(probe or "")}))
    command = [sys.executable, str(Path(__file__).resolve()), "--runtime-worker", str(spec), str(out)]
    started = time.perf_counter()
    failure = None
    try:
        done = subprocess.run(
            command, cwd=folder, capture_output=True, text=True, timeout=timeout, env=_environment(source_root)
        )
        if done.returncode != 0:
            failure = f"the run-time worker exited with status {done.returncode}: {done.stderr.strip()[-2000:]}"
    except subprocess.TimeoutExpired:
        failure = f"the run-time worker timed out after {timeout:.0f} s"
    results = {}
    if out.exists():
        for line in out.read_text().splitlines():
            record = json.loads(line)
            results[record["key"]] = record
    return results, time.perf_counter() - started, failure


# ------------------------------------------------------------------------------------------------ measuring


@dataclass
class BugResult:
    model: str
    name: str
    silent: bool
    description: str
    plugin: bool | None = None  # None: mypy crashed on the variant
    plain: bool | None = None
    plugin_typed_init: bool | None = None
    plain_typed_init: bool | None = None
    plugin_new: list[str] = field(default_factory=list)
    plain_new: list[str] = field(default_factory=list)
    plugin_typed_init_new: list[str] = field(default_factory=list)
    runtime: bool | None = None  # None: not run (timeout, worker died)
    checked: dict[str, Any] = field(default_factory=dict)
    unchecked: dict[str, Any] = field(default_factory=dict)

    @property
    def measured(self) -> str | None:
        """What happens with checks off: "crash", "nan" or "silent" (None when not run)."""
        kind = self.unchecked.get("kind")
        return None if kind is None else {"ok": "silent", "nan": "nan", "crash": "crash"}.get(kind, kind)

    @property
    def flag_disagrees(self) -> bool:
        return self.measured is not None and (self.measured == "silent") != self.silent


@dataclass
class ProbeResult:
    function: str
    name: str
    line: int
    note: str | None  # mypy's note, None when mypy said nothing there (an unchecked function, unreachable code)
    kind: str  # known-full, known, unknown, not-tensor, unchecked
    tensor_at_run_time: bool | None  # None: the line did not run
    contradiction: str | None = None  # a known type the run contradicts: its rank, a fixed size or the dtype


@dataclass
class ModelResult:
    name: str
    bugs: list[BugResult]
    plugin_errors: list[str]  # on the correct code
    plain_errors: list[str]
    plugin_errors_typed_init: list[str] | None  # on the correct code with `-> None` on each __init__ (not --quick)
    plain_errors_typed_init: list[str] | None
    added_on_unannotated: list[str]
    hidden_on_unannotated: list[str]
    probes: dict[str, list[ProbeResult]]  # "as written", "typed __init__"
    correct_checked: dict[str, Any]
    correct_unchecked: dict[str, Any]
    crashes: list[str]
    runtime_failure: str | None
    probe_run_error: str | None


_NOTE = re.compile(r'^Neural type is NT\[\w+, "(?P<axes>[^"]*)"(?P<rest>.*)\]$')


def probe_kind(note: str | None) -> str:
    if note is None:
        return "unchecked"
    if note.startswith("Neural type is not known"):
        return "not-tensor"
    if note == "Neural type is unknown":
        return "unknown"
    match = _NOTE.match(note)
    if match is None:
        return "unknown"
    rest = [part.strip() for part in match["rest"].split(",") if part.strip()]
    has_element = any(not part.startswith('"') for part in rest)
    axes = match["axes"]
    full = has_element and axes != "..." and "?" not in axes.split()
    return "known-full" if full else "known"


_DTYPE_FAMILIES = {
    "float": ("float16", "bfloat16", "float32", "float64"),
    "int": ("int8", "int16", "int32", "int64"),
    "uint": ("uint8", "uint16", "uint32", "uint64"),
    "bool": ("bool",),
    "complex": ("complex64", "complex128"),
}


def contradiction(note: str, shapes: Sequence[Sequence[int]], dtypes: Sequence[str]) -> str | None:
    """What the run contradicts in a revealed ``NT[...]``: its rank, a fixed size (``D:80``, ``3``) or its dtype.

    Sizes named by variables are not compared (their bindings are not in the note); ``*name``, ``...`` and
    ``?`` axes are not either."""
    match = _NOTE.match(note)
    if match is None:
        return None
    axes = match["axes"].split()
    if axes != ["..."] and not any(axis.startswith("*") or axis == "..." for axis in axes):
        for shape in shapes:
            if len(shape) != len(axes):
                return f"rank {len(shape)} (shape {tuple(shape)}) where the type has {len(axes)} axes"
            for axis, size in zip(axes, shape, strict=True):
                fixed = axis.rpartition(":")[2] if ":" in axis else axis
                if fixed.isdigit() and int(fixed) != size:
                    return f"axis {axis!r} has size {size} (shape {tuple(shape)})"
    quoted = re.findall(r'"([^"]*)"', match["rest"])
    if quoted and dtypes:
        declared = quoted[-1]
        allowed = _DTYPE_FAMILIES.get(declared, (declared,))
        wrong = [dtype for dtype in dtypes if dtype not in allowed]
        if wrong:
            return f"dtype {wrong[0]} where the type says {declared}"
    return None


def _probe_results(
    probes: Sequence[Probe], reports: Sequence[Report], lines: dict[str, dict[str, Any]]
) -> list[ProbeResult]:
    notes = {r.line: r.message for r in reports if r.severity == "note" and r.message.startswith("Neural type ")}
    results = []
    for probe in probes:
        note = notes.get(probe.variant_line)
        seen = lines.get(str(probe.variant_line))
        kind = probe_kind(note)
        result = ProbeResult(
            probe.function, probe.name, probe.line, note, kind, None if seen is None else seen["tensor"]
        )
        if note is not None and kind.startswith("known") and seen is not None and seen["tensor"]:
            result.contradiction = contradiction(note, seen["shapes"], seen["dtypes"])
        results.append(result)
    return results


def measure(
    models: Sequence[Model], quick: bool, source_root: Path, timeout: float, jobs: int, keep: Path | None = None
) -> tuple[list[ModelResult], dict[str, float]]:
    timings: dict[str, float] = {}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="neuraltypes-static-reach-") as name:
        folder = keep if keep is not None else Path(name)
        folder.mkdir(parents=True, exist_ok=True)
        plugin_modules: list[str] = []
        plain_modules: list[str] = []
        runtime_jobs: dict[str, tuple[list[tuple[str, Path]], Path]] = {}
        probes: dict[str, dict[str, list[Probe]]] = {}
        bugs_of: dict[str, list[Bug]] = {}

        def write(module: str, text: str, plugin: bool = True, plain: bool = True) -> Path:
            path = folder / f"{module}.py"
            path.write_text(text)
            if plugin:
                plugin_modules.append(module)
            if plain:
                plain_modules.append(module)
            return path

        for model in models:
            bugs = model.bugs[:QUICK_BUGS] if quick else model.bugs
            bugs_of[model.name] = bugs
            correct = write(model.name, model.source)
            write(f"{model.name}__unannotated", strip_neural_annotations(model.source))
            typed = type_inits(model.source)
            if not quick:
                write(f"{model.name}__init", typed)
            variants = [(model.name, correct)]
            for index, bug in enumerate(bugs, start=1):
                buggy = model.buggy_source(bug)
                variants.append((f"{model.name}__bug{index:02d}", write(f"{model.name}__bug{index:02d}", buggy)))
                if not quick:
                    write(f"{model.name}__bug{index:02d}__init", type_inits(buggy))
            probed, model_probes = insert_probes(model.source)
            probe_path = write(f"{model.name}__probes", probed, plain=False)
            typed_probed, typed_probes = insert_probes(typed)
            write(f"{model.name}__probes__init", typed_probed, plain=False)
            probes[model.name] = {"as written": model_probes, "typed __init__": typed_probes}
            runtime_jobs[model.name] = (variants, probe_path)
        timings["writing variants"] = time.perf_counter() - started

        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            plugin_future = pool.submit(run_mypy, "plugin", folder, plugin_modules, source_root)
            plain_future = pool.submit(run_mypy, "plain", folder, plain_modules, source_root)
            runtime_futures: dict[str, Future[tuple[dict[str, dict[str, Any]], float, str | None]]] = {
                model: pool.submit(run_runtime, model, variants, probe_path, folder, source_root, timeout)
                for model, (variants, probe_path) in runtime_jobs.items()
            }
            plugin_run, plain_run = plugin_future.result(), plain_future.result()
            runtimes = {model: future.result() for model, future in runtime_futures.items()}
        timings["mypy, plugin"] = plugin_run.seconds
        timings["mypy, plain"] = plain_run.seconds
        timings["run-time checks (one subprocess per model, summed)"] = sum(
            seconds for _, seconds, _ in runtimes.values()
        )
        timings["total"] = time.perf_counter() - started

        results = []
        for model in models:
            results.append(
                _model_result(
                    model, bugs_of[model.name], plugin_run, plain_run, runtimes[model.name], probes[model.name], quick
                )
            )
    return results, timings


def _model_result(
    model: Model,
    bugs: Sequence[Bug],
    plugin_run: MypyRun,
    plain_run: MypyRun,
    runtime: tuple[dict[str, dict[str, Any]], float, str | None],
    probes: dict[str, list[Probe]],
    quick: bool,
) -> ModelResult:
    name = model.name
    outcomes, _, failure = runtime
    crashes = [
        f"mypy ({run.config}) crashed on {module}.py: {text}"
        for run in (plugin_run, plain_run)
        for module, text in run.crashed.items()
        if module == name or module.startswith(f"{name}__")
    ]

    def keys(run: MypyRun, module: str) -> Counter[str] | None:
        if module in run.crashed or module not in run.reports:
            return None
        return error_keys(run.reports[module], module, name)

    plugin_correct, plain_correct = keys(plugin_run, name), keys(plain_run, name)
    plugin_init, plain_init = (
        (None, None) if quick else (keys(plugin_run, f"{name}__init"), keys(plain_run, f"{name}__init"))
    )
    bug_results = []
    for index, bug in enumerate(bugs, start=1):
        module = f"{name}__bug{index:02d}"
        result = BugResult(name, bug.name, bug.silent, bug.description)
        for attribute, run, reference, variant in (
            ("plugin", plugin_run, plugin_correct, module),
            ("plain", plain_run, plain_correct, module),
            ("plugin_typed_init", plugin_run, plugin_init, f"{module}__init"),
            ("plain_typed_init", plain_run, plain_init, f"{module}__init"),
        ):
            if reference is None or variant in run.crashed or variant not in run.reports:
                continue
            added = new_errors(run.reports[variant], reference, variant, name)
            setattr(result, attribute, bool(added))
            if hasattr(result, f"{attribute}_new"):
                setattr(result, f"{attribute}_new", added)
        record = outcomes.get(module)
        if record is not None:
            result.checked, result.unchecked = record["checked"], record["unchecked"]
            result.runtime = record["checked"]["kind"] == "neural-type-error"
        bug_results.append(result)

    def errors(run: MypyRun, module: str) -> list[str]:
        return [f"{r.line}: {r.message}" for r in run.reports.get(module, []) if r.severity == "error"]

    unannotated = f"{name}__unannotated"
    added_on_unannotated: list[str] = []
    hidden_on_unannotated: list[str] = []
    if unannotated not in plugin_run.crashed and unannotated not in plain_run.crashed:
        with_plugin = Counter(
            m.replace("Tensor[Any, Any]", "Tensor")
            for m in error_keys(plugin_run.reports[unannotated], unannotated, name).elements()
        )
        without = error_keys(plain_run.reports[unannotated], unannotated, name)
        added_on_unannotated = sorted((with_plugin - without).elements())
        hidden_on_unannotated = sorted((without - with_plugin).elements())
    else:
        added_on_unannotated = ["(mypy crashed on the unannotated code)"]
    probe_record = outcomes.get("probes", {})
    tensors = probe_record.get("lines", {})
    probe_results = {}
    for variant, module in (("as written", f"{name}__probes"), ("typed __init__", f"{name}__probes__init")):
        if module in plugin_run.crashed:
            continue
        probe_results[variant] = _probe_results(probes[variant], plugin_run.reports.get(module, []), tensors)
    correct = outcomes.get(name, {})
    return ModelResult(
        name=name,
        bugs=bug_results,
        plugin_errors=errors(plugin_run, name) if plugin_correct is not None else ["(mypy crashed)"],
        plain_errors=errors(plain_run, name) if plain_correct is not None else ["(mypy crashed)"],
        plugin_errors_typed_init=None if plugin_init is None else errors(plugin_run, f"{name}__init"),
        plain_errors_typed_init=None if plain_init is None else errors(plain_run, f"{name}__init"),
        added_on_unannotated=added_on_unannotated,
        hidden_on_unannotated=hidden_on_unannotated,
        probes=probe_results,
        correct_checked=correct.get("checked", {}),
        correct_unchecked=correct.get("unchecked", {}),
        crashes=crashes,
        runtime_failure=failure,
        probe_run_error=probe_record.get("error"),
    )


# ------------------------------------------------------------------------------------------------ reporting


@dataclass
class ProbeShare:
    known: int = 0
    full: int = 0
    unknown: int = 0
    not_tensor: int = 0
    unchecked: int = 0
    # grounded: among the probes that held a tensor at run time
    tensors: int = 0
    tensors_known: int = 0
    tensors_full: int = 0
    tensors_unknown: int = 0
    tensors_any: int = 0  # mypy: not a tensor (Any), run time: a tensor
    tensors_unchecked: int = 0
    tensors_contradicted: int = 0  # known, but the run shows another rank, fixed size or dtype
    not_run: int = 0

    def add(self, probe: ProbeResult) -> None:
        kind = probe.kind
        self.known += kind in ("known", "known-full")
        self.full += kind == "known-full"
        self.unknown += kind == "unknown"
        self.not_tensor += kind == "not-tensor"
        self.unchecked += kind == "unchecked"
        self.not_run += probe.tensor_at_run_time is None
        if probe.tensor_at_run_time:
            self.tensors += 1
            self.tensors_known += kind in ("known", "known-full")
            self.tensors_full += kind == "known-full"
            self.tensors_unknown += kind == "unknown"
            self.tensors_any += kind == "not-tensor"
            self.tensors_unchecked += kind == "unchecked"
            self.tensors_contradicted += probe.contradiction is not None

    @property
    def notes_share(self) -> float | None:
        tensors = self.known + self.unknown
        return self.known / tensors if tensors else None

    @property
    def grounded_share(self) -> float | None:
        return self.tensors_known / self.tensors if self.tensors else None

    @property
    def consistent_share(self) -> float | None:
        """Known and not contradicted by the run, of the tensors at run time."""
        return (self.tensors_known - self.tensors_contradicted) / self.tensors if self.tensors else None


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def _shares(share: ProbeShare) -> str:
    return " / ".join(map(_percent, (share.grounded_share, share.consistent_share, share.notes_share)))


def _share(results: Iterable[ModelResult], variant: str) -> ProbeShare:
    share = ProbeShare()
    for result in results:
        for probe in result.probes.get(variant, []):
            share.add(probe)
    return share


def _table(rows: Sequence[Sequence[str]], header: Sequence[str]) -> str:
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(
            str(cell).ljust(width) if i == 0 else str(cell).rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in [header, *rows]
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def _caught(bugs: Sequence[BugResult], attribute: str, silent_only: bool = False) -> str:
    chosen = [bug for bug in bugs if bug.silent or not silent_only]
    measured = [bug for bug in chosen if getattr(bug, attribute) is not None]
    caught = sum(bool(getattr(bug, attribute)) for bug in measured)
    unmeasured = len(chosen) - len(measured)
    if chosen and not measured:
        return "-"
    return f"{caught}/{len(chosen)}" + (f" ({unmeasured} not measured)" if unmeasured else "")


def _mark(value: bool | None) -> str:
    return "-" if value is None else ("CAUGHT" if value else ".")


def _count(*lists: list[str] | None) -> str:
    """The total length of the lists, or "-" when one was not measured."""
    return "-" if any(errors is None for errors in lists) else str(sum(len(errors or ()) for errors in lists))


def report(results: Sequence[ModelResult], timings: dict[str, float], quick: bool, verbose: bool) -> str:
    out: list[str] = []
    names = [result.name for result in results]
    header = ["model", *names, "total"]

    def row(label: str, values: Sequence[Any], total: Any) -> list[str]:
        return [label, *map(str, values), str(total)]

    out.append("== correct code (mypy defaults, check_untyped_defs = False)")
    out.append(
        _table(
            [
                row(
                    "mypy + plugin: errors (false positives)",
                    [len(r.plugin_errors) for r in results],
                    sum(len(r.plugin_errors) for r in results),
                ),
                row(
                    "plain mypy: errors",
                    [len(r.plain_errors) for r in results],
                    sum(len(r.plain_errors) for r in results),
                ),
                row(
                    "errors the plugin adds, annotations removed",
                    [len(r.added_on_unannotated) for r in results],
                    sum(len(r.added_on_unannotated) for r in results),
                ),
                row(
                    "mypy + plugin, -> None on __init__: errors",
                    [_count(r.plugin_errors_typed_init) for r in results],
                    _count(*(r.plugin_errors_typed_init for r in results)),
                ),
                row(
                    "plain mypy, -> None on __init__: errors",
                    [_count(r.plain_errors_typed_init) for r in results],
                    _count(*(r.plain_errors_typed_init for r in results)),
                ),
                row("run() with @typecheck", [r.correct_checked.get("kind", "not run") for r in results], ""),
            ],
            header,
        )
    )
    for result in results:
        for label, errors in (
            ("mypy + plugin", result.plugin_errors),
            ("plain mypy", result.plain_errors),
            ("plugin, annotations removed (added)", result.added_on_unannotated),
            ("plugin, annotations removed (no longer reported)", result.hidden_on_unannotated),
        ):
            for error in errors:
                out.append(f"  {result.name}.py {label}: {error}")
        if result.correct_checked.get("error"):
            out.append(f"  {result.name}.py run() with checks: {result.correct_checked['error']}")
        for crash in result.crashes:
            out.append(f"  {crash}")
        if result.runtime_failure:
            out.append(f"  {result.name}: {result.runtime_failure}")

    out.append("")
    out.append("== probes: reveal_neural_type(name) after every assignment to a name in a function")
    for variant in ("as written", "typed __init__"):
        rows = []
        shares = [_share([r], variant) for r in results]
        total = _share(results, variant)
        for label, get in (
            ("probes", lambda s: s.known + s.unknown + s.not_tensor + s.unchecked),
            ("mypy notes: known (fully: no ? axis, element type)", lambda s: f"{s.known} ({s.full})"),
            ("mypy notes: unknown tensor", lambda s: s.unknown),
            ("mypy notes: not a tensor", lambda s: s.not_tensor),
            ("no note (function or line not checked)", lambda s: s.unchecked),
            ("share known, of the probes mypy calls tensors", lambda s: _percent(s.notes_share)),
            ("tensors at run time", lambda s: s.tensors),
            ("  known (fully) to the plugin", lambda s: f"{s.tensors_known} ({s.tensors_full})"),
            ("  unknown tensor", lambda s: s.tensors_unknown),
            ('  Any to mypy ("not a tensor")', lambda s: s.tensors_any),
            ("  not checked by mypy", lambda s: s.tensors_unchecked),
            ("share known, of the tensors at run time", lambda s: _percent(s.grounded_share)),
            ("known, but contradicted by the run (rank, fixed size, dtype)", lambda s: s.tensors_contradicted),
            ("share known and not contradicted, of the tensors", lambda s: _percent(s.consistent_share)),
        ):
            rows.append(row(label, [get(s) for s in shares], get(total)))
        out.append(f"-- {variant}" + (" (-> None added to every __init__)" if variant == "typed __init__" else ""))
        out.append(_table(rows, header))
    for result in results:
        if result.probe_run_error:
            out.append(f"  {result.name}: the probe variant's run() failed: {result.probe_run_error}")
    if verbose:
        for result in results:
            for variant, probes in result.probes.items():
                out.append(f"  {result.name}, {variant}:")
                for probe in probes:
                    tensor = {True: "tensor", False: "not a tensor", None: "not run"}[probe.tensor_at_run_time]
                    wrong = f" CONTRADICTED: {probe.contradiction}" if probe.contradiction else ""
                    out.append(
                        f"    {probe.line:4d} {probe.function}: {probe.name}: {probe.kind} "
                        f"[{tensor}] {probe.note or ''}{wrong}"
                    )

    out.append("")
    out.append("== bugs (CAUGHT: a new error / NeuralTypeError; '-': not measured)")
    bug_rows = []
    for result in results:
        for bug in result.bugs:
            unchecked = bug.measured or "not run"
            if bug.measured == "silent" and bug.unchecked.get("differs") is False:
                unchecked += " (no effect)"
            bug_rows.append(
                [
                    f"{bug.model}: {bug.name}",
                    "yes" if bug.silent else "no",
                    _mark(bug.plugin),
                    _mark(bug.plain),
                    _mark(bug.plugin_typed_init),
                    _mark(bug.runtime),
                    unchecked,
                ]
            )
    out.append(
        _table(bug_rows, ["bug", "silent", "plugin", "plain", "plugin, typed __init__", "@typecheck", "checks off"])
    )
    disagreements = [bug for result in results for bug in result.bugs if bug.flag_disagrees]
    for bug in disagreements:
        happens = {"crash": "crashes", "nan": "gives NaN or infinite values", "silent": "is silent"}[bug.measured or ""]
        out.append(
            f"  DISAGREES: {bug.model}: {bug.name} is marked silent={bug.silent}, but with checks off it "
            f"{happens} ({bug.unchecked.get('error', 'no exception, finite outputs')})"
        )
    for result in results:
        for bug in result.bugs:
            if bug.measured == "silent" and bug.unchecked.get("differs") is False:
                out.append(f"  NO EFFECT: {bug.model}: {bug.name} gives the correct code's outputs")
            if verbose:
                for label, errors in (
                    ("plugin", bug.plugin_new),
                    ("plain", bug.plain_new),
                    ("plugin, typed __init__", bug.plugin_typed_init_new),
                ):
                    for error in errors:
                        out.append(f"    {bug.model}: {bug.name}: {label}: {error}")
                for label, outcome in (("@typecheck", bug.checked), ("checks off", bug.unchecked)):
                    if outcome.get("error"):
                        out.append(f"    {bug.model}: {bug.name}: {label}: {outcome['error']}")

    all_bugs = [bug for result in results for bug in result.bugs]
    as_written = _share(results, "as written")
    typed_init = _share(results, "typed __init__")
    out.append("")
    out.append("== summary" + (" (--quick: the first bugs of each model only)" if quick else ""))
    summary = [
        [
            "mypy + plugin",
            _caught(all_bugs, "plugin"),
            _caught(all_bugs, "plugin", True),
            _shares(as_written),
        ],
        [
            "mypy + plugin, -> None on __init__",
            _caught(all_bugs, "plugin_typed_init"),
            _caught(all_bugs, "plugin_typed_init", True),
            _shares(typed_init),
        ],
        ["plain mypy", _caught(all_bugs, "plain"), _caught(all_bugs, "plain", True), "-"],
        [
            "plain mypy, -> None on __init__",
            _caught(all_bugs, "plain_typed_init"),
            _caught(all_bugs, "plain_typed_init", True),
            "-",
        ],
        ["run-time check (@typecheck)", _caught(all_bugs, "runtime"), _caught(all_bugs, "runtime", True), "-"],
    ]
    out.append(
        _table(
            summary,
            [
                "tool",
                "bugs caught",
                "silent bugs caught",
                "probes known: of tensors at run time / not contradicted / of mypy's tensor notes",
            ],
        )
    )
    false_positives = sum(len(r.plugin_errors) for r in results)
    added = sum(len(r.added_on_unannotated) for r in results)
    caught = sum(bool(bug.plugin) for bug in all_bugs)
    silent = [bug for bug in all_bugs if bug.silent]
    silent_caught = sum(bool(bug.plugin) for bug in silent)
    out.append("")
    out.append("targets of the issue (for the hidden corpus of 28 bugs, 10 silent), on this corpus with the plugin:")
    for label, value, met in (
        (
            "bugs caught statically >= 20/28 (71%)",
            f"{caught}/{len(all_bugs)}",
            len(all_bugs) and caught / len(all_bugs) >= 20 / 28,
        ),
        (
            "silent bugs caught statically >= 5/10",
            f"{silent_caught}/{len(silent)}",
            silent and silent_caught / len(silent) >= 0.5,
        ),
        (
            "probes known >= 80% (of tensors at run time)",
            _percent(as_written.grounded_share),
            (as_written.grounded_share or 0) >= 0.8,
        ),
        (
            "probes known >= 80% (of mypy's tensor notes)",
            _percent(as_written.notes_share),
            (as_written.notes_share or 0) >= 0.8,
        ),
        ("false positives on the correct code = 0", str(false_positives), false_positives == 0),
        ("errors added on unannotated code = 0", str(added), added == 0),
    ):
        out.append(f"  {label:<48} {value:>8}  {'met' if met else 'NOT MET'}")
    out.append("")
    out.append("time: " + ", ".join(f"{label} {seconds:.1f} s" for label, seconds in timings.items()))
    return "\n".join(out)


def as_json(results: Sequence[ModelResult], timings: dict[str, float]) -> dict[str, Any]:
    all_bugs = [bug for result in results for bug in result.bugs]
    shares = {variant: asdict(_share(results, variant)) for variant in ("as written", "typed __init__")}
    for variant, share in shares.items():
        computed = _share(results, variant)
        share["notes_share"], share["grounded_share"] = computed.notes_share, computed.grounded_share
        share["consistent_share"] = computed.consistent_share

    def count(attribute: str, silent_only: bool = False) -> int:
        return sum(bool(getattr(bug, attribute)) for bug in all_bugs if bug.silent or not silent_only)

    return {
        "summary": {
            "bugs": len(all_bugs),
            "silent_bugs": sum(bug.silent for bug in all_bugs),
            "caught": {
                tool: count(tool) for tool in ("plugin", "plain", "plugin_typed_init", "plain_typed_init", "runtime")
            },
            "silent_caught": {
                tool: count(tool, True)
                for tool in ("plugin", "plain", "plugin_typed_init", "plain_typed_init", "runtime")
            },
            "false_positives": sum(len(r.plugin_errors) for r in results),
            "plain_errors": sum(len(r.plain_errors) for r in results),
            "added_on_unannotated": sum(len(r.added_on_unannotated) for r in results),
            "probes": shares,
            "flag_disagreements": [f"{bug.model}: {bug.name}" for bug in all_bugs if bug.flag_disagrees],
        },
        "timings": timings,
        "models": [
            {
                **{key: value for key, value in asdict(result).items() if key not in ("bugs", "probes")},
                "bugs": [{**asdict(bug), "measured": bug.measured} for bug in result.bugs],
                "probes": {variant: [asdict(p) for p in probes] for variant, probes in result.probes.items()},
            }
            for result in results
        ],
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="folder of <model>.py + <model>_bugs.py")
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"the first {QUICK_BUGS} bugs of each model; no typed-__init__ bug variants",
    )
    parser.add_argument("--model", action="append", default=[], help="measure this model only (repeatable)")
    parser.add_argument("--json", type=Path, help="write the numbers to this file")
    parser.add_argument("--verbose", "-v", action="store_true", help="every probe, every new error")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds for each model's run-time subprocess")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2, help="processes at once (mypy runs, models)")
    parser.add_argument(
        "--source-root",
        type=Path,
        default=REPO,
        help="the neuraltypes checkout whose plugin and runtime are measured (default: this one)",
    )
    parser.add_argument("--keep", type=Path, help="write the variant files here (kept) instead of a temporary folder")
    parser.add_argument("--runtime-worker", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.runtime_worker:
        _runtime_worker(*args.runtime_worker)
        return 0
    try:
        models = load_corpus(args.corpus, args.model)
    except CorpusError as error:
        print(f"static_reach: {error}", file=sys.stderr)
        return 2
    bugs = sum(len(m.bugs[:QUICK_BUGS] if args.quick else m.bugs) for m in models)
    print(
        f"corpus {args.corpus}: {len(models)} model(s) ({', '.join(m.name for m in models)}), {bugs} bugs"
        f"{' (--quick)' if args.quick else ''}; plugin and runtime from {args.source_root}"
    )
    measured = {m.name for m in models}
    for path in sorted(args.corpus.glob("*.py")):
        if path.stem not in measured and not path.stem.endswith("_bugs") and not args.model:
            print(f"  {path.name} left out: no {path.stem}_bugs.py beside it")
    try:
        results, timings = measure(models, args.quick, args.source_root, args.timeout, args.jobs, args.keep)
    except (CorpusError, RuntimeError) as error:
        print(f"static_reach: {error}", file=sys.stderr)
        return 2
    print(report(results, timings, args.quick, args.verbose))
    if args.json:
        args.json.write_text(json.dumps(as_json(results, timings), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
