#!/usr/bin/env python3
"""CI: the private-API bridges against the lowest and the newest versions of their libraries that we declare.

Two parts of neuraltypes read another library's internals: ``neuraltypes/runtime/_beartype_bridge.py``
(beartype's private tester factory) and the mypy plugin (``mypy.nodes``, ``mypy.types``, ``mypy.plugin``).
For each, this runs the tests that exercise the bridge twice: with the lowest version ``pyproject.toml``
declares (pinned in ``TESTED``) and with the newest release its declared range admits (pip picks it now, so
a new release inside the range is tested the day it appears). It prints a table and exits non-zero if any run
fails.

The project's ``.venv`` is left as it is: each version is installed, with its own dependencies, into a folder
of its own under ``build/compat/`` (``pip install --target``, kept between runs) that goes first on
``PYTHONPATH`` for that run only. Run it after ``./quickstart.sh test`` has set up ``.venv``::

    .venv/bin/python .ci/compat.py              # both libraries, about 2 minutes on 2 cores
    .venv/bin/python .ci/compat.py mypy         # one of them

``tests/test_compat_ranges.py`` holds ``pyproject.toml`` to ``TESTED``: each floor is the lowest version
tested, each ceiling is just above the highest.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
import tomllib
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PYTHON = REPO / ".venv" / "bin" / "python"
OVERLAYS = REPO / "build" / "compat"

#: The versions the bridges were tested with, (lowest, highest). The lowest is pyproject.toml's floor and is
#: tested on every run; the highest was the newest release in the range when the range was last narrowed: the
#: ceiling is the next minor version, and every run tests the newest release below it.
TESTED: dict[str, tuple[str, str]] = {
    "beartype": ("0.23.0", "0.23.1"),
    "mypy": ("2.0.0", "2.4.1"),
}

#: The pytest arguments for each bridge: the tests that exercise it, fast, and reaching every private name it
#: uses. The plugin's tests leave out the runs of plain mypy (no plugin, so no bridge): each is a cold mypy run
#: over torch, the bulk of the time.
TESTS: dict[str, tuple[str, ...]] = {
    "beartype": (
        "tests/test_typecheck_hints.py",
        "tests/test_typecheck_errors.py",
        "tests/test_typecheck_containers.py",
        "tests/test_typecheck_fast_path_agrees.py",
        "tests/test_typecheck_nemo.py",
    ),
    "mypy": (
        "tests/test_mypy_plugin.py",
        "tests/test_mypy_plugin_rules.py",
        "tests/test_mypy_plugin_imports.py",
        "-k",
        "not plain_mypy and not adds_no_errors",
    ),
}

#: Run under each version: the version and file Python imports (the overlay must win) and, for beartype, which
#: path the bridge takes: its private factory, or the public ``is_bearable`` it falls back to, and which of the
#: two it means to take on this version (``_PRIVATE_FACTORY_VERSIONS``). A private path that falls back
#: silently costs ~13x on every checked call, so the two must agree.
_PROBE = """
import importlib, importlib.metadata, json, sys
library = sys.argv[1]
module = importlib.import_module(library)
version = importlib.metadata.version(library)
taken = meant = "-"
if library == "beartype":
    from neuraltypes.runtime import _beartype_bridge as bridge
    taken = "private" if bridge._FACTORY is not None else "public"
    meant = "private" if version.startswith(bridge._PRIVATE_FACTORY_VERSIONS) else "public"
print(json.dumps({"version": version, "file": module.__file__, "taken": taken, "meant": meant}))
"""
#: tests/mypy/_harness.py keeps mypy's cache for the plugin's tests here. Each mypy version starts with none, so
#: that every run checks the cases from scratch; the developer's cache is put back afterwards.
MYPY_TEST_CACHE = REPO / ".mypy_cache" / "neuraltypes-plugin-tests"


@dataclass(frozen=True)
class Outcome:
    """One library at one version: what ran and how it went."""

    library: str
    version: str
    bridge: str
    bridge_ok: bool
    passed: int
    failed: int
    seconds: float

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.passed > 0 and self.bridge_ok

    def row(self) -> tuple[str, ...]:
        counts = (str(self.passed), str(self.failed), f"{self.seconds:.0f}")
        return (self.library, self.version, self.bridge, *counts, "" if self.ok else "FAIL")


def declared_range(library: str) -> str:
    """The version specifier ``pyproject.toml`` declares for ``library`` (``>=0.23,<0.24``), from the
    dependencies or from any extra."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    requirements: list[str] = [
        *project["dependencies"],
        *(r for extra in project["optional-dependencies"].values() for r in extra),
    ]
    for requirement in requirements:
        name, _, specifier = requirement.partition(">=")
        if name.strip() == library:
            return ">=" + specifier.split(";")[0].strip()
    raise SystemExit(f"compat: pyproject.toml declares no range for {library}")


