"""A table of the typed ports of a module tree, to read a model's interfaces at a glance."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import torch

from neuraltypes.core import NeuralType

from ._typing import PortType

__all__ = ["ports_summary"]

_HEADER = ("Module", "Class", "Weights", "Port", "Axes", "Elements", "Dtype")


def _count(number: int) -> str:
    for limit, suffix in ((10**9, "B"), (10**6, "M"), (10**3, "K")):
        if number >= limit:
            return f"{number / limit:.1f} {suffix}"
    return str(number)


def _describe(port_type: PortType) -> tuple[str, str, str]:
    """Axes, elements and dtype columns; a NeMo list container shows as ``list[...]`` around its axes."""
    if isinstance(port_type, list):
        axes, elements, dtype = _describe(port_type[0])
        return f"list[{axes}]", elements, dtype
    assert isinstance(port_type, NeuralType)
    axes = "any" if port_type.axes_string is None else port_type.axes_string
    elements = type(port_type.elements_type).__name__ + (" (optional)" if port_type.optional else "")
    return axes, elements, port_type.dtype or "-"


def _ports(module: torch.nn.Module) -> Iterator[tuple[str, str, PortType]]:
    for direction, attribute in (("in", "input_types"), ("out", "output_types")):
        declared = getattr(module, attribute, None)
        if isinstance(declared, Mapping):
            for name, port_type in declared.items():
                yield direction, str(name), port_type


def _rows(root: torch.nn.Module) -> Iterator[tuple[str, ...]]:
    for path, module in root.named_modules():
        ports = list(_ports(module))
        if not ports and path:
            continue
        first = (path or "(root)", type(module).__name__, _count(sum(p.numel() for p in module.parameters())))
        if not ports:
            yield (*first, "-", "", "", "")
        for index, (direction, name, port_type) in enumerate(ports):
            yield (*(first if index == 0 else ("", "", "")), f"{direction:<3} {name}", *_describe(port_type))


def ports_summary(module: torch.nn.Module) -> str:
    """A text table with one row per typed port of ``module`` and of each typed submodule (by dotted path).

    Modules without typed ports are left out, except the root; ``Weights`` counts each module's parameters.
    """
    rows = [_HEADER, *_rows(module)]
    widths = [max(len(row[column]) for row in rows) for column in range(len(_HEADER))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)
