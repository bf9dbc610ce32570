"""The ``Serialization`` mixin: build an object from a config, and give back the config that rebuilds it."""

from __future__ import annotations

import copy
import dataclasses
import enum
import functools
import inspect
import pathlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar, Self

from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from ._build import TARGET_KEY, build_resolved, prepare_config
from ._interpolation import relocatable
from ._legacy import LEGACY_TARGET_KEY, upgrade_legacy_keys
from ._limits import DEFAULT_LIMITS, ConfigLimits
from ._resolution import quote, standalone
from ._resolve import check_target

__all__ = ["Serialization", "class_path"]

_STORED_CONFIG = "_neuraltypes_config"
_INIT_CALL = "_neuraltypes_init_call"
_RECORDS = "_neuraltypes_records_init_call"


def class_path(cls: type) -> str:
    """The import path stored as a config's ``_target_`` for instances of ``cls``."""
    return f"{cls.__module__}.{cls.__qualname__}"


@dataclasses.dataclass(frozen=True)
class _InitCall:
    """The config of an object's constructor call (plain data), or why it cannot be written as one."""

    arguments: dict[str, Any]
    problem: str | None = None


def _record_call(owner: str, signature: inspect.Signature, args: tuple[Any, ...], kwargs: dict[str, Any]) -> _InitCall:
    """The call (``signature`` without ``self``) as config data, converted now: no reference to the objects."""
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError:
        return _InitCall({}, f"cannot write {owner} as a config: its constructor call did not match its signature")
    given: dict[str, Any] = {}
    for name, value in bound.arguments.items():
        kind = signature.parameters[name].kind
        if kind is inspect.Parameter.VAR_KEYWORD:
            given.update(value)
        elif kind is inspect.Parameter.VAR_POSITIONAL and value:
            return _InitCall(
                {}, f"cannot write {owner} as a config: its constructor was given extra positional arguments (*{name})"
            )
        elif kind is inspect.Parameter.POSITIONAL_ONLY:
            return _InitCall({}, f"cannot write {owner} as a config: its constructor takes {name!r} positional-only")
        elif kind is not inspect.Parameter.VAR_POSITIONAL:
            given[name] = value
    try:
        return _InitCall({name: _config_value(value, f"{owner}.{name}") for name, value in given.items()})
    except ValueError as error:
        return _InitCall({}, str(error))
    except Exception as error:  # recording must never break construction; to_config_dict reports it
        return _InitCall({}, f"cannot write {owner} as a config: {type(error).__name__}: {error}")


