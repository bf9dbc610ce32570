"""A config is resolved once, by us, imports nothing, and has bounded size: the attacks that found otherwise.

Each attack was run against the earlier code (which handed the raw config to Hydra, resolving it twice) and
either ran an unchecked target, read the environment, imported a module or crashed with ``RecursionError``.
"""

from __future__ import annotations

import contextlib
import sys
import time
import types
import warnings
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml
from hydra.errors import InstantiationException
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException
from test_archive_support import forge_archive

from neuraltypes.archive import Archivable, ArchiveError
from neuraltypes.config import (
    ConfigLimitError,
    ConfigLimits,
    Serialization,
    UnsafeConfigError,
    UnsafeTargetError,
    instantiable,
    instantiate,
    quote,
    resolve_config,
)

SECRET = "hunter2-not-to-be-read"
#: Calls that must never happen: (what, arguments). Cleared by the fixture below.
CALLS: list[tuple[str, Any]] = []


def record(*args: Any, **kwargs: Any) -> None:
    """A target off the allowlist: calling it is the attack succeeding."""
    CALLS.append(("record", (args, kwargs)))


def _spy(*args: Any) -> str:
    CALLS.append(("nt_spy", args))
    return "spied"


OmegaConf.register_new_resolver("nt_spy", _spy, replace=True)


