"""The static-reach benchmark (benchmarks/static_reach.py) and its corpus (benchmarks/static_reach/).

The corpus's models run under ``@typecheck``, every bug applies to exactly one place, the bugs marked silent
run without an exception or NaN with checks off (and the others do not), the source transforms do what the
benchmark says, and the benchmark runs end to end in ``--quick`` mode with no plugin error on the correct
code and none added to the code with its annotations removed. How many bugs are caught is not asserted: that
figure rises as the plugin improves.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

pytestmark = pytest.mark.slow

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def _import_harness() -> ModuleType:
    spec = importlib.util.spec_from_file_location("static_reach", BENCHMARKS / "static_reach.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["static_reach"] = module  # the corpus's sidecars import Bug from it
    spec.loader.exec_module(module)
    return module


static_reach = _import_harness()
MODELS = static_reach.load_corpus(static_reach.DEFAULT_CORPUS)
BUGS = [(model, bug) for model in MODELS for bug in model.bugs]


def test_the_corpus_has_its_four_models_with_enough_bugs() -> None:
    assert {model.name for model in MODELS} == {"gpt", "vit", "conformer", "resnet"}
    for model in MODELS:
        assert len(model.bugs) >= 8, model.name
        assert any(bug.silent for bug in model.bugs), model.name
    silent = sum(bug.silent for _, bug in BUGS)
    assert len(BUGS) / 4 <= silent <= len(BUGS) / 2


@pytest.mark.parametrize(("model", "bug"), BUGS, ids=[f"{model.name}-{bug.name}" for model, bug in BUGS])
def test_each_bug_applies_to_exactly_one_place(model: Any, bug: Any) -> None:
    assert model.source.count(bug.find) == 1
    assert bug.find != bug.replace
    ast.parse(model.buggy_source(bug))


def test_a_find_text_that_is_not_there_once_is_refused(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text("def run() -> object:\n    x = 1\n    x = 1\n    return x\n")
    (tmp_path / "m_bugs.py").write_text(
        "from static_reach import Bug\n"
        "BUGS = [Bug('twice', 'x = 1', 'x = 2', True, ''), Bug('never', 'y', 'z', True, '')]\n"
    )
    with pytest.raises(static_reach.CorpusError, match="twice: find text occurs 2 times") as raised:
        static_reach.load_corpus(tmp_path)
    assert "never: find text occurs 0 times" in str(raised.value)


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model.name)
def test_the_correct_model_runs_under_typecheck_and_each_silent_flag_is_right(model: Any, tmp_path: Path) -> None:
    variants = [(model.name, model.path)]
    for index, bug in enumerate(model.bugs):
        path = tmp_path / f"{model.name}__bug{index:02d}.py"
        path.write_text(model.buggy_source(bug))
        variants.append((bug.name, path))
    outcomes, _, failure = static_reach.run_runtime(
        model.name, variants, None, tmp_path, static_reach.REPO, timeout=300
    )
    assert failure is None
    correct = outcomes[model.name]
    assert correct["checked"]["kind"] == "ok", correct["checked"]  # no NeuralTypeError, no crash, finite
    assert correct["unchecked"]["kind"] == "ok", correct["unchecked"]
    for bug in model.bugs:
        unchecked = outcomes[bug.name]["unchecked"]
        if bug.silent:
            assert unchecked["kind"] == "ok", f"{bug.name} is marked silent: {unchecked}"
            assert unchecked["differs"], f"{bug.name} changes nothing in run()'s outputs"
        else:
            assert unchecked["kind"] in ("crash", "nan"), f"{bug.name} is not marked silent, but is: {unchecked}"


def test_annotations_are_stripped_and_decorator_lines_blanked() -> None:
    source = (
        "from torch import Tensor\n"
        "from neuraltypes import NT, LogitsType, typecheck\n"
        'X = NT[Tensor, "B T", LogitsType]\n'
        "@typecheck\n"
        'def f(x: NT[Tensor, "B T"]) -> tuple[NT[Tensor, "B", LogitsType], X | None]:\n'
        "    return x, None\n"
    )
    stripped = static_reach.strip_neural_annotations(source)
    assert stripped.splitlines() == [
        "from torch import Tensor",
        "",
        "X = Tensor",
        "",
        "def f(x: Tensor) -> tuple[Tensor, X | None]:",
        "    return x, None",
    ]


def test_init_gets_none_return_and_probes_follow_assignments() -> None:
    source = (
        '"""Doc."""\n'
        "import torch\n"
        "class M:\n"
        "    def __init__(self, n,\n"
        "                 m=(1, 2)):\n"
        "        self.n = n\n"
        "        w = torch.zeros(n)\n"
        "    def forward(self, x):\n"
        "        for _ in range(2):\n"
        "            a, (b, _) = x, (x, x)  # a comment\n"
        "        y = x; z = x\n"
        "        x += 1\n"
        "        return a\n"
    )
    typed = static_reach.type_inits(source)
    assert "                 m=(1, 2)) -> None:\n" in typed
    assert typed.count("\n") == source.count("\n")
    probed, probes = static_reach.insert_probes(typed)
    ast.parse(probed)
    assert [(p.function, p.name, p.line) for p in probes] == [
        ("M.__init__", "w", 7),
        ("M.forward", "a", 10),
        ("M.forward", "b", 10),
        ("M.forward", "x", 12),
    ]
    lines = probed.splitlines()
    assert lines[1] == "from neuraltypes import reveal_neural_type"
    for probe in probes:
        assert lines[probe.variant_line - 1].strip() == f"reveal_neural_type({probe.name})"


def test_probe_notes_are_classified() -> None:
    kind = static_reach.probe_kind
    assert kind('Neural type is NT[Tensor, "B T C", EncodedRepresentation, "float"]') == "known-full"
    assert kind('Neural type is NT[Tensor, "B T ?", EncodedRepresentation]') == "known"
    assert kind('Neural type is NT[Tensor, "B T C", "float"]') == "known"
    assert kind('Neural type is NT[Tensor, "...", LogitsType]') == "known"
    assert kind("Neural type is unknown") == "unknown"
    assert kind("Neural type is not known: not a tensor") == "not-tensor"
    assert kind(None) == "unchecked"


def test_known_types_are_checked_against_the_run() -> None:
    wrong = static_reach.contradiction
    note = 'Neural type is NT[Tensor, "B C:3 H W", NormalizedImageValue, "float"]'
    assert wrong(note, [[4, 3, 32, 32]], ["float32"]) is None
    assert wrong(note, [[4, 8, 32, 32]], ["float32"]) == "axis 'C:3' has size 8 (shape (4, 8, 32, 32))"
    assert wrong(note, [[4, 3, 32]], ["float32"]) == "rank 3 (shape (4, 3, 32)) where the type has 4 axes"
    assert wrong(note, [[4, 3, 32, 32]], ["int64"]) == "dtype int64 where the type says float"
    assert wrong('Neural type is NT[Tensor, "*b T ?", LogitsType]', [[1, 2, 3, 4]], ["float32"]) is None


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, Any]]:
    out = tmp_path_factory.mktemp("static-reach") / "numbers.json"
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "static_reach.py"), "--quick", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout, json.loads(out.read_text())


def test_the_benchmark_runs_end_to_end_in_quick_mode(quick_run: tuple[str, dict[str, Any]]) -> None:
    printed, numbers = quick_run
    for heading in ("== correct code", "== probes", "== bugs", "== summary", "targets of the issue"):
        assert heading in printed
    summary = numbers["summary"]
    assert summary["bugs"] == len(MODELS) * static_reach.QUICK_BUGS
    assert summary["flag_disagreements"] == []
    assert summary["plain_errors"] == 0  # the corpus is written so that plain mypy has nothing to say
    for model in numbers["models"]:
        assert model["crashes"] == [] and model["runtime_failure"] is None, model["name"]
        assert model["correct_checked"]["kind"] == "ok", model["name"]
        assert model["probe_run_error"] is None, model["name"]
        assert {bug["measured"] for bug in model["bugs"]} <= {"crash", "nan", "silent"}
    probes = summary["probes"]["as written"]
    assert probes["tensors"] > 0 and probes["known"] + probes["unknown"] > 0


def test_the_plugin_adds_no_error_to_the_corpus_without_annotations(quick_run: tuple[str, dict[str, Any]]) -> None:
    _, numbers = quick_run
    added = {model["name"]: model["added_on_unannotated"] for model in numbers["models"]}
    assert numbers["summary"]["added_on_unannotated"] == 0, added


def test_the_plugin_reports_nothing_on_the_correct_corpus(quick_run: tuple[str, dict[str, Any]]) -> None:
    _, numbers = quick_run
    errors = {model["name"]: model["plugin_errors"] for model in numbers["models"] if model["plugin_errors"]}
    assert numbers["summary"]["false_positives"] == 0, errors
