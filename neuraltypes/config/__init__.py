"""Configs: ``Serialization`` (build from / save to OmegaConf configs), safe instantiation, CLI overrides.

Instantiation follows Hydra (``_target_``, ``_recursive_``, ``_convert_``, ``_partial_``), but every target is
resolved and checked against an allowlist before anything runs, and resolver calls are not evaluated unless
the caller trusts the config.
"""

from ._allowlist import instantiable as instantiable
from ._errors import ConfigOverrideError as ConfigOverrideError
from ._errors import UnsafeConfigError as UnsafeConfigError
from ._errors import UnsafeTargetError as UnsafeTargetError
from ._instantiate import instantiate as instantiate
from ._interpolation import PURE_RESOLVERS as PURE_RESOLVERS
from ._interpolation import refuse_resolvers as refuse_resolvers
from ._overrides import apply_overrides as apply_overrides
from ._overrides import config_from_cli as config_from_cli
from ._resolve import resolve_target as resolve_target
from ._serialization import Serialization as Serialization
from ._serialization import class_path as class_path

__all__ = [
    "PURE_RESOLVERS",
    "refuse_resolvers",
    "ConfigOverrideError",
    "Serialization",
    "UnsafeConfigError",
    "UnsafeTargetError",
    "apply_overrides",
    "class_path",
    "config_from_cli",
    "instantiable",
    "instantiate",
    "resolve_target",
]
