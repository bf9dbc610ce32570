"""``Typing``: a class's input and output neural types, read once from the annotations of its ``forward``."""

from __future__ import annotations

import dataclasses
import inspect
import typing
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from neuraltypes.core import NeuralType, neural_type_of
from neuraltypes.runtime import FROM_ANNOTATIONS, declares_types

__all__ = ["PortType", "Ports", "Typing", "declares_types_by_properties", "ports_of"]

#: A port's type: a ``NeuralType``, or NeMo's container form, a list holding the type of its items.
PortType = NeuralType | list[Any]

_CACHE = "_neuraltypes_ports"
_SKIPPED_KINDS = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


@dataclasses.dataclass(frozen=True)
class Ports:
    """The typed inputs and outputs of a class's ``forward``, in declaration order (read-only mappings)."""

    inputs: Mapping[str, PortType]
    outputs: Mapping[str, PortType]


def _port_type(annotation: Any) -> PortType | None:
    """The port type of one annotation: ``NT[...]`` (or any form ``neural_type_of`` reads), or a list of one."""
    found = neural_type_of(annotation)
    if found is not None:
        return found
    if typing.get_origin(annotation) is list:
        (item,) = typing.get_args(annotation) or (None,)
        inner = _port_type(item)
        return None if inner is None else [inner]
    return None


def _is_named_tuple(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, tuple) and hasattr(annotation, "_fields")


def _output_ports(annotation: Any) -> dict[str, PortType]:
    """Outputs: ``output`` for one value, ``output_<i>`` for a tuple, the field names for a NamedTuple."""
    if _is_named_tuple(annotation):
        hints = typing.get_type_hints(annotation, include_extras=True)
        fields = {name: _port_type(hints.get(name)) for name in annotation._fields}
        return {name: port for name, port in fields.items() if port is not None}
    if typing.get_origin(annotation) is tuple:
        items = [item for item in typing.get_args(annotation) if item is not Ellipsis]
        ports = {f"output_{index}": _port_type(item) for index, item in enumerate(items)}
        return {name: port for name, port in ports.items() if port is not None}
    single = _port_type(annotation)
    return {} if single is None else {"output": single}


def _read_ports(forward: Callable[..., Any]) -> Ports:
    function = inspect.unwrap(forward)
    hints = typing.get_type_hints(function, include_extras=True)
    parameters = list(inspect.signature(function).parameters.values())[1:]  # drop self
    inputs: dict[str, PortType] = {}
    for parameter in parameters:
        if parameter.kind in _SKIPPED_KINDS or parameter.name not in hints:
            continue
        port = _port_type(hints[parameter.name])
        if port is not None:
            inputs[parameter.name] = port
    outputs = _output_ports(hints["return"]) if "return" in hints else {}
    return Ports(MappingProxyType(inputs), MappingProxyType(outputs))


def ports_of(cls: type) -> Ports:
    """The typed ports of ``cls.forward``, read from its annotations once and cached on the class.

    Raises:
        NameError: an annotation names something that does not exist (a forward reference never defined).
    """
    cached = cls.__dict__.get(_CACHE)
    if isinstance(cached, Ports):
        return cached
    forward = getattr(cls, "forward", None)
    ports = _read_ports(forward) if callable(forward) else Ports(MappingProxyType({}), MappingProxyType({}))
    type.__setattr__(cls, _CACHE, ports)  # a per-class memo of a pure function of the class
    return ports


def _marked(function: Callable[[Any], Any]) -> Callable[[Any], Any]:
    setattr(function, FROM_ANNOTATIONS, True)
    return function


class Typing:
    """Mixin giving NeMo's ``input_types``/``output_types``, derived from ``forward``'s annotations.

    A class that defines its own ``input_types``/``output_types`` properties (NeMo style) keeps them; the
    derived ones are recognisable by the ``_neural_types_from_annotations`` attribute on their getters (see
    :func:`declares_types_by_properties`).
    """

    @property
    @_marked
    def input_types(self) -> Mapping[str, PortType] | None:
        """Parameter name -> type for each typed parameter of ``forward``; None when none is typed (NeMo)."""
        inputs = ports_of(type(self)).inputs
        return dict(inputs) if inputs else None

    @property
    @_marked
    def output_types(self) -> Mapping[str, PortType] | None:
        """Output name -> type for each typed output of ``forward``; None when none is typed (NeMo)."""
        outputs = ports_of(type(self)).outputs
        return dict(outputs) if outputs else None


def declares_types_by_properties(cls: type) -> bool:
    """Whether ``cls`` declares its types NeMo's way, with its own ``input_types``/``output_types`` properties."""
    return declares_types(cls)
