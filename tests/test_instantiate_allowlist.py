"""Safe instantiation: every ``_target_`` is checked on the object it resolves to, never on its string."""

from __future__ import annotations

import functools
import sys
from typing import Any

import pytest
import torch

from neuraltypes.config import (
    Serialization,
    UnsafeConfigError,
    UnsafeTargetError,
    instantiable,
    instantiate,
    resolve_target,
)

ALLOWLIST = (
    "which is not on the allowlist (NeuralModule and Serialization subclasses, classes marked @instantiable, "
    "torch.nn modules, torch.optim optimizers and schedulers)"
)


class Unmarked:
    def __init__(self, value: int = 0) -> None:
        self.value = value


@instantiable
class Marked:
    def __init__(self, value: int = 0, child: Any = None) -> None:
        self.value = value
        self.child = child


class MarkedChild(Marked):
    pass


@instantiable
def make_marked(value: int) -> Marked:
    return Marked(value * 2)


class ClaimsEverything:
    """Answers every attribute lookup (as mocks and proxies do), including the instantiable mark."""

    def __getattr__(self, name: str) -> bool:
        if name == "__test__":  # pytest asks whether to collect it
            raise AttributeError(name)
        return True

    def __call__(self) -> None:
        raise AssertionError("must not be called")


CLAIMS_EVERYTHING = ClaimsEverything()


class Block(Serialization):
    def __init__(self, width: int) -> None:
        self.width = width


@pytest.mark.parametrize(
    ("target", "resolved"),
    [
        ("os.system", "builtin_function_or_method posix.system"),
        ("posix.system", "builtin_function_or_method posix.system"),
        ("builtins.open", "builtin_function_or_method io.open"),
        ("builtins.eval", "builtin_function_or_method builtins.eval"),
        ("builtins.exec", "builtin_function_or_method builtins.exec"),
        ("torch.load", "function torch.serialization.load"),
        ("torch.optim.optimizer.torch.load", "function torch.serialization.load"),
        ("torch.nn.modules.module.torch.load", "function torch.serialization.load"),
        ("subprocess.Popen", "class subprocess.Popen"),
        ("subprocess.run", "function subprocess.run"),
        ("shutil.copyfile", "function shutil.copyfile"),
        ("shutil.rmtree", "function shutil.rmtree"),
        ("torch.nn.functional.relu", "function torch.nn.functional.relu"),
        ("importlib.import_module", "function importlib.import_module"),
        ("pathlib.Path", "class pathlib.Path"),
        ("test_instantiate_allowlist.Unmarked", "class test_instantiate_allowlist.Unmarked"),
        ("neuraltypes.config.Serialization.from_config_dict", "method neuraltypes.config._serialization"),
    ],
)
def test_unlisted_targets_are_refused_naming_what_they_resolve_to(target: str, resolved: str) -> None:
    for name in ("subprocess", "shutil", "importlib", "pathlib"):
        __import__(name)
    with pytest.raises(UnsafeTargetError) as caught:
        instantiate({"_target_": target, "x": 1})
    message = str(caught.value)
    assert message.startswith(f"refusing to instantiate target {target!r}: it resolves to {resolved}")
    if "Serialization.from_config_dict" not in target:
        assert message.endswith(ALLOWLIST)


def test_the_refusal_is_a_value_error() -> None:
    assert issubclass(UnsafeTargetError, UnsafeConfigError)
    assert issubclass(UnsafeConfigError, ValueError)


def test_a_module_is_refused_as_not_callable() -> None:
    with pytest.raises(
        UnsafeTargetError,
        match=r"^refusing to instantiate target 'os': it resolves to module os, "
        r"which cannot be called$",
    ):
        instantiate({"_target_": "os"})


def test_a_package_the_program_never_imported_is_not_imported() -> None:
    assert "antigravity" not in sys.modules
    with pytest.raises(UnsafeTargetError) as caught:
        instantiate({"_target_": "antigravity.geohash"})
    assert str(caught.value) == (
        "refusing target 'antigravity.geohash': resolving it would import package 'antigravity', which this "
        "program has not imported; a config may not make Python import new packages (import 'antigravity' in "
        "your code first)"
    )
    assert "antigravity" not in sys.modules


def test_a_path_that_names_nothing_is_an_import_error() -> None:
    with pytest.raises(
        ImportError,
        match=r"^cannot resolve target 'torch.nn.Linearr': module 'torch.nn' has no "
        r"attribute or submodule 'Linearr'$",
    ):
        instantiate({"_target_": "torch.nn.Linearr"})
    with pytest.raises(ImportError, match=r"'torch.nn.Linear' has no attribute 'nope'$"):
        resolve_target("torch.nn.Linear.nope")


