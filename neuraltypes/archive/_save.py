"""Saving a module: its config (artifact paths replaced by references), weights and artifacts."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf

from neuraltypes.core import __version__

from ._config_text import ARTIFACT_REF, dump_config, map_strings
from ._distributed import is_writer, wait_for_writer
from ._errors import ArchiveError
from ._format import CONFIG_MEMBER
from ._manifest import check_target_name
from ._signature import signature_of
from ._target import config_target
from ._weights import prepare_weights
from ._writer import write_archive

__all__ = ["save_module"]

_ARTIFACTS = "_nt_registered_artifacts"
_UNSAFE_NAME_CHARS = re.compile(r"[^A-Za-z0-9._-]")
_ABSENT = object()


def _config_of(module: torch.nn.Module) -> DictConfig:
    to_config: Any = getattr(module, "to_config_dict", None)
    if to_config is None:
        raise ArchiveError(f"{type(module).__qualname__} has no to_config_dict(); it cannot be archived")
    config = to_config()
    if not isinstance(config, DictConfig) or not isinstance(config.get("_target_"), str):
        raise ArchiveError(
            f"{type(module).__qualname__}.to_config_dict() must return a DictConfig whose '_target_' is the "
            "class's import path",
            member=CONFIG_MEMBER,
        )
    return config


class _ArtifactCollector:
    """Gathers registered artifact files under unique plain names, reading each once."""

    def __init__(self) -> None:
        self.contents: dict[str, bytes] = {}
        self._by_source: dict[str, str] = {}

    def add(self, config_path: str, source: str) -> str:
        if source in self._by_source:
            return self._by_source[source]
        try:
            data = Path(source).read_bytes()
        except OSError as error:
            raise ArchiveError(f"cannot read artifact file {source!r}: {error.strerror}", member=config_path) from None
        base = _UNSAFE_NAME_CHARS.sub("_", Path(source).name).lstrip(".-")[-120:] or "artifact"
        base = base.replace("..", "_")
        name, counter = base, 1
        while name in self.contents and self.contents[name] != data:
            counter += 1
            name = f"{counter}_{base}"
        self.contents[name] = data
        self._by_source[source] = name
        return name


def _with_artifact_refs(module: torch.nn.Module, config: DictConfig, collector: _ArtifactCollector) -> DictConfig:
    """The config with every registered artifact's value replaced by a reference to its archived copy."""
    container: Any = OmegaConf.to_container(config, resolve=False)
    for module_path, submodule in module.named_modules():
        registered: dict[str, tuple[str, str]] = submodule.__dict__.get(_ARTIFACTS, {})
        for config_path, (given, absolute) in registered.items():
            reference = ARTIFACT_REF + collector.add(config_path, absolute)
            if module_path == "":
                holder = OmegaConf.create(container)
                if OmegaConf.select(holder, config_path, default=_ABSENT, throw_on_missing=False) is _ABSENT:
                    raise ArchiveError(
                        f"artifact {absolute!r} is registered under config key {config_path!r}, which the model's "
                        "config does not have, so a restored model could not find it",
                        member=config_path,
                    )
                OmegaConf.update(holder, config_path, reference, merge=False)
                container = OmegaConf.to_container(holder, resolve=False)
                continue
            # A submodule's config sits somewhere inside ours: replace its file's path wherever it appears.
            found: list[str] = []

            def change(
                key: str,
                value: str,
                values: tuple[str, str] = (given, absolute),
                ref: str = reference,
                found: list[str] = found,
            ) -> str | None:
                if value in values:
                    found.append(key)
                    return ref
                return None

            container = map_strings(container, change)
            if not found:
                raise ArchiveError(
                    f"submodule {module_path!r} registered artifact {absolute!r}, but that path is nowhere in "
                    "the model's config, so a restored model could not find it",
                    member=config_path,
                )
    result = OmegaConf.create(container)
    assert isinstance(result, DictConfig)
    return result


def _stored_target(text: str) -> str:
    """The ``_target_`` of the stored config text (the manifest repeats it; readers check that the two agree)."""
    target = config_target(text)
    if not isinstance(target, str):
        raise ArchiveError("the config's _target_ must be the model class's import path", member=CONFIG_MEMBER)
    reason = check_target_name(target)
    if reason is not None:
        raise ArchiveError(f"the config's _target_ {reason}", member=CONFIG_MEMBER)
    return target


def save_module(module: torch.nn.Module, path: str | os.PathLike[str], progress: bool | None) -> None:
    """Implementation of ``Archivable.save_to``; see there."""
    if is_writer():
        try:
            _write(module, path, progress)
        finally:
            wait_for_writer()
    else:
        wait_for_writer()


def _write(module: torch.nn.Module, path: str | os.PathLike[str], progress: bool | None) -> None:
    shown = os.fspath(path)
    try:
        collector = _ArtifactCollector()
        config = _with_artifact_refs(module, _config_of(module), collector)
        text = dump_config(config)
        target = _stored_target(text)  # parses the text as readers will: never write what cannot be read
        weights, aliases = prepare_weights(module.state_dict())
    except ArchiveError as error:
        raise ArchiveError(error.reason, path=shown, member=error.member) from None
    write_archive(
        path,
        weights=weights,
        config_text=text,
        target=target,
        artifacts=collector.contents,
        aliases=aliases,
        signature=signature_of(module),
        created_by=f"neuraltypes {__version__}, torch {torch.__version__}",
        progress=progress,
    )
