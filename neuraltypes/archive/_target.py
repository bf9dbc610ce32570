"""The manifest's ``target`` and the config's ``_target_`` must name the same class.

``inspect`` shows the manifest's target and restore builds the config's: were they allowed to differ, an archive
edited after it was written (its checksums recomputed) could show one class and restore another.
"""

from __future__ import annotations

from omegaconf import OmegaConf

from ._config_text import parse_config
from ._errors import ArchiveError
from ._format import CONFIG_MEMBER
from ._manifest import Manifest

__all__ = ["check_target", "config_target"]


def config_target(text: str) -> object:
    """The ``_target_`` of config YAML ``text`` as written (an interpolation stays its text), or None.

    Raises:
        ArchiveError: the config cannot be parsed safely (see ``parse_config``).
    """
    config = parse_config(text, what=CONFIG_MEMBER, neutralize_resolvers=False)
    if OmegaConf.is_interpolation(config, "_target_") or OmegaConf.is_missing(config, "_target_"):
        return OmegaConf.to_container(config, resolve=False).get("_target_")  # type: ignore[union-attr]
    return config.get("_target_")


def check_target(manifest: Manifest, config_text: str, path: str) -> None:
    """Refuse an archive whose manifest names another class than its config's ``_target_``.

    Raises:
        ArchiveError: naming both, or why the config cannot be read.
    """
    try:
        target = config_target(config_text)
    except ArchiveError as error:
        raise ArchiveError(error.reason, path=path, member=error.member) from None
    if target != manifest.target:
        raise ArchiveError(
            f"the manifest's target {manifest.target!r} is not the config's _target_ {target!r}: the archive was "
            "changed after it was written",
            path=path,
            member="manifest",
        )