@pytest.mark.parametrize("target", ["", "os..system", "1os", "os.system()", "../evil"])
def test_a_malformed_path_is_rejected(target: str) -> None:
    with pytest.raises(ValueError, match=r"is not a dotted import path such as 'package.module.Class'$"):
        resolve_target(target)


def test_nested_targets_are_refused_with_their_key() -> None:
    config = {"_target_": "torch.nn.Sequential", "_args_": [{"_target_": "os.system", "command": "echo hi"}]}
    with pytest.raises(UnsafeTargetError, match=r"^refusing to instantiate target 'os.system' at '_args_\[0\]'"):
        instantiate(config)


def test_targets_under_recursive_false_are_checked_too() -> None:
    config = {"_target_": f"{__name__}.Marked", "_recursive_": False, "child": {"_target_": "os.system"}}
    with pytest.raises(UnsafeTargetError, match=r"target 'os.system' at 'child'"):
        instantiate(config)


def test_targets_passed_as_call_kwargs_are_checked() -> None:
    with pytest.raises(UnsafeTargetError, match=r"target 'builtins.open' at 'child'"):
        instantiate({"_target_": f"{__name__}.Marked"}, child={"_target_": "builtins.open", "file": "/etc/passwd"})


def test_a_target_reached_through_an_interpolation_is_checked() -> None:
    config = {"evil": "os.system", "run": {"_target_": "${evil}", "command": "echo hi"}}
    with pytest.raises(UnsafeTargetError, match=r"target 'os.system' at 'run'"):
        instantiate(config)


def test_a_target_given_as_an_object_is_checked() -> None:
    with pytest.raises(UnsafeTargetError, match=r"^refusing to instantiate target 'Unmarked': it resolves to class "):
        instantiate({"_target_": Unmarked})


def test_marked_classes_their_subclasses_and_marked_functions_are_accepted() -> None:
    assert instantiate({"_target_": f"{__name__}.Marked", "value": 3}).value == 3
    assert type(instantiate({"_target_": f"{__name__}.MarkedChild"})) is MarkedChild
    assert instantiate({"_target_": f"{__name__}.make_marked", "value": 4}).value == 8


def test_a_class_allowed_for_one_call_only() -> None:
    built = instantiate({"_target_": f"{__name__}.Unmarked", "value": 5}, allow=[Unmarked])
    assert built.value == 5
    with pytest.raises(UnsafeTargetError):
        instantiate({"_target_": f"{__name__}.Unmarked", "value": 5})


def test_instantiable_refuses_what_is_not_a_class_or_function() -> None:
    with pytest.raises(TypeError, match=r"^@instantiable marks classes and functions, not int objects$"):
        instantiable(3)  # type: ignore[type-var]


def test_an_object_that_claims_every_attribute_is_not_taken_as_marked() -> None:
    with pytest.raises(UnsafeTargetError, match=r"a ClaimsEverything object, which is not on the allowlist"):
        instantiate({"_target_": f"{__name__}.CLAIMS_EVERYTHING"})


def test_torch_modules_optimizers_and_schedulers_are_accepted() -> None:
    linear = instantiate({"_target_": "torch.nn.Linear", "in_features": 2, "out_features": 3})
    assert isinstance(linear, torch.nn.Linear) and linear.out_features == 3
    make_optimizer = instantiate({"_target_": "torch.optim.AdamW", "_partial_": True, "lr": 0.01})
    optimizer = make_optimizer(linear.parameters())
    assert isinstance(optimizer, torch.optim.AdamW) and optimizer.defaults["lr"] == 0.01
    scheduler = instantiate({"_target_": "torch.optim.lr_scheduler.StepLR", "step_size": 2}, optimizer)
    assert isinstance(scheduler, torch.optim.lr_scheduler.StepLR)


def test_serialization_subclasses_are_accepted() -> None:
    assert instantiate({"_target_": f"{__name__}.Block", "width": 7}).width == 7


