"""The ``Archivable`` mixin: ``save_to``, ``restore_from``, ``extract_state_dict_from``, ``register_artifact``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, Self, overload

import torch
from omegaconf import DictConfig, OmegaConf

from ._errors import ArchiveError
from ._limits import DEFAULT_LIMITS, ArchiveLimits
from ._restore import open_source, restore_model
from ._save import save_module
from ._state_dict import extract_state_dict

__all__ = ["Archivable"]

_ARTIFACTS = "_nt_registered_artifacts"

#: Errors in what the caller gave (a bad or missing archive): reported from the caller's line.
_CALLERS_INPUT = (ArchiveError, FileNotFoundError)


def _from_the_call(error: BaseException) -> BaseException:
    """``error`` without the frames of the archive reader, so that its traceback ends at the public call.

    The message says what is wrong with which member; the reader's frames would only bury that line. A cause
    that the raiser chained on purpose (a model constructor that failed) is kept, with its own traceback.
    """
    return error.with_traceback(None)


class Archivable:
    """Save a module (with its config, weights and artifacts) to one archive file and rebuild it from one.

    Mixed into ``NeuralModule``, so any module or model (an encoder alone, a whole model, a model holding
    other models) can be archived. ``self`` must be a ``torch.nn.Module`` with ``to_config_dict()`` whose
    result carries ``_target_``, and its class must have ``from_config_dict(cfg)``.
    """

    def register_artifact(self, config_path: str, src: str | os.PathLike[str], verify_src_exists: bool = True) -> str:
        """Declare that the config value at ``config_path`` is a file to carry inside the archive.

        The file is copied into the archive when the model is saved. A restored model's artifacts are
        files in a private folder that lives as long as the model, so the path returned here stays valid
        after the constructor (a tokenizer may reopen it any time).

        Args:
            config_path: dotted key in this module's config (``"tokenizer.model_path"``).
            src: the file.
            verify_src_exists: raise now if the file does not exist.

        Returns:
            The file's absolute path, to open.

        Raises:
            FileNotFoundError: ``verify_src_exists`` and the file is missing.
            ArchiveError: ``src`` is a folder (artifacts are single files).
        """
        path = Path(src).expanduser().absolute()
        if verify_src_exists and not path.exists():
            raise FileNotFoundError(f"artifact {config_path!r}: {str(path)!r} does not exist")
        if path.is_dir():
            raise ArchiveError(f"{str(path)!r} is a folder; artifacts are single files", member=config_path)
        registered: dict[str, tuple[str, str]] = self.__dict__.setdefault(_ARTIFACTS, {})
        registered[config_path] = (os.fspath(src), str(path))
        return str(path)

    @property
    def registered_artifacts(self) -> Mapping[str, str]:
        """Registered artifacts of this module (not its submodules): config path -> absolute file path."""
        registered: dict[str, tuple[str, str]] = self.__dict__.get(_ARTIFACTS, {})
        return {key: absolute for key, (_, absolute) in registered.items()}

    def save_to(self, save_path: str | os.PathLike[str], *, progress: bool | None = None) -> None:
        """Write this module to ``save_path`` as one archive, atomically.

        The previous file at ``save_path`` stays intact until the new one is complete (a crash or a
        concurrent save never leaves a broken file). In a distributed job only rank 0 writes; all ranks
        return after it has finished.

        Args:
            progress: show a progress bar (``None``: for weights of 256 MiB or more).

        Raises:
            ArchiveError: the module cannot be archived (a non-tensor state, a missing artifact ...).
        """
        if not isinstance(self, torch.nn.Module):
            raise TypeError(f"{type(self).__qualname__} is not a torch.nn.Module; only modules can be archived")
        save_module(self, save_path, progress)

    @overload
    @classmethod
    def restore_from(
        cls,
        restore_path: str | os.PathLike[str],
        map_location: str | torch.device | None = ...,
        strict: bool = ...,
        override_config_path: str | os.PathLike[str] | DictConfig | None = ...,
        return_config: Literal[False] = ...,
        *,
        progress: bool | None = ...,
        mmap: bool = ...,
        limits: ArchiveLimits = ...,
    ) -> Self: ...

    @overload
    @classmethod
    def restore_from(
        cls,
        restore_path: str | os.PathLike[str],
        map_location: str | torch.device | None = ...,
        strict: bool = ...,
        override_config_path: str | os.PathLike[str] | DictConfig | None = ...,
        *,
        return_config: Literal[True],
        progress: bool | None = ...,
        mmap: bool = ...,
        limits: ArchiveLimits = ...,
    ) -> DictConfig: ...

    @classmethod
    def restore_from(
        cls,
        restore_path: str | os.PathLike[str],
        map_location: str | torch.device | None = "cpu",
        strict: bool = True,
        override_config_path: str | os.PathLike[str] | DictConfig | None = None,
        return_config: bool = False,
        *,
        progress: bool | None = None,
        mmap: bool = True,
        limits: ArchiveLimits = DEFAULT_LIMITS,
    ) -> Self | DictConfig:
        """Rebuild a module from an archive (or a NeMo 1.x ``.nemo`` file).

        The class is the config's ``_target_``, which must be ``cls`` or a subclass (so
        ``BaseModel.restore_from`` returns the archived subclass). Every member is verified against its
        sha256; weights are checked for names, shapes and dtypes before loading and go straight into the
        model (one copy in memory, nothing extracted to disk).

        Args:
            restore_path: the archive.
            map_location: device of the restored weights (default: CPU, wherever the model was saved).
            strict: the archive's weights and the model's must match name for name.
            override_config_path: a YAML file (or DictConfig) used instead of the archived config.
            return_config: return the archived config instead of building the model.
            progress: show a progress bar (``None``: for weights of 256 MiB or more).
            mmap: the weights are views of a private (copy-on-write) memory map of the archive, hashed in
                place: no copy, and the page cache is the only copy in memory. A later in-place write to the
                file (``cp`` over it; ``save_to`` replaces files instead) would change the weights or, if it
                truncates the file, crash the process: pass ``mmap=False`` to read the weights into private
                memory instead. Checksums are verified either way.
            limits: the largest manifest, the most members, and the most artifact bytes written to disk (and
                how far a compressed ``.nemo`` may expand) that are accepted; raise them for an archive you trust.

        Raises:
            ArchiveError: the archive is malformed, corrupt, over ``limits``, refers to a class that is not
                allowed or not a ``cls``, or its weights do not fit the model; the message names the member and
                the reason (and the limit, with how to raise it).
        """
        try:
            restored: Any = restore_model(
                cls,  # type: ignore[arg-type]  # Archivable is mixed into torch.nn.Module subclasses
                restore_path,
                map_location=map_location,
                strict=strict,
                override_config_path=override_config_path,
                return_config=return_config,
                progress=progress,
                mmap=mmap,
                limits=limits,
            )
        except _CALLERS_INPUT as error:
            raise _from_the_call(error)  # noqa: B904 (the same exception)
        return restored  # type: ignore[no-any-return]

    @classmethod
    def extract_state_dict_from(
        cls,
        restore_path: str | os.PathLike[str],
        save_dir: str | os.PathLike[str],
        split_by_module: bool = False,
        *,
        limits: ArchiveLimits = DEFAULT_LIMITS,
    ) -> dict[str, torch.Tensor]:
        """Verify an archive's weights and write them to ``save_dir`` as safetensors, without building a model.

        Writes ``model_weights.safetensors``, or with ``split_by_module`` one ``<name>.safetensors`` per
        top-level submodule (keys without the prefix), each atomically.

        Returns:
            The state dict (tied names included).
        """
        try:
            return extract_state_dict(restore_path, save_dir, split_by_module, limits)
        except _CALLERS_INPUT as error:
            raise _from_the_call(error)  # noqa: B904 (the same exception)


def archived_config(path: str | os.PathLike[str], limits: ArchiveLimits = DEFAULT_LIMITS) -> DictConfig:
    """The config stored in an archive (unresolved, resolver calls replaced by ``???``), verified."""
    try:
        source = open_source(path, limits=limits)
    except _CALLERS_INPUT as error:
        raise _from_the_call(error)  # noqa: B904 (the same exception)
    try:
        return OmegaConf.create(OmegaConf.to_container(source.config, resolve=False))  # type: ignore[return-value]
    finally:
        source.close()