def _record(instance: object, signature: inspect.Signature, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    # The outermost __init__ records; those reached through super().__init__ find the record made.
    if _INIT_CALL not in instance.__dict__:
        instance.__dict__[_INIT_CALL] = _record_call(type(instance).__qualname__, signature, args, kwargs)


def _recording(init: Callable[..., None]) -> Callable[..., None]:
    """Wrap a class's own ``__init__`` so that the outermost constructor call is recorded on the instance."""
    full = inspect.signature(init)
    signature = full.replace(parameters=list(full.parameters.values())[1:])

    @functools.wraps(init)
    def __init__(self: object, *args: Any, **kwargs: Any) -> None:
        _record(self, signature, args, kwargs)
        init(self, *args, **kwargs)

    setattr(__init__, _RECORDS, True)
    return __init__


def _recording_inherited(cls: type) -> Callable[..., None]:
    """An ``__init__`` for a class that defines none: record, then continue along the instance's MRO.

    Binding the inherited ``__init__`` when the class is made would cut cooperative inheritance: in
    ``class Model(NeuralModule, LightningModule)``, ``super().__init__()`` must still reach LightningModule.
    """

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        following = super(cls, self).__init__  # type: ignore[arg-type]  # mypy cannot see cls is a type here
        _record(self, inspect.signature(following), args, kwargs)
        following(*args, **kwargs)

    __init__.__qualname__ = f"{cls.__qualname__}.__init__"
    __init__.__module__ = cls.__module__
    setattr(__init__, _RECORDS, True)
    return __init__


def _partial_config(value: functools.partial[Any], where: str) -> dict[str, Any]:
    """A ``_partial_: true`` config for a partial (an optimizer factory, say) given as an argument."""
    if value.args:
        raise ValueError(f"cannot write argument {where!r} as a config: a partial with positional arguments")
    func = value.func
    entry: dict[str, Any] = {TARGET_KEY: f"{func.__module__}.{func.__qualname__}", "_partial_": True}
    entry.update({k: _config_value(v, f"{where}.{k}") for k, v in value.keywords.items()})
    return entry


def _config_value(value: object, where: str) -> Any:
    """A constructor argument as a config value: plain data, nested configs, or an error naming it."""
    if value is None or isinstance(value, bool | int | float | str | bytes | pathlib.Path | enum.Enum):
        return value
    if isinstance(value, Serialization):
        return relocatable(OmegaConf.to_container(value.to_config_dict(), resolve=False))
    if isinstance(value, DictConfig | ListConfig):
        return relocatable(OmegaConf.to_container(value, resolve=False))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return OmegaConf.to_container(OmegaConf.structured(value), resolve=False)
    if isinstance(value, Mapping) and all(isinstance(k, str) for k in value):
        return {k: _config_value(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_config_value(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, functools.partial):
        return _partial_config(value, where)
    raise ValueError(
        f"cannot write argument {where!r} as a config: a {type(value).__name__} is not config data "
        "(use numbers, strings, lists, mappings, dataclasses or Serialization objects)"
    )


def _constructor_parameters(cls: type) -> Mapping[str, inspect.Parameter]:
    try:
        return inspect.signature(cls).parameters
    except (TypeError, ValueError):  # a constructor without a readable signature (a builtin's)
        return {}


def _takes_whole_config(cls: type, raw: Mapping[str, Any]) -> bool:
    """NeMo's rule for a config naming no class: ``cls(cfg=config)`` for a class whose constructor takes ``cfg``,
    unless the config is only that constructor's arguments (``{cfg: {...}}``, our own form)."""
    parameters = _constructor_parameters(cls)
    return "cfg" in parameters and not (raw and set(raw) <= set(parameters))


class Serialization:
    """Mixin for objects built from OmegaConf configs: ``from_config_dict`` and ``to_config_dict``.

    Each subclass's constructor call is recorded, so an object built directly (``Encoder(dim=64)``) can also
    describe itself as a config. An object built from a config keeps that config (interpolations included).
    Subclasses are allowed as config targets (they carry the :func:`instantiable` mark).
    """

    __neuraltypes_instantiable__: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get("__init__")
        if own is not None and not getattr(own, _RECORDS, False):
            type.__setattr__(cls, "__init__", _recording(own))
        elif own is None and not getattr(cls.__init__, _RECORDS, False):
            type.__setattr__(cls, "__init__", _recording_inherited(cls))

    @classmethod
    def from_config_dict(
        cls,
        config: object,
        trainer: object | None = None,
        *,
        allow: Iterable[object] = (),
        allow_resolvers: bool = False,
        limits: ConfigLimits = DEFAULT_LIMITS,
    ) -> Self:
        """Build an instance of ``cls`` (or of the subclass its ``_target_`` names) from a config.

        With ``_target_``, the config holds the constructor's arguments; nested ``_target_`` nodes are built
        first (Hydra's recursive instantiation). Without it, NeMo's conventions apply:

        - Hydra 0.x's ``cls: path`` with ``params: {...}`` (at any level) is read as ``_target_`` and arguments;
        - ``target: path`` (NeMo's model form) builds that class, or ``cls`` when ``cls`` is a subclass of it,
          with the whole config as ``cfg`` (and ``trainer``, when its constructor takes one);
        - a config naming no class builds ``cls(cfg=config)`` when ``cls``'s constructor takes ``cfg`` and the
          config is not just its arguments, else ``cls(**config)``.

        The config is resolved once and every target in it (``target`` too) checked against the allowlist before
        anything is called. The object keeps the config (interpolations unresolved) for :meth:`to_config_dict`.

        Args:
            config: a mapping or DictConfig.
            trainer: NeMo's argument, passed on to a constructor that takes ``cfg`` and ``trainer``.

        Raises:
            TypeError: the named class is not ``cls`` or a subclass of it.
            ValueError: a ``params`` node that is not a mapping, or repeats a key given beside it.
            UnsafeTargetError, UnsafeConfigError: as for :func:`~neuraltypes.config.instantiate`.
        """
        allowed = tuple(allow)
        raw = standalone(config, limits)
        if not isinstance(raw, dict):
            raise TypeError(f"{cls.__qualname__}.from_config_dict needs a mapping config, not a list")
        raw = upgrade_legacy_keys(raw)
        if TARGET_KEY not in raw and (LEGACY_TARGET_KEY in raw or _takes_whole_config(cls, raw)):
            return cls._from_whole_config(raw, trainer, allowed, allow_resolvers, limits)
        named = TARGET_KEY in raw
        raw, resolved = prepare_config(
            raw, {} if named else {TARGET_KEY: cls}, allow=allowed, allow_resolvers=allow_resolvers, limits=limits
        )
        target = check_target(resolved[TARGET_KEY], allowed)
        if not (isinstance(target, type) and issubclass(target, cls)):
            raise TypeError(
                f"{cls.__qualname__}.from_config_dict: the config's _target_ {raw[TARGET_KEY]!r} is not "
                f"{cls.__qualname__} or a subclass of it"
            )
        built = build_resolved(resolved, allow=allowed, checked=True)
        if not isinstance(built, cls):  # `_partial_: true`, or a __new__ returning something else
            what = "partial (_partial_: true)" if isinstance(built, functools.partial) else type(built).__qualname__
            raise TypeError(f"{cls.__qualname__}.from_config_dict: the config built a {what}, not an instance")
        built._store_config(raw)
        return built

    @classmethod
    def _from_whole_config(
        cls,
        raw: dict[str, Any],
        trainer: object | None,
        allowed: tuple[object, ...],
        allow_resolvers: bool,
        limits: ConfigLimits,
    ) -> Self:
        """NeMo's model form: ``target`` (or ``cls`` itself) built with the whole config as ``cfg``."""
        _, resolved = prepare_config(raw, {}, allow=allowed, allow_resolvers=allow_resolvers, limits=limits)
        target: object = cls
        if LEGACY_TARGET_KEY in resolved:
            named = check_target(resolved[LEGACY_TARGET_KEY], allowed, where=LEGACY_TARGET_KEY)
            if isinstance(named, type) and issubclass(cls, named):
                named = cls  # NeMo: the calling class, when it specialises the one named
            target = named
        if not (isinstance(target, type) and issubclass(target, cls)):
            raise TypeError(
                f"{cls.__qualname__}.from_config_dict: the config's target {raw[LEGACY_TARGET_KEY]!r} is not "
                f"{cls.__qualname__} or a subclass of it"
            )
        arguments: dict[str, Any] = {"cfg": OmegaConf.create(quote(resolved))}
        if trainer is not None or "trainer" in _constructor_parameters(target):
            arguments["trainer"] = trainer
        built = target(**arguments)
        # Given back as it came, as NeMo does (its tests compare the two); `from_config_dict` reads it the same way.
        built._store_config(raw, as_given=True)
        return built

    def _store_config(self, raw: dict[str, Any], as_given: bool = False) -> None:
        """Keep the config this object was built from, with ``_target_`` as an import path (or, ``as_given``, as
        it came: NeMo's forms name the class their own way).

        A config holding Python objects (a class as a nested ``_target_``, a module passed as a value) is not
        kept: the recorded constructor call describes the object instead.
        """
        rest = {k: v for k, v in raw.items() if k != TARGET_KEY}
        stored = rest if as_given else {TARGET_KEY: class_path(type(self)), **rest}
        try:
            OmegaConf.create(stored)
        except OmegaConfBaseException:
            return
        self.__dict__[_STORED_CONFIG] = copy.deepcopy(stored)

    def to_config_dict(self) -> DictConfig:
        """The config that rebuilds this object; always carries ``_target_``, the class's import path.

        Raises:
            ValueError: the object was built with arguments a config cannot hold, naming the argument.
        """
        stored = self.__dict__.get(_STORED_CONFIG)
        if stored is None:
            stored = self._config_from_init_call()
        return OmegaConf.create(copy.deepcopy(stored))

    def _config_from_init_call(self) -> dict[str, Any]:
        call = self.__dict__.get(_INIT_CALL)
        if call is None:
            name = type(self).__qualname__
            raise ValueError(f"{name} has no config: it was not built from one and its __init__ did not run")
        if call.problem is not None:
            raise ValueError(call.problem)
        return {TARGET_KEY: class_path(type(self)), **copy.deepcopy(call.arguments)}
