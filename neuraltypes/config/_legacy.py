"""NeMo's older config forms, read by ``from_config_dict``: Hydra 0.x's ``cls``/``params`` and NeMo's ``target``.

``{cls: path, params: {...}}`` is Hydra 0.x for ``{_target_: path, ...}``; NeMo converts it at every level
(``maybe_update_config_version``), and so do we, on plain data, before anything is resolved or checked.
``{target: path, ...}`` without ``params`` is NeMo's model form: the class named is built with the whole config
as ``cfg`` (see ``Serialization.from_config_dict``); it is left as it is here.
"""

from __future__ import annotations

from typing import Any, Final

__all__ = ["LEGACY_TARGET_KEY", "upgrade_legacy_keys"]

LEGACY_TARGET_KEY: Final = "target"
_CLASS_KEY: Final = "cls"
_PARAMS_KEY: Final = "params"
_TARGET_KEY: Final = "_target_"


def upgrade_legacy_keys(node: Any) -> Any:
    """``node`` with Hydra 0.x's ``cls``/``params`` rewritten as ``_target_`` and flat arguments, at every level.

    A top-level ``target`` that comes with ``params`` is Hydra 0.x's other spelling of ``cls`` and becomes
    ``_target_`` too. The input is not changed.

    Raises:
        ValueError: ``params`` is not a mapping, or one of its keys is also given beside it.
    """
    if isinstance(node, list):
        return [upgrade_legacy_keys(item) for item in node]
    if not isinstance(node, dict):
        return node
    upgraded = {key: upgrade_legacy_keys(value) for key, value in node.items()}
    if _TARGET_KEY in upgraded:
        return upgraded  # Hydra 1.x already: a 'params' beside `_target_` is an argument (torch's optimizers)
    if isinstance(upgraded.get(_CLASS_KEY), str):
        upgraded[_TARGET_KEY] = upgraded.pop(_CLASS_KEY)
    elif _PARAMS_KEY in upgraded and isinstance(upgraded.get(LEGACY_TARGET_KEY), str):
        upgraded[_TARGET_KEY] = upgraded.pop(LEGACY_TARGET_KEY)
    else:
        return upgraded
    params = upgraded.pop(_PARAMS_KEY, None) or {}
    if not isinstance(params, dict):
        raise ValueError(f"a config's 'params' must be a mapping of arguments, got {type(params).__name__}")
    repeated = sorted(set(params) & set(upgraded))
    if repeated:
        raise ValueError(f"a config gives {', '.join(map(repr, repeated))} both inside 'params' and beside it")
    upgraded.update(params)
    return upgraded
