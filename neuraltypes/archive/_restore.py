"""Rebuilding a model from an archive: checked class, skeleton on the meta device, verified weights assigned.

The steps, none of which touches the working directory or any global state:
resolve the config's ``_target_`` through the allowlist and check it is a subclass of the class
``restore_from`` was called on; put the artifacts where the model can open them; build the model on the meta
device (no memory, no initialisation) unless it has state the archive cannot fill; check every weight's
name, shape and dtype; read the weights verified and hand them to the model with ``assign=True`` (no copy).
Only the artifacts the config refers to are written to disk, at most ``ArchiveLimits.max_extract_bytes`` in all,
checked before the first is written.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf

from neuraltypes.config import UnsafeConfigError, resolve_target

from ._artifacts import ArtifactDirectory
from ._config_text import map_strings, parse_config
from ._errors import ArchiveError
from ._limits import DEFAULT_LIMITS, ArchiveLimits
from ._native import open_native
from ._nemo import looks_like_tar, open_nemo
from ._source import ArchiveSource
from ._weights import check_weights_fit, retie, shared_groups

__all__ = ["open_source", "read_override_config", "restore_model"]


def open_source(
    path: str | os.PathLike[str],
    progress: bool | None = None,
    mmap: bool = False,
    limits: ArchiveLimits = DEFAULT_LIMITS,
) -> ArchiveSource:
    """Open a neuraltypes archive, or a NeMo 1.x ``.nemo`` file (a tar), for restoring."""
    return open_nemo(path, limits) if looks_like_tar(path) else open_native(path, progress, mmap, limits)


def read_override_config(override: str | os.PathLike[str] | DictConfig) -> DictConfig:
    """The caller's replacement config: a DictConfig, or a YAML file parsed safely (anchors refused)."""
    if isinstance(override, DictConfig):
        return override
    with open(override, encoding="utf-8") as file:
        return parse_config(file.read(), what=os.fspath(override), neutralize_resolvers=False)


def restore_model(
    cls: type[torch.nn.Module],
    path: str | os.PathLike[str],
    *,
    map_location: str | torch.device | None = "cpu",
    strict: bool = True,
    override_config_path: str | os.PathLike[str] | DictConfig | None = None,
    return_config: bool = False,
    progress: bool | None = None,
    mmap: bool = True,
    limits: ArchiveLimits = DEFAULT_LIMITS,
) -> torch.nn.Module | DictConfig:
    """Implementation of ``Archivable.restore_from``; see there."""
    source = open_source(path, progress, mmap, limits)
    try:
        config = source.config if override_config_path is None else read_override_config(override_config_path)
        if return_config:
            return config
        artifacts = ArtifactDirectory()
        try:
            config, placed = _place_artifacts(source, config, artifacts, limits)
            model = _build_and_load(cls, source, config, strict)
        except BaseException:
            artifacts.discard()
            raise
        model.__dict__["_nt_artifact_directory"] = artifacts
        _register_placed(model, placed)
    finally:
        source.close()
    device = torch.device("cpu" if map_location is None else map_location)
    return model if device.type == "cpu" else model.to(device)


def _place_artifacts(
    source: ArchiveSource, config: DictConfig, directory: ArtifactDirectory, limits: ArchiveLimits
) -> tuple[DictConfig, dict[str, str]]:
    """Write the artifacts the config refers to into ``directory`` and point the config at them.

    Returns:
        The changed config, and each changed key with its artifact's path (to register it on the model).
    """
    container = OmegaConf.to_container(config, resolve=False)
    referred = _referred_artifacts(source, container)
    _check_extract_total(source, referred, limits)
    written = {name: str(directory.add(name, source.artifacts[name].copy_to)) for name in referred}
    placed: dict[str, str] = {}

    def change(key: str, value: str) -> str | None:
        if not value.startswith(source.artifact_prefix):
            return None
        placed[key] = written[value.removeprefix(source.artifact_prefix)]
        return placed[key]

    changed = OmegaConf.create(map_strings(container, change))
    assert isinstance(changed, DictConfig)
    return changed, placed


def _referred_artifacts(source: ArchiveSource, container: object) -> list[str]:
    """The artifacts the config refers to, each once, in order; refusing a name the archive does not hold."""
    referred: dict[str, None] = {}

    def note(key: str, value: str) -> None:
        if value.startswith(source.artifact_prefix):
            name = value.removeprefix(source.artifact_prefix)
            if name not in source.artifacts:
                raise ArchiveError(
                    f"{key!r} refers to artifact {name!r}, which the archive does not hold",
                    path=source.path,
                    member=source.config_member,
                )
            referred[name] = None

    map_strings(container, note)
    return list(referred)


