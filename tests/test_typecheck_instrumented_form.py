"""The run-time checks' tests, run again in the other form: instrumented wherever it can be
(``NEURALTYPES_INSTRUMENT=1``).

``@typecheck`` puts a generated wrapper around a function by default; with ``instrument=True`` it writes the
checks into the function's own code where it can, and uses the wrapper elsewhere (no source, a ``return``
inside ``try``/``with``, generators, late hints). Both forms must check the same things the same way, so the
behaviour tests of the checks run here once more, in a fresh interpreter, with instrumentation asked for
everywhere.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent

# The tests of what the checks do; not those of instrumenting itself, nor of torch.compile (run in both forms
# by test_compile_typecheck.py itself), nor this file.
_CHECK_TESTS = sorted(path.name for path in TESTS.glob("test_typecheck_*.py"))
BEHAVIOUR = [
    *(name for name in _CHECK_TESTS if name not in {"test_typecheck_instrument.py", Path(__file__).name}),
    "test_runtime_switches.py",
    "test_neural_module_typecheck.py",
]


def test_every_function_instrumented_where_it_can_be_passes_the_same_tests() -> None:
    environment = {key: value for key, value in os.environ.items() if key != "NEURALTYPES_NO_INSTRUMENT"}
    environment["NEURALTYPES_INSTRUMENT"] = "1"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *(f"tests/{name}" for name in BEHAVIOUR)],
        cwd=TESTS.parent,
        env=environment,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and " failed" not in result.stdout


def test_the_environment_variables_choose_the_form() -> None:
    probe = (
        "from torch import Tensor\n"
        "from neuraltypes import NT\n"
        "from neuraltypes.runtime import typecheck\n"
        "import inspect, textwrap\n"
        'source = \'def f(x: NT[Tensor, "b"]) -> NT[Tensor, "b"]:\\n    return x\\n\'\n'
        "import linecache; linecache.cache['<probe>'] = (len(source), None, source.splitlines(True), '<probe>')\n"
        "namespace = {'NT': NT, 'Tensor': Tensor}\n"
        "exec(compile(source, '<probe>', 'exec'), namespace)\n"
        "print('_ntq_level' in typecheck(namespace['f']).__code__.co_freevars)\n"
    )
    outputs = []
    for variables in ({}, {"NEURALTYPES_INSTRUMENT": "1"}, {"NEURALTYPES_NO_INSTRUMENT": "1"}):
        environment = {key: value for key, value in os.environ.items() if "INSTRUMENT" not in key}
        result = subprocess.run(
            [sys.executable, "-c", probe], env={**environment, **variables}, capture_output=True, text=True, timeout=300
        )
        assert result.returncode == 0, result.stderr
        outputs.append(result.stdout.strip())
    assert outputs == ["False", "True", "False"]  # wrapped by default, instrumented when asked for
