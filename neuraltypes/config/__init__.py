"""Configs: ``Serialization`` (build from / save to OmegaConf configs), safe instantiation, CLI overrides.

Instantiation follows Hydra (``_target_``, ``_recursive_``, ``_convert_``, ``_partial_``), but a config is
resolved once, by us, into data; every target in that data is checked against an allowlist before anything
runs, and the objects are built from exactly that data. Resolver calls are not evaluated unless the caller
trusts the config, and a config imports nothing.
"""

from ._allowlist import instantiable as instantiable
from ._errors import ConfigLimitError as ConfigLimitError
from ._errors import ConfigOverrideError as ConfigOverrideError
from ._errors import UnsafeConfigError as UnsafeConfigError
from ._errors import UnsafeTargetError as UnsafeTargetError
from ._instantiate import instantiate as instantiate
from ._limits import DEFAULT_LIMITS as DEFAULT_LIMITS
from ._limits import ConfigLimits as ConfigLimits
from ._overrides import apply_overrides as apply_overrides
from ._overrides import config_from_cli as config_from_cli
from ._readers import ConfigReader as ConfigReader
from ._resolution import PURE_RESOLVERS as PURE_RESOLVERS
from ._resolution import quote as quote
from ._resolution import refuse_resolvers as refuse_resolvers
from ._resolution import resolve_config as resolve_config
from ._resolution import resolver_calls as resolver_calls
from ._resolve import NEMO_COUNTERPARTS as NEMO_COUNTERPARTS
from ._resolve import resolve_target as resolve_target
from ._serialization import Serialization as Serialization
from ._serialization import class_path as class_path

__all__ = [
    "DEFAULT_LIMITS",
    "NEMO_COUNTERPARTS",
    "PURE_RESOLVERS",
    "ConfigLimitError",
    "ConfigLimits",
    "ConfigOverrideError",
    "ConfigReader",
    "Serialization",
    "UnsafeConfigError",
    "UnsafeTargetError",
    "apply_overrides",
    "class_path",
    "config_from_cli",
    "instantiable",
    "instantiate",
    "quote",
    "refuse_resolvers",
    "resolve_config",
    "resolve_target",
    "resolver_calls",
]