def newest_in_range(library: str) -> str:
    """The newest release pip would install for the declared range (asks the index; installs nothing)."""
    report = _pip(
        "install", "--dry-run", "--ignore-installed", "--no-deps", "--quiet", "--report", "-",
        f"{library}{declared_range(library)}",
    )  # fmt: skip
    version: str = json.loads(report)["install"][0]["metadata"]["version"]
    return version


def overlay(library: str, version: str) -> Path:
    """A folder holding ``library==version`` and its dependencies, installed once and kept under build/."""
    folder = OVERLAYS / f"{library}-{version}"
    done = folder / ".installed"
    if not done.exists():
        _pip("install", "--quiet", "--no-compile", "--upgrade", "--target", str(folder), f"{library}=={version}")
        done.touch()
    return folder


def run_tests(library: str, version: str) -> Outcome:
    """The bridge's tests, with ``library==version`` first on the path."""
    folder = overlay(library, version)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(folder), os.environ.get("PYTHONPATH")]))}
    env.setdefault("OMP_NUM_THREADS", "1")
    taken, meant = _bridge_path(library, version, folder, env)
    report = OVERLAYS / f"{library}-{version}.xml"
    report.unlink(missing_ok=True)
    started = time.monotonic()
    pytest = [str(PYTHON), "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}", *TESTS[library]]
    with _no_mypy_cache():
        done = subprocess.run(pytest, cwd=REPO, env=env, capture_output=True, text=True)
    seconds = time.monotonic() - started
    if done.returncode != 0:
        print(done.stdout[-6000:] + done.stderr[-2000:], file=sys.stderr)
    passed, failed = _counts(report) if report.exists() else (0, 1)
    bridge = taken if taken == meant else f"{taken}, meant {meant}"
    return Outcome(library, version, bridge, taken == meant, passed, failed, seconds)


def _bridge_path(library: str, version: str, folder: Path, env: dict[str, str]) -> tuple[str, str]:
    """(the path the bridge takes, the path it means to take) under ``env``, once sure that Python imports
    ``library==version`` from ``folder``."""
    probe = json.loads(_run([str(PYTHON), "-c", _PROBE, library], env).stdout)
    if probe["version"] != version or not Path(probe["file"]).is_relative_to(folder):
        raise SystemExit(
            f"compat: asked for {library}=={version}, Python imported {probe['version']} ({probe['file']})"
        )
    return probe["taken"], probe["meant"]


@contextlib.contextmanager
def _no_mypy_cache() -> Iterator[None]:
    """The plugin tests' mypy cache moved aside meanwhile, and put back."""
    aside = MYPY_TEST_CACHE.with_name(MYPY_TEST_CACHE.name + ".aside")
    if aside.exists():  # an interrupted run left the developer's cache aside, and its own in place
        shutil.rmtree(MYPY_TEST_CACHE, ignore_errors=True)
    elif MYPY_TEST_CACHE.exists():
        MYPY_TEST_CACHE.rename(aside)
    try:
        yield
    finally:
        shutil.rmtree(MYPY_TEST_CACHE, ignore_errors=True)
        if aside.exists():
            aside.rename(MYPY_TEST_CACHE)


def _counts(report: Path) -> tuple[int, int]:
    """(passed, failed or errored) from pytest's JUnit XML."""
    suite = ElementTree.parse(report).getroot()
    suite = suite if suite.tag == "testsuite" else suite[0]
    tests, failures, errors, skipped = (int(suite.get(key, "0")) for key in ("tests", "failures", "errors", "skipped"))
    return tests - failures - errors - skipped, failures + errors


def table(outcomes: list[Outcome]) -> str:
    rows: list[tuple[str, ...]] = [("library", "version", "bridge", "passed", "failed", "seconds", "")]
    rows += [outcome.row() for outcome in outcomes]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows)


def _pip(*args: str) -> str:
    return _run([str(PYTHON), "-m", "pip", *args], dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1")).stdout


def _run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"compat: {' '.join(command[:4])} ... failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("libraries", nargs="*", metavar="library", help=f"of {', '.join(TESTED)} (default: all)")
    parser.add_argument("--versions", nargs="+", metavar="X.Y.Z", help="test these versions instead (one library)")
    args = parser.parse_args(argv)
    libraries = args.libraries or list(TESTED)
    if unknown := set(libraries) - set(TESTED):
        parser.error(f"no bridge to {', '.join(sorted(unknown))}; the bridged libraries are {', '.join(TESTED)}")
    if args.versions and len(libraries) != 1:
        parser.error("--versions needs one library")
    if not PYTHON.exists():
        raise SystemExit("compat: no .venv here; run ./quickstart.sh test first")
    started, outcomes = time.monotonic(), []
    for library in libraries:
        versions = args.versions or [TESTED[library][0], newest_in_range(library)]
        for version in dict.fromkeys(versions):
            print(f"== {library}=={version}: pytest {shlex.join(TESTS[library])}", flush=True)
            outcomes.append(run_tests(library, version))
    print(table(outcomes))
    print(f"compat: {time.monotonic() - started:.0f} s in all")
    return 0 if all(o.ok for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