@pytest.fixture(autouse=True)
def _secret_and_no_calls(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("NT_SECURITY_SECRET", SECRET)
    CALLS.clear()
    yield
    assert CALLS == []


@instantiable
class Keeper:
    """An allowlisted class that keeps whatever it is given."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args = args
        self.kwargs = kwargs


class Sink(Archivable, Serialization, torch.nn.Module):
    """An archivable model that takes any settings, to carry crafted strings through save and restore."""

    def __init__(self, **settings: Any) -> None:
        super().__init__()
        self.settings = settings
        self.lin = torch.nn.Linear(2, 2)


class Holder(Serialization):
    """A Serialization object with one string setting."""

    def __init__(self, value: str = "", b: str = "", w: str = "") -> None:
        self.value = value


def _keeper(**extra: Any) -> dict[str, Any]:
    return {"_target_": f"{__name__}.Keeper", **extra}


# The payload of finding 1: no resolver call in the text, ``${oc.create:${w}}`` after one resolution.
CREATE = {"value": "$${b}oc.create:$${b}w}}", "b": "{", "w": f"{{_target_: {__name__}.record}}"}


# -- 1. one resolution ---------------------------------------------------------------------------------------


def test_a_string_that_looks_like_a_call_after_resolution_is_data() -> None:
    built = instantiate(_keeper(**CREATE))
    assert built.kwargs["value"] == "${oc.create:${w}}"


def test_data_stays_data_inside_the_dictconfig_a_constructor_receives() -> None:
    built = instantiate(_keeper(nested={"value": CREATE["value"]}, b=CREATE["b"], w=CREATE["w"]))
    nested = built.kwargs["nested"]
    assert isinstance(nested, DictConfig)
    assert nested.value == "${oc.create:${w}}"
    assert OmegaConf.to_container(nested, resolve=True)["value"] == "${oc.create:${w}}"  # type: ignore[index]
    assert instantiate(nested).value == "${oc.create:${w}}"  # building it again: still the same data


def test_positional_arguments_are_data_too() -> None:
    built = instantiate(_keeper(_args_=["\\${oc.env:NT_SECURITY_SECRET}", {"k": "\\${x}"}]))
    assert built.args[0] == "${oc.env:NT_SECURITY_SECRET}"
    assert built.args[1].k == "${x}"


def test_a_nested_target_is_built_from_the_checked_value() -> None:
    # `b` assembles a second `_target_` only after resolution; it is data, and the node built is the one checked.
    built = instantiate(_keeper(child=_keeper(path="$${b}w}"), b="{", w=CREATE["w"]))
    assert isinstance(built.kwargs["child"], Keeper)
    assert built.kwargs["child"].kwargs["path"] == "${w}"


def test_serialization_and_its_stored_config_keep_the_string_as_data() -> None:
    holder = Holder.from_config_dict(CREATE)
    assert holder.value == "${oc.create:${w}}"
    again = Holder.from_config_dict(holder.to_config_dict())
    assert again.value == "${oc.create:${w}}"


def test_an_archive_with_the_payload_restores_it_as_data(tmp_path: Path) -> None:
    archive = tmp_path / "payload.nta"
    text = yaml.safe_dump({"_target_": f"{__name__}.Sink", **CREATE})
    forge_archive(archive, tensors=dict(Sink().state_dict()), config_text=text)
    restored = Sink.restore_from(archive)
    assert restored.settings["value"] == "${oc.create:${w}}"


@pytest.mark.parametrize(
    "config",
    [
        {"value": "$${b}oc.env:NT_SECURITY_SECRET}", "b": "{"},  # finding 2
        {"value": "${d}{oc.env:NT_SECURITY_SECRET}", "d": "$"},
        {"value": "${oc.dict.values:d}", "d": {"k}${oc.env:NT_SECURITY_SECRET": 1}},  # a key that builds a call
    ],
)
def test_the_environment_is_never_read_through_an_assembled_call(config: dict[str, Any]) -> None:
    built = instantiate(_keeper(**config))
    assert SECRET not in repr(built.kwargs)


def test_a_computed_resolver_name_is_refused_when_resolution_reaches_it() -> None:
    with pytest.raises(UnsafeConfigError, match=r"resolver 'oc.env' is not evaluated"):
        instantiate(_keeper(value="${${n}:NT_SECURITY_SECRET}", n="oc.env"))


def test_pure_resolvers_work_over_the_plain_tree() -> None:
    config = _keeper(
        d={"a": 1, "b": "${..n}"}, n=2, keys="${oc.dict.keys:d}", values="${oc.dict.values:d}", pick="${oc.select:z,7}"
    )
    kwargs = instantiate(config, _convert_="all").kwargs
    assert (kwargs["keys"], kwargs["values"], kwargs["pick"]) == (["a", "b"], [1, 2], 7)


def test_the_value_resolved_is_the_value_hydra_would_give_for_ordinary_configs() -> None:
    config = {
        "model": {"dim": 4, "hidden": "${.dim}", "name": "enc-${model.dim}", "sizes": ["${..dim}", 2]},
        "escaped": "\\${model.dim}",
        "missing": "???",
        "copy": "${model}",
    }
    assert resolve_config(config) == OmegaConf.to_container(OmegaConf.create(config), resolve=True)


def test_resolution_errors_name_the_key() -> None:
    with pytest.raises(OmegaConfBaseException, match="not found"):
        resolve_config({"a": "${nope}"})
    with pytest.raises(OmegaConfBaseException, match="cycle: a -> b -> a"):
        resolve_config({"a": "${b}", "b": "${a}"})
    with pytest.raises(OmegaConfBaseException, match="Missing mandatory value: m"):
        resolve_config({"a": "${m}", "m": "???"})


@given(st.text(alphabet="${}\\:ab.", max_size=24))
def test_quoting_gives_back_exactly_the_data(text: str) -> None:
    assert resolve_config({"k": quote(text)}) == {"k": text}
    assert OmegaConf.create({"k": quote(text)}).k == text


# -- 3. a config imports nothing ------------------------------------------------------------------------------


def test_a_submodule_not_yet_imported_is_refused_not_imported() -> None:
    assert "json.tool" not in sys.modules
    with pytest.raises(UnsafeTargetError) as caught:
        instantiate({"_target_": "json.tool.main"})
    assert str(caught.value) == (
        "refusing target 'json.tool.main': resolving it would import module 'json.tool', which this program has "
        "not imported; a config may not make Python import new modules (import 'json.tool' in your code first)"
    )
    assert "json.tool" not in sys.modules


def test_a_module_level_getattr_is_not_called(monkeypatch: pytest.MonkeyPatch) -> None:
    lazy = types.ModuleType("nt_lazy_module")
    lazy.__getattr__ = lambda name: CALLS.append(("__getattr__", name))  # type: ignore[method-assign]
    monkeypatch.setitem(sys.modules, "nt_lazy_module", lazy)
    with pytest.raises(ImportError, match="module 'nt_lazy_module' has no attribute or submodule 'loader'"):
        instantiate({"_target_": "nt_lazy_module.loader"})


def test_a_package_not_imported_is_refused_whether_or_not_it_is_installed() -> None:
    assert "nemo" not in sys.modules
    with pytest.raises(UnsafeTargetError, match=r"would import package 'nemo', which this program has not imported"):
        instantiate({"_target_": "nemo.collections.nlp.models.TextClassificationModel"})  # no counterpart of ours


def test_a_path_that_names_nothing_says_so() -> None:
    with pytest.raises(ImportError, match=r"^cannot resolve target 'torch.nn.NoSuchLayer': module 'torch.nn' has no"):
        instantiate({"_target_": "torch.nn.NoSuchLayer"})


def test_an_imported_submodule_is_found() -> None:
    import torch.optim.lr_scheduler

    target = {"_target_": "torch.optim.lr_scheduler.StepLR", "step_size": 1}
    optimizer = torch.optim.SGD(torch.nn.Linear(1, 1).parameters(), lr=0.1)
    assert isinstance(instantiate(target, optimizer), torch.optim.lr_scheduler.StepLR)


# -- 4. limits ------------------------------------------------------------------------------------------------


def _deep(depth: int) -> dict[str, Any]:
    node: dict[str, Any] = {"leaf": 1}
    for _ in range(depth):
        node = {"a": node}
    return node


def test_a_5000_deep_config_is_a_config_error_not_a_recursion_error() -> None:
    with pytest.raises(ConfigLimitError, match=r"nests deeper than 32 levels") as caught:
        instantiate(_deep(5000))
    assert isinstance(caught.value, UnsafeConfigError)
    with pytest.raises(ConfigLimitError):
        Sink.from_config_dict(_deep(5000))


def test_a_deep_archived_config_is_refused_naming_the_limit(tmp_path: Path) -> None:
    archive = tmp_path / "deep.nta"
    text = f"_target_: {__name__}.Sink\n" + "".join(" " * i + "a:\n" for i in range(200)) + " " * 200 + "b: 1\n"
    forge_archive(archive, tensors=dict(Sink().state_dict()), config_text=text)
    with pytest.raises(ArchiveError, match=r"nests deeper than 32 levels"):
        Sink.restore_from(archive)


def test_interpolations_that_double_at_every_level_stop_at_the_node_limit() -> None:
    config: dict[str, Any] = {"l0": list(range(8))}
    for level in range(1, 30):
        config[f"l{level}"] = [f"${{l{level - 1}}}", f"${{l{level - 1}}}"]
    started = time.perf_counter()
    with pytest.raises(ConfigLimitError, match=r"more than 1000000 nodes"):
        instantiate(_keeper(**config))
    assert time.perf_counter() - started < 30  # 2**29 copies would take hours; the limit stops it early


def test_a_limit_can_be_raised_for_a_config_the_caller_trusts() -> None:
    config = _keeper(d=_deep(40))
    with pytest.raises(ConfigLimitError):
        instantiate(config)
    assert isinstance(instantiate(config, limits=ConfigLimits(max_depth=50), _convert_="all"), Keeper)


# -- the property: nothing assembled from pieces ever runs -----------------------------------------------------

_PIECES = st.sampled_from(
    ["$", "{", "}", "\\", "$${b}", "${b}", "${d}", "${w}", "${oc.env:NT_SECURITY_SECRET}", "oc.env:", "oc.create:",
     "nt_spy:", "NT_SECURITY_SECRET", "w", "${..b}", "${oc.select:b}", ":", "'", "${oc.dict.values:m}", "x"]
)  # fmt: skip
_STRINGS = st.lists(_PIECES, min_size=1, max_size=12).map("".join)
_SIBLINGS = {"b": "{", "d": "$", "w": f"{{_target_: {__name__}.record}}", "m": {"k}${nt_spy:x": 1}}
_EXPECTED = (UnsafeConfigError, OmegaConfBaseException, ValueError, InstantiationException, ArchiveError)


def _harmless(outcome: object) -> None:
    assert SECRET not in repr(outcome)
    assert "spied" not in repr(outcome)


@settings(max_examples=150, deadline=None)
@given(_STRINGS, st.integers(min_value=0, max_value=3))
def test_no_resolver_runs_and_no_unchecked_target_is_called_through_instantiate(text: str, depth: int) -> None:
    value: Any = text
    for _ in range(depth):
        value = {"inner": value, **_SIBLINGS}
    with contextlib.suppress(*_EXPECTED):
        _harmless(instantiate(_keeper(value=value, **_SIBLINGS)).kwargs)
    assert CALLS == []


@settings(max_examples=100, deadline=None)
@given(_STRINGS)
def test_no_resolver_runs_and_no_unchecked_target_is_called_through_from_config_dict(text: str) -> None:
    with contextlib.suppress(*_EXPECTED):
        _harmless(Sink.from_config_dict({"value": text, **_SIBLINGS}).settings)
    assert CALLS == []


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_STRINGS)
def test_no_resolver_runs_and_no_unchecked_target_is_called_through_a_restore(tmp_path: Path, text: str) -> None:
    archive = tmp_path / "prop.nta"
    config = {"_target_": f"{__name__}.Sink", "value": text, **_SIBLINGS}
    forge_archive(archive, tensors=dict(Sink().state_dict()), config_text=yaml.safe_dump(config))
    with contextlib.suppress(*_EXPECTED), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a restore warns when it blanks a resolver call: expected here
        _harmless(Sink.restore_from(archive).settings)
    assert CALLS == []


def test_the_shipped_keyword_classifier_restores_a_payload_as_data(tmp_path: Path) -> None:
    from neuraltypes_modules import keyword_classifier  # the program restoring a model imports its code
    from neuraltypes_modules.configs import keyword_classifier_config

    from neuraltypes.models import ModelPT

    assert keyword_classifier.KeywordClassifier.__module__ in sys.modules

    model = ModelPT.from_config_dict(keyword_classifier_config(train_samples=32))
    config = OmegaConf.to_container(model.to_config_dict(), resolve=False)
    assert isinstance(config, dict)
    config.update(CREATE, note="${d}{oc.env:NT_SECURITY_SECRET}", d="$")
    config["train_ds"]["name"] = "$${b}oc.env:NT_SECURITY_SECRET}"
    archive = tmp_path / "keywords.nta"
    forge_archive(archive, tensors=dict(model.state_dict()), config_text=yaml.safe_dump(config))
    restored = ModelPT.restore_from(archive)
    assert (restored.cfg.value, restored.cfg.note) == ("${oc.create:${w}}", "${oc.env:NT_SECURITY_SECRET}")
    restored.setup_data()  # builds the datasets and loaders from the restored config
    assert SECRET not in repr(OmegaConf.to_container(restored.cfg, resolve=True))


def test_a_payload_in_a_sub_module_config_of_the_keyword_classifier_is_never_evaluated(tmp_path: Path) -> None:
    # KeywordClassifier builds its encoder with from_config_dict(self.cfg.encoder): the earlier code checked that
    # node, then let Hydra resolve it again, and oc.create's node was instantiated (record() ran).
    from neuraltypes_modules import keyword_classifier  # noqa: F401  (the program restoring a model imports it)
    from neuraltypes_modules.configs import keyword_classifier_config

    from neuraltypes.models import ModelPT

    model = ModelPT.from_config_dict(keyword_classifier_config(train_samples=32))
    config = OmegaConf.to_container(model.to_config_dict(), resolve=False)
    assert isinstance(config, dict)
    config["encoder"].update(extra="$${.b}oc.create:$${.b}w}}", b=CREATE["b"], w=CREATE["w"])
    archive = tmp_path / "keywords.nta"
    forge_archive(archive, tensors=dict(model.state_dict()), config_text=yaml.safe_dump(config))
    with pytest.raises(ArchiveError, match=r"ConvEncoder.__init__\(\) got an unexpected keyword argument"):
        ModelPT.restore_from(archive)  # the encoder is given the strings, which it does not take