def _check_extract_total(source: ArchiveSource, names: list[str], limits: ArchiveLimits) -> None:
    """Refuse, before anything is written, artifacts that together exceed ``limits.max_extract_bytes``."""
    total = 0
    for name in names:
        artifact = source.artifacts[name]
        total += artifact.size
        if total > limits.max_extract_bytes:
            problem = (
                f"the config refers to {artifact.size} bytes of it; with the artifacts before it, restoring "
                f"would write {total} bytes to disk, more than {limits.max_extract_bytes}"
            )
            reason = limits.refusal(problem, "max_extract_bytes")
            raise ArchiveError(reason, path=source.path, member=artifact.member)


def _register_placed(model: torch.nn.Module, placed: dict[str, str]) -> None:
    # Artifacts the constructor did not register itself are registered for it, so that saving the restored
    # model keeps them (a NeMo-era constructor may only read cfg.tokenizer.model without registering it).
    register = getattr(model, "register_artifact", None)
    registered = getattr(model, "registered_artifacts", {})
    if register is None:
        return
    for key, file in placed.items():
        if key not in registered and "[" not in key:
            register(key, file)


def _resolve_class(cls: type[torch.nn.Module], config: DictConfig, source: ArchiveSource) -> type[torch.nn.Module]:
    target = config.get("_target_")
    if target is None:
        return cls  # a NeMo 1.x config names NeMo's class under "target": build the class asked for
    if not isinstance(target, str):
        raise ArchiveError("'_target_' must be a string", path=source.path, member=source.config_member)
    try:
        resolved = resolve_target(target, allow=(cls,))
    except (UnsafeConfigError, ValueError, ImportError) as error:
        raise ArchiveError(
            f"refusing the config's _target_: {error}", path=source.path, member=source.config_member
        ) from None
    if not (isinstance(resolved, type) and issubclass(resolved, cls)):
        raise ArchiveError(
            f"the archive holds a {target}, which is not a {cls.__module__}.{cls.__qualname__}",
            path=source.path,
            member=source.config_member,
        )
    return resolved


def _construct(
    target: type[torch.nn.Module], config: DictConfig, on_meta: bool, source: ArchiveSource
) -> torch.nn.Module:
    build: Any = getattr(target, "from_config_dict", None)
    if build is None:
        raise ArchiveError(f"{target.__qualname__} has no from_config_dict(); it cannot be restored", path=source.path)
    try:
        with torch.device("meta") if on_meta else contextlib.nullcontext():
            model = build(config)
    except ArchiveError:
        raise
    except Exception as error:
        if on_meta:
            raise
        raise ArchiveError(
            f"building {target.__qualname__} from the archived config failed: {type(error).__name__}: {error}",
            path=source.path,
            member=source.config_member,
        ) from error
    if not isinstance(model, target):
        raise ArchiveError(
            f"{target.__qualname__}.from_config_dict() returned a {type(model).__name__}", path=source.path
        )
    return model


def _skeleton(
    target: type[torch.nn.Module], config: DictConfig, source: ArchiveSource, strict: bool
) -> torch.nn.Module:
    """The model on the meta device when every tensor of it will come from the archive, else on the CPU."""
    try:
        model = _construct(target, config, True, source)
    except ArchiveError:
        raise
    except Exception:  # a constructor that computes with tensor values cannot run on meta
        return _construct(target, config, False, source)
    stored = set(model.state_dict())
    tensors = {name for name, _ in model.named_parameters(remove_duplicate=False)}
    tensors |= {name for name, _ in model.named_buffers(remove_duplicate=False)}
    unfilled = tensors - stored if strict else tensors - (stored & set(source.weight_specs()))
    return _construct(target, config, False, source) if unfilled else model


def _build_and_load(
    cls: type[torch.nn.Module], source: ArchiveSource, config: DictConfig, strict: bool
) -> torch.nn.Module:
    target = _resolve_class(cls, config, source)
    model = _skeleton(target, config, source, strict)
    expected = model.state_dict()
    check_weights_fit(source.weight_specs(), expected, strict, source.path)
    groups = shared_groups(model)
    state = dict(_wanted(source.read_weights(), expected, strict))
    try:
        model.load_state_dict(state, strict=strict, assign=True)
    except RuntimeError as error:
        raise ArchiveError(f"the weights do not fit the model: {error}", path=source.path) from None
    retie(model, groups)
    left = [name for name, tensor in [*model.named_parameters(), *model.named_buffers()] if tensor.is_meta]
    if left:
        raise ArchiveError(f"no values for {', '.join(left)} after loading", path=source.path)
    return model


def _wanted(
    weights: Iterator[tuple[str, torch.Tensor]], expected: dict[str, Any], strict: bool
) -> Iterator[tuple[str, torch.Tensor]]:
    for name, tensor in weights:
        if strict or name in expected:
            yield name, tensor
