"""The example inputs of an export, as keyword arguments in ``forward``'s order, and the ports they feed."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

import torch

from neuraltypes.nn import PortType, declares_types_by_properties, ports_of

__all__ = [
    "EXPORT_BATCH",
    "EXPORT_TIME",
    "example_kwargs",
    "input_ports",
    "output_ports",
    "parameter_names",
    "uses_nemo_types",
]

# The example an export builds: torch.export cannot keep a size of 0 or 1 dynamic, nor one computed from the
# inputs (frames from samples, a subsampled time): a batch of 2 and time axes of 256 keep the usual ones above 1.
EXPORT_BATCH = 2
EXPORT_TIME = 256


_VARIADIC_PARAMETERS = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


def parameter_names(module: torch.nn.Module) -> list[str]:
    """``forward``'s parameters that take a value each (no ``*args``/``**kwargs``), in order."""
    return [p.name for p in inspect.signature(module.forward).parameters.values() if p.kind not in _VARIADIC_PARAMETERS]


def _ports(module: torch.nn.Module, attribute: str) -> Mapping[str, PortType]:
    declared = getattr(module, attribute, None) if hasattr(type(module), attribute) else None
    if isinstance(declared, Mapping):
        return declared
    ports = ports_of(type(module))
    return ports.inputs if attribute == "input_types" else ports.outputs


def input_ports(module: torch.nn.Module) -> Mapping[str, PortType]:
    """The typed inputs: ``input_types`` where the module has them (NeMo's properties too), else annotations."""
    return _ports(module, "input_types")


def output_ports(module: torch.nn.Module) -> Mapping[str, PortType]:
    """The typed outputs, as :func:`input_ports` reads the inputs."""
    return _ports(module, "output_types")


def uses_nemo_types(module: torch.nn.Module) -> bool:
    """Whether the types are NeMo's properties, whose axis labels are kinds only (``T`` here and ``T`` there
    need not be one size), as the run-time check reads them."""
    return declares_types_by_properties(type(module))


def example_kwargs(module: torch.nn.Module, input_example: Any) -> dict[str, Any]:
    """The example as keyword arguments of ``forward``: a tuple is matched to the parameters in order, a mapping
    taken as it is, a tensor is the first argument; None asks the module for ``input_example(2, 256)`` (a batch
    of 2, time axes of 256).

    Raises:
        DynamicShapesError: no example and no way to build one, or more values than ``forward`` takes.
    """
    from ._errors import DynamicShapesError

    if input_example is None:
        build = getattr(module, "input_example", None)
        if not callable(build):
            raise DynamicShapesError(
                f"{type(module).__qualname__} has no input_example(): pass input_example (the tensors to trace with)"
            )
        input_example = build(EXPORT_BATCH, EXPORT_TIME)
    if isinstance(input_example, Mapping):
        return dict(input_example)
    values = (input_example,) if isinstance(input_example, torch.Tensor) else tuple(input_example)
    names = parameter_names(module)
    if len(values) > len(names):
        raise DynamicShapesError(
            f"the input example has {len(values)} values but {type(module).__qualname__}.forward takes "
            f"{len(names)} ({', '.join(names)})"
        )
    return dict(zip(names, values, strict=False))


def call_arguments(module: torch.nn.Module, kwargs: Mapping[str, Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """How to call ``forward`` with the example, so that the exported program is called the same way: positionally
    (``program(x, lengths)``, as the module is), or by keyword where ``forward`` takes keywords only (and for
    NeMo's types, whose check refuses positional arguments)."""
    parameters = [
        p for p in inspect.signature(module.forward).parameters.values() if p.kind not in _VARIADIC_PARAMETERS
    ]
    if uses_nemo_types(module) or any(
        p.kind is inspect.Parameter.KEYWORD_ONLY and p.name in kwargs for p in parameters
    ):
        return (), dict(kwargs)
    last = max((i for i, p in enumerate(parameters) if p.name in kwargs), default=-1)
    args = []
    for parameter in parameters[: last + 1]:
        if parameter.name in kwargs:
            args.append(kwargs[parameter.name])
        elif parameter.default is not inspect.Parameter.empty:
            args.append(parameter.default)
        else:
            from ._errors import DynamicShapesError

            raise DynamicShapesError(f"the input example gives no value for {parameter.name!r}, which has no default")
    return tuple(args), {}
