"""The plugin's rule files and settings, read without running mypy: the grammar, its errors, the cache key."""

from __future__ import annotations

from pathlib import Path

import mypy.api
import pytest

from neuraltypes_mypy_plugin._config import (
    PluginConfigError,
    default_rule_dirs,
    rebinding_allowed,
    rule_files,
    user_rule_dirs,
)
from neuraltypes_mypy_plugin._rules import TRANSFORMS, Rule, RuleSyntaxError, load_rules
from neuraltypes_mypy_plugin._version import __version__, cache_key


def write_rules(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_shipped_rules_cover_the_common_operations() -> None:
    rules = load_rules(default_rule_dirs())
    assert rules["torch.softmax"].element == "neuraltypes.core.ProbsType"
    assert rules["torch.nn.functional.log_softmax"].element == "neuraltypes.core.LogprobsType"
    assert rules["torch.Tensor.transpose"] == Rule(
        "torch.Tensor.transpose", ("dim0", "dim1"), "Swap", ("dim0", "dim1"), None, None, True
    )
    assert rules["torch.Tensor.T"].is_attribute
    assert rules["torch.Tensor.argmax"].dtype == "int64"
    assert rules["torch.nn.Linear.__call__"].transform == "Linear"
    assert rules["einops.layers.torch.Rearrange.__call__"].transform == "Rearrange"
    assert not rules["torch.nn.Linear.__call__"].is_method
    assert rules["einops.rearrange"].arguments == ("pattern",)


def test_a_rule_file_names_its_module_by_its_path(tmp_path: Path) -> None:
    write_rules(tmp_path, "mylib/ops.pyi", "def flip(x, dim) -> Swap[0, 'dim']: ...\n")
    write_rules(tmp_path, "mylib/__init__.pyi", "class Net:\n    def __call__(self, x) -> Keep: ...\n")
    assert set(load_rules([tmp_path])) == {"mylib.ops.flip", "mylib.Net.__call__"}
    assert load_rules([tmp_path])["mylib.ops.flip"].arguments == (0, "dim")


def test_a_later_directory_overrides_an_earlier_rule(tmp_path: Path) -> None:
    write_rules(tmp_path / "a", "lib.pyi", "def f(x) -> Keep: ...\n")
    write_rules(tmp_path / "b", "lib.pyi", "def f(x) -> Reverse: ...\n")
    assert load_rules([tmp_path / "a", tmp_path / "b"])["lib.f"].transform == "Reverse"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("def f(x): ...\n", "lib.f has no return annotation (a transform)"),
        (
            "def f(x) -> Shuffle: ...\n",
            f"lib.f: expected a transform ({', '.join(sorted(TRANSFORMS))})",
        ),
        ("def f(x) -> Drop['axis']: ...\n", "lib.f: 'axis' is neither a parameter nor a dtype"),
        (
            "def f(x) -> Keep[Unimported]: ...\n",
            "lib.f: arguments are parameter names, axis positions, imported element types",
        ),
    ],
)
def test_a_malformed_rule_is_reported_with_file_and_line(tmp_path: Path, source: str, message: str) -> None:
    path = write_rules(tmp_path, "lib.pyi", source)
    with pytest.raises(RuleSyntaxError) as error:
        load_rules([tmp_path])
    assert str(error.value) == f"{path}:1: {message}"


def test_rule_directories_come_from_the_mypy_config(tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    ini = tmp_path / "mypy.ini"
    ini.write_text("[mypy]\nstrict = True\n\n[neuraltypes_mypy_plugin]\nrules = rules\n")
    toml = tmp_path / "pyproject.toml"
    toml.write_text('[tool.neuraltypes_mypy_plugin]\nrules = ["rules"]\n')
    assert user_rule_dirs(str(ini)) == ((tmp_path / "rules").resolve(),)
    assert user_rule_dirs(str(toml)) == ((tmp_path / "rules").resolve(),)
    assert user_rule_dirs(None) == ()


def test_a_missing_rule_directory_is_a_config_error(tmp_path: Path) -> None:
    ini = tmp_path / "mypy.ini"
    ini.write_text("[neuraltypes_mypy_plugin]\nrules = nowhere\n")
    with pytest.raises(PluginConfigError) as error:
        user_rule_dirs(str(ini))
    assert str(error.value) == f"{ini}: [neuraltypes_mypy_plugin] rules: {tmp_path / 'nowhere'} is not a directory"


def test_rules_must_be_a_list_of_names_in_pyproject(tmp_path: Path) -> None:
    toml = tmp_path / "pyproject.toml"
    toml.write_text("[tool.neuraltypes_mypy_plugin]\nrules = 3\n")
    with pytest.raises(PluginConfigError) as error:
        user_rule_dirs(str(toml))
    assert str(error.value) == f"{toml}: [tool.neuraltypes_mypy_plugin] rules must be a list of directory names"


def test_the_cache_key_holds_the_version_and_changes_with_a_rule_file(tmp_path: Path) -> None:
    path = write_rules(tmp_path, "lib.pyi", "def f(x) -> Keep: ...\n")
    before = cache_key(rule_files([tmp_path]))
    path.write_text("def f(x) -> Reverse: ...\n")
    after = cache_key(rule_files([tmp_path]))
    assert before["version"] == after["version"] == __version__
    assert before["sources"] != after["sources"]
    assert cache_key(rule_files([tmp_path])) == after


def test_mypy_stops_with_a_message_on_a_malformed_user_rule(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_rules(tmp_path / "rules", "lib.pyi", "def f(x) -> Shuffle: ...\n")
    (tmp_path / "mypy.ini").write_text(
        "[mypy]\nplugins = neuraltypes_mypy_plugin\n[neuraltypes_mypy_plugin]\nrules = rules\n"
    )
    (tmp_path / "empty.py").write_text("")
    _, _, status = mypy.api.run(["--config-file", str(tmp_path / "mypy.ini"), str(tmp_path / "empty.py")])
    assert status == 2
    assert capsys.readouterr().err.startswith(
        f"neuraltypes_mypy_plugin: error: {tmp_path / 'rules' / 'lib.pyi'}:1: lib.f: expected a transform"
    )


@pytest.mark.parametrize(
    ("name", "text", "allowed"),
    [
        ("mypy.ini", "[mypy]\n", True),
        ("mypy.ini", "[neuraltypes_mypy_plugin]\nrebinding = false\n", False),
        ("pyproject.toml", "[tool.neuraltypes_mypy_plugin]\nrebinding = false\n", False),
        ("pyproject.toml", "[tool.mypy]\n", True),
    ],
)
def test_rebinding_is_on_unless_the_config_turns_it_off(tmp_path: Path, name: str, text: str, allowed: bool) -> None:
    (tmp_path / name).write_text(text)
    assert rebinding_allowed(str(tmp_path / name)) is allowed


def test_a_rebinding_setting_that_is_not_a_boolean_is_refused(tmp_path: Path) -> None:
    (tmp_path / "mypy.ini").write_text("[neuraltypes_mypy_plugin]\nrebinding = sometimes\n")
    with pytest.raises(PluginConfigError, match="rebinding must be true or false, not 'sometimes'"):
        rebinding_allowed(str(tmp_path / "mypy.ini"))
