"""The pre-commit configuration parses and runs ruff (check and format) and mypy as local hooks (no downloads)."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _hooks() -> dict[str, dict[str, object]]:
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    return {hook["id"]: hook for repo in config["repos"] for hook in repo["hooks"]}


def test_the_hooks_are_ruff_check_ruff_format_and_mypy() -> None:
    hooks = _hooks()
    assert set(hooks) == {"ruff-check", "ruff-format", "mypy"}
    assert str(hooks["ruff-check"]["entry"]).startswith(".venv/bin/ruff check")
    assert str(hooks["ruff-format"]["entry"]).startswith(".venv/bin/ruff format")
    assert hooks["mypy"]["entry"] == ".venv/bin/mypy"


def test_every_hook_is_local_and_runs_a_tool_of_the_environment() -> None:
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    assert [repo["repo"] for repo in config["repos"]] == ["local"]
    assert {hook["language"] for hook in _hooks().values()} == {"system"}


def test_mypy_checks_the_whole_project_not_the_staged_files() -> None:
    assert _hooks()["mypy"]["pass_filenames"] is False