def test_hydra_semantics_recursive_convert_partial_and_args() -> None:
    nested = instantiate({"_target_": f"{__name__}.Marked", "child": {"_target_": f"{__name__}.Marked", "value": 2}})
    assert isinstance(nested.child, Marked) and nested.child.value == 2
    raw = instantiate(
        {"_target_": f"{__name__}.Marked", "_recursive_": False, "child": {"_target_": f"{__name__}.Marked"}}
    )
    assert raw.child["_target_"] == f"{__name__}.Marked"
    converted = instantiate({"_target_": f"{__name__}.Marked", "_convert_": "all", "child": {"a": [1, 2]}})
    assert converted.child == {"a": [1, 2]} and type(converted.child) is dict
    partial = instantiate({"_target_": f"{__name__}.Marked", "_partial_": True, "value": 9})
    assert isinstance(partial, functools.partial) and partial().value == 9
    sequential = instantiate(
        {"_target_": "torch.nn.Sequential", "_args_": [{"_target_": "torch.nn.ReLU"}, {"_target_": "torch.nn.Tanh"}]}
    )
    assert [type(m) for m in sequential] == [torch.nn.ReLU, torch.nn.Tanh]


def test_resolver_calls_are_refused_unless_trusted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEURALTYPES_TEST_SECRET", "hunter2")
    config = {"_target_": f"{__name__}.Marked", "value": "${oc.env:NEURALTYPES_TEST_SECRET}"}
    with pytest.raises(UnsafeConfigError) as caught:
        instantiate(config)
    assert str(caught.value) == (
        "refusing to resolve '${oc.env:NEURALTYPES_TEST_SECRET}' at 'value': resolver 'oc.env' is not evaluated "
        "in a config being instantiated (it may read the environment or run code); resolve a trusted config "
        "first, or pass allow_resolvers=True"
    )
    assert not isinstance(caught.value, UnsafeTargetError)
    assert instantiate(config, allow_resolvers=True).value == "hunter2"


def test_a_resolver_hidden_inside_a_string_or_argument_is_found() -> None:
    with pytest.raises(UnsafeConfigError, match=r"resolver 'oc.env'"):
        instantiate({"_target_": f"{__name__}.Marked", "value": "x_${oc.select:a,${oc.env:HOME}}", "a": 1})
    with pytest.raises(UnsafeConfigError, match=r"resolver 'oc.decode'"):
        instantiate({"_target_": f"{__name__}.Marked", "value": "${oc.decode:'{_target_: os.system}'}"})


def test_node_references_and_pure_resolvers_are_resolved() -> None:
    config = {"n": 3, "m": {"_target_": f"{__name__}.Marked", "value": "${oc.select:n,0}"}}
    assert instantiate(config).m.value == 3


def test_a_target_that_is_neither_a_path_nor_callable_is_refused() -> None:
    with pytest.raises(
        UnsafeTargetError,
        match=r"^refusing to instantiate target '42': it resolves to an int object, "
        r"which cannot be called$",
    ):
        instantiate({"_target_": 42})


@pytest.mark.parametrize(
    ("value", "data"),
    [
        ("\\${oc.env:NEURALTYPES_TEST_SECRET}", "${oc.env:NEURALTYPES_TEST_SECRET}"),
        ("x\\\\\\${ oc.env : NEURALTYPES_TEST_SECRET}", "x\\${ oc.env : NEURALTYPES_TEST_SECRET}"),
    ],
)
def test_an_escaped_resolver_call_is_data_after_the_one_resolution(
    value: str, data: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEURALTYPES_TEST_SECRET", "hunter2")
    built = instantiate({"_target_": f"{__name__}.Marked", "value": value})
    assert built.value == data


def test_an_escaped_node_reference_stays_within_the_checked_tree() -> None:
    config = {"_target_": f"{__name__}.Marked", "child": "\\${evil}", "evil": {"_target_": "builtins.open"}}
    with pytest.raises(UnsafeTargetError, match=r"target 'builtins.open' at 'evil'"):
        instantiate(config)


def test_a_missing_config_builds_nothing_as_in_hydra() -> None:
    assert instantiate(None) is None
    with pytest.raises(
        TypeError,
        match=r"^a config must be a mapping, a list, a DictConfig/ListConfig or a dataclass "
        r"config, not int$",
    ):
        instantiate(3)


def test_a_packages_command_line_entry_is_not_imported() -> None:
    # unittest/__main__.py calls unittest.main() at import: importing it would run (and exit) a test runner.
    __import__("unittest")
    with pytest.raises(
        UnsafeTargetError,
        match=r"^refusing target 'unittest.__main__.main': resolving it would import module "
        r"'unittest.__main__', which this program has not imported",
    ):
        instantiate({"_target_": "unittest.__main__.main"})
    assert "unittest.__main__" not in sys.modules
