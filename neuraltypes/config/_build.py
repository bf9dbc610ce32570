"""Building from a config: resolve it once, check every target, then build from that resolved tree.

The objects are built here, with Hydra's semantics (``_target_``, ``_args_``, ``_recursive_``, ``_convert_``,
``_partial_``, its error type), from the very tree whose targets were checked. Handing the config to
``hydra.utils.instantiate`` instead would resolve it again (in place, then once more on every access), and a
string that is data after our resolution would be evaluated by that second pass.

Nested configs passed to a constructor as ``DictConfig``/``ListConfig`` (Hydra's default, ``_convert_: none``)
are quoted: reading them gives back the resolved data, never a new interpolation.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final, cast

from hydra.errors import InstantiationException
from omegaconf import ListConfig, OmegaConf
from omegaconf.errors import MissingMandatoryValue

from ._limits import DEFAULT_LIMITS, ConfigLimits
from ._resolution import quote, resolve_config, standalone
from ._resolve import check_target

__all__ = ["TARGET_KEY", "build", "build_resolved", "check_targets", "prepare_config"]

TARGET_KEY: Final = "_target_"
_ARGS: Final = "_args_"
_RECURSIVE: Final = "_recursive_"
_CONVERT: Final = "_convert_"
_PARTIAL: Final = "_partial_"
_SPECIAL: Final = frozenset({TARGET_KEY, _RECURSIVE, _CONVERT, _PARTIAL})
_CONVERT_MODES: Final = frozenset({"none", "partial", "object", "all"})
_MISSING: Final = "???"


def check_targets(value: object, allow: tuple[object, ...], path: str = "") -> None:
    """Check every ``_target_`` of a resolved tree, wherever it is (also under ``_recursive_: false``).

    Raises:
        UnsafeTargetError: the first target the allowlist refuses, naming its key.
    """
    stack: list[tuple[object, str]] = [(value, path)]
    while stack:
        node, where = stack.pop()
        if isinstance(node, Mapping):
            if TARGET_KEY in node:
                check_target(node[TARGET_KEY], allow, where=where)
            stack.extend((item, f"{where}.{key}" if where else str(key)) for key, item in node.items())
        elif isinstance(node, list):
            stack.extend((item, f"{where}[{index}]") for index, item in enumerate(node))


def prepare_config(
    config: object,
    kwargs: Mapping[str, Any],
    *,
    allow: Iterable[object],
    allow_resolvers: bool,
    limits: ConfigLimits = DEFAULT_LIMITS,
) -> tuple[Any, Any]:
    """The raw standalone config (to store) and its value, resolved once, every target in it checked.

    Raises:
        UnsafeConfigError: a resolver call, when resolvers are not allowed; ConfigLimitError: too deep or large.
        UnsafeTargetError: a ``_target_`` anywhere in the tree that the allowlist refuses.
    """
    raw = standalone(config, limits)
    if kwargs:
        merged = OmegaConf.merge(OmegaConf.create(raw, flags={"allow_objects": True}), dict(kwargs))
        raw = OmegaConf.to_container(merged, resolve=False)
    resolved = resolve_config(raw, allow_resolvers=allow_resolvers, limits=limits)
    check_targets(resolved, tuple(allow))
    return raw, resolved


def build(
    config: object,
    args: tuple[Any, ...] = (),
    kwargs: Mapping[str, Any] | None = None,
    *,
    allow: Iterable[object] = (),
    allow_resolvers: bool = False,
    limits: ConfigLimits = DEFAULT_LIMITS,
) -> tuple[Any, Any, object]:
    """Resolve ``config`` once, check it, and build what it describes.

    Returns:
        The result, the raw (unresolved, standalone) config, and the checked top-level target (or None).

    See :func:`neuraltypes.config.instantiate` for the rules.
    """
    allowed = tuple(allow)
    raw, resolved = prepare_config(config, kwargs or {}, allow=allowed, allow_resolvers=allow_resolvers, limits=limits)
    built = build_resolved(resolved, args, allow=allowed, checked=True)
    target = (
        check_target(resolved[TARGET_KEY], allowed) if isinstance(resolved, dict) and TARGET_KEY in resolved else None
    )
    return built, raw, target


def build_resolved(
    tree: Any, args: tuple[Any, ...] = (), *, allow: Iterable[object] = (), checked: bool = False
) -> Any:
    """Build the objects a resolved tree describes, as ``hydra.utils.instantiate`` would; nothing is resolved.

    Args:
        tree: plain dicts and lists from :func:`~neuraltypes.config.resolve_config`; their strings are data.
        args: positional arguments for the top-level target.
        allow: further objects allowed as targets.
        checked: every target in ``tree`` was checked already.
    """
    allowed = tuple(allow)
    if not checked:
        check_targets(tree, allowed)
    if not isinstance(tree, dict):
        return _Builder(allowed).node(tree, "", recursive=True, convert="none", partial=False)
    top = dict(tree)
    recursive = top.pop(_RECURSIVE, True)
    convert = top.pop(_CONVERT, "none")
    partial = top.pop(_PARTIAL, False)
    return _Builder(allowed).node(top, "", recursive=recursive, convert=convert, partial=partial, args=args)


def _convert_mode(value: object, where: str) -> str:
    mode = str(getattr(value, "value", value)).lower()
    if mode not in _CONVERT_MODES:
        raise InstantiationException(
            f"_convert_ at {where or '<root>'!r} is {value!r}; expected one of {sorted(_CONVERT_MODES)}"
        )
    return mode


def _flag(value: object, name: str, where: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} flag must be a bool, got {type(value)} at {where or '<root>'!r}")
    return value


class _Builder:
    """Hydra's ``instantiate_node`` over a resolved tree of plain containers."""

    def __init__(self, allow: tuple[object, ...]) -> None:
        self.allow = allow

    def node(
        self, value: Any, where: str, *, recursive: Any, convert: Any, partial: Any, args: tuple[Any, ...] = ()
    ) -> Any:
        if isinstance(value, dict):
            convert = value.get(_CONVERT, convert)
            recursive = value.get(_RECURSIVE, recursive)
            partial = value.get(_PARTIAL, partial)
        recursive = _flag(recursive, _RECURSIVE, where)
        partial = _flag(partial, _PARTIAL, where)
        mode = _convert_mode(convert, where)
        if isinstance(value, list):
            listed = [self.node(item, f"{where}[{i}]", recursive=recursive, convert=mode, partial=False)
                      for i, item in enumerate(value)]  # fmt: skip
            return listed if mode != "none" else _as_config(listed)
        if not isinstance(value, dict):
            return value
        if TARGET_KEY in value:
            return self._call(value, where, args, recursive=recursive, mode=mode, partial=partial)
        items = {key: self.node(item, _key(where, key), recursive=recursive, convert=mode, partial=False)
                 for key, item in value.items()}  # fmt: skip
        return items if mode != "none" else _as_config(items)

    def _call(
        self, value: dict[str, Any], where: str, args: tuple[Any, ...], *, recursive: bool, mode: str, partial: bool
    ) -> Any:
        target = cast(Callable[..., Any], check_target(value[TARGET_KEY], self.allow, where=where))
        kwargs: dict[str, Any] = {}
        for key, item in value.items():
            if key in _SPECIAL:
                continue
            if item == _MISSING:
                if partial:
                    continue
                raise MissingMandatoryValue(f"Missing mandatory value: {_key(where, key)}")
            if recursive:
                item = self.node(item, _key(where, key), recursive=recursive, convert=mode, partial=False)
            kwargs[key] = _converted(item, mode)
        positional = _positional(args, kwargs.pop(_ARGS, ()), where)
        if partial:
            return functools.partial(target, *positional, **kwargs)
        try:
            return target(*positional, **kwargs)
        except Exception as error:
            message = f"Error in call to target '{_path_of(target)}':\n{error!r}"
            raise InstantiationException(message + (f"\nfull_key: {where}" if where else "")) from error


def _key(where: str, key: object) -> str:
    return f"{where}.{key}" if where else str(key)


def _path_of(target: object) -> str:
    return f"{getattr(target, '__module__', '?')}.{getattr(target, '__qualname__', repr(target))}"


def _positional(given: tuple[Any, ...], configured: Any, where: str) -> tuple[Any, ...]:
    """The target's positional arguments: those given to the call, else ``_args_`` (read item by item, as data)."""
    if not isinstance(configured, list | tuple | ListConfig):
        raise InstantiationException(f"Unsupported _args_ type: {type(configured).__name__} at {where or '<root>'!r}")
    return given if given else tuple(configured)


def _as_config(items: Any) -> Any:
    """A DictConfig/ListConfig of built items whose strings read back as exactly the resolved data."""
    return OmegaConf.create(quote(items), flags={"allow_objects": True})


def _converted(value: Any, mode: str) -> Any:
    """A value as ``_convert_`` asks: a plain container stays plain unless the mode is ``none``."""
    return _as_config(value) if mode == "none" and isinstance(value, dict | list) else value
