"""Config YAML in and out of an archive: stored unresolved, read without aliases, environment or resolvers.

Saving keeps interpolations as text (``${oc.env:TOKEN}`` stays that string), so a secret is never stored
resolved. Reading refuses YAML anchors and aliases (an alias bomb of a few hundred bytes expands to
gigabytes), caps the size, and replaces every resolver interpolation (``${oc.env:...}``, ``${any_name:...}``)
with OmegaConf's missing value ``???`` (except those that only read the config, ``oc.select`` ...): an
archive cannot make the loader read the environment or call code,
and a model that really needs such a value says which key is missing (pass ``override_config_path``).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import yaml
from omegaconf import DictConfig, OmegaConf

from neuraltypes.config import DEFAULT_LIMITS, PURE_RESOLVERS, ConfigLimitError, ConfigLimits, resolver_calls

from ._errors import ArchiveError
from ._format import MAX_CONFIG_BYTES

__all__ = ["ARTIFACT_REF", "dump_config", "map_strings", "parse_config"]

#: Prefix of a config value that refers to an artifact stored in the archive (``nt-artifact:vocab.txt``).
ARTIFACT_REF = "nt-artifact:"

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def dump_config(cfg: DictConfig) -> str:
    """The config as YAML with interpolations unresolved, exactly as it will be stored."""
    return OmegaConf.to_yaml(cfg, resolve=False)


def parse_config(
    text: str, *, what: str, neutralize_resolvers: bool = True, limits: ConfigLimits = DEFAULT_LIMITS
) -> DictConfig:
    """Parse config YAML safely into a DictConfig.

    Args:
        text: the YAML.
        what: how to name the source in errors and warnings (a member or a file).
        neutralize_resolvers: replace resolver interpolations with ``???`` (for configs read from archives).
        limits: how deep and large the config may be.

    Raises:
        ArchiveError: too large or deep, anchors or aliases, not YAML, or not a mapping at the top.
    """
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_CONFIG_BYTES:
        raise ArchiveError(f"the config is {size} bytes, over the {MAX_CONFIG_BYTES}-byte cap", member=what)
    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
                raise ArchiveError("YAML anchors and aliases are not allowed in a config", member=what)
        data = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as error:
        raise ArchiveError(f"the config is not valid YAML: {error}", member=what) from None
    if not isinstance(data, dict):
        raise ArchiveError(f"the config must be a mapping, not {type(data).__name__}", member=what)
    try:
        limits.measure(data)  # before OmegaConf recurses into it
    except ConfigLimitError as error:
        raise ArchiveError(str(error), member=what) from None
    if neutralize_resolvers:
        data = _neutralize(data, what)
    try:
        cfg = OmegaConf.create(data)
    except Exception as error:  # OmegaConf raises several types for values it cannot hold
        raise ArchiveError(f"the config cannot be represented: {error}", member=what) from None
    assert isinstance(cfg, DictConfig)
    return cfg


def map_strings(node: Any, change: Callable[[str, str], str | None], path: str = "") -> Any:
    """A copy of a plain config container with each string leaf replaced where ``change(path, value)`` says.

    ``change`` returns the new value, or None to keep the old one; ``path`` is the dotted key of the leaf.
    """
    if isinstance(node, dict):
        return {key: map_strings(value, change, f"{path}.{key}" if path else str(key)) for key, value in node.items()}
    if isinstance(node, list):
        return [map_strings(value, change, f"{path}[{index}]") for index, value in enumerate(node)]
    if isinstance(node, str):
        new = change(path, node)
        return node if new is None else new
    return node


def _neutralize(data: dict[str, Any], what: str) -> dict[str, Any]:
    replaced: list[str] = []

    def change(path: str, value: str) -> str | None:
        # Resolvers that only read the config (oc.select ...) are harmless; any other, or a computed name, is not.
        # The text's parse tree says which calls it writes; restore resolves the config once more, refusing any
        # call this does not show (one assembled from pieces), so a missed one is refused, never evaluated.
        try:
            calls = resolver_calls(value, path)
        except ValueError:
            calls = ["<invalid interpolation>"]
        if all(name in PURE_RESOLVERS for name in calls):
            return None
        replaced.append(path)
        return "???"

    result: dict[str, Any] = map_strings(data, change)
    if replaced:
        warnings.warn(
            f"{what}: resolver interpolations in an archived config are not evaluated; these keys are now "
            f"missing ('???'): {', '.join(replaced)}. Pass override_config_path to supply them.",
            stacklevel=3,
        )
    return result
