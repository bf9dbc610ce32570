"""The typed signature stored in an ONNX model's ``metadata_props``, and read back from it.

One entry, ``neuraltypes.signature``, holds JSON: the module's class, each input and output port (name, axes
string, element type with its parameters and its parent classes, dtype, optional, whether the export has it),
and each size variable (dynamic with its range, or the static size and why). A reader rebuilds the
``NeuralType`` of every port with core's parser; an element type it does not know (a user's subclass) is read as
its nearest known parent class. Nothing is imported or evaluated from the file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from neuraltypes.core import ElementType, NeuralType, VoidType

__all__ = ["METADATA_KEY", "ExportedSignature", "ExportedSize", "read_signature", "signature_json"]

METADATA_KEY = "neuraltypes.signature"
_FORMAT = 1


@dataclass(frozen=True)
class ExportedSize:
    """A size variable of the exported model: dynamic within ``min``..``max``, or static at ``size``."""

    dynamic: bool
    min: int | None = None
    max: int | None = None
    size: int | None = None
    notes: tuple[str, ...] = ()  # what the export learned: "min 80", "fixed by the module"

    def __str__(self) -> str:
        if not self.dynamic:
            return f"static {self.size}" + (f" ({', '.join(self.notes)})" if self.notes else "")
        bounds = [f"min {self.min}" if self.min else "", f"max {self.max}" if self.max is not None else ""]
        extra = [note for note in self.notes if not note.startswith(("min ", "max "))]
        shown = ", ".join([b for b in bounds if b] + extra)
        return "dynamic" + (f" ({shown})" if shown else "")


@dataclass(frozen=True)
class ExportedSignature:
    """The typed signature of an exported model: ports in order, and its sizes."""

    module: str
    inputs: dict[str, NeuralType]
    outputs: dict[str, NeuralType]
    sizes: dict[str, ExportedSize]
    left_out: tuple[str, ...] = field(default=())  # optional inputs the export was made without
    notes: tuple[str, ...] = field(default=())  # what else the export had to do

    def describe(self) -> str:
        """A few lines: each port with its axes and type, then each size."""
        lines = [f"{self.module}"]
        for title, ports in (("inputs", self.inputs), ("outputs", self.outputs)):
            lines.append(title)
            lines += [f"  {name}: {port}" for name, port in ports.items() if name not in self.left_out]
        if self.left_out:
            lines.append(f"left out (optional): {', '.join(self.left_out)}")
        lines.append("sizes")
        lines += [f"  {name}: {size}" for name, size in self.sizes.items()]
        lines += [f"note: {note}" for note in self.notes]
        return "\n".join(lines)


def _jsonable(value: Any) -> Any:
    return value if value is None or isinstance(value, bool | int | float | str) else str(value)


def _element_json(element: ElementType) -> dict[str, Any]:
    chain = [cls.__name__ for cls in type(element).__mro__ if issubclass(cls, ElementType) and cls is not ElementType]
    parameters = {name: _jsonable(value) for name, value in element.type_parameters.items() if value is not None}
    return {"classes": chain, "parameters": parameters}


def _port_json(name: str, port: NeuralType, exported: bool) -> dict[str, Any]:
    return {
        "name": name,
        "axes": port.axes_string,
        "elements": _element_json(port.elements_type),
        "dtype": port.dtype,
        "optional": port.optional,
        "exported": exported,
        "text": str(port),
    }


def signature_json(signature: ExportedSignature) -> str:
    """The JSON stored under :data:`METADATA_KEY`."""
    return json.dumps(
        {
            "format": _FORMAT,
            "module": signature.module,
            "inputs": [
                _port_json(name, port, name not in signature.left_out) for name, port in signature.inputs.items()
            ],
            "outputs": [_port_json(name, port, True) for name, port in signature.outputs.items()],
            "sizes": {
                name: {"dynamic": s.dynamic, "min": s.min, "max": s.max, "size": s.size, "notes": list(s.notes)}
                for name, s in signature.sizes.items()
            },
            "notes": list(signature.notes),
        },
        indent=1,
    )


def _known_elements() -> dict[str, type[ElementType]]:
    """Every element type class defined so far, by name (core's first where a user's class reuses a name)."""
    found: dict[str, type[ElementType]] = {}
    pending: list[type[ElementType]] = [ElementType]
    while pending:
        cls = pending.pop(0)
        pending.extend(cls.__subclasses__())
        found.setdefault(cls.__name__, cls)
    return found


def _element(data: Mapping[str, Any]) -> ElementType:
    known = _known_elements()
    for name in data.get("classes", ()):
        cls = known.get(name)
        if cls is None:
            continue
        try:
            return cls(**data.get("parameters", {}))
        except TypeError:
            return cls()
    return VoidType()


def _port(data: Mapping[str, Any]) -> NeuralType:
    return NeuralType(data["axes"], _element(data["elements"]), bool(data["optional"]), dtype=data["dtype"])


def read_signature(model: str | os.PathLike[str] | Any) -> ExportedSignature:
    """The typed signature of an ONNX model written by ``export``: a path or an ``onnx.ModelProto``.

    Raises:
        ValueError: the model holds no neuraltypes signature (not exported by neuraltypes), or one of a newer format.
    """
    import onnx  # type: ignore[import-not-found, unused-ignore]  # the `export` extra

    proto = onnx.load(os.fspath(model), load_external_data=False) if isinstance(model, str | os.PathLike) else model
    text = next((prop.value for prop in proto.metadata_props if prop.key == METADATA_KEY), None)
    if text is None:
        raise ValueError(f"the ONNX model has no {METADATA_KEY!r} metadata: it was not exported by neuraltypes")
    data = json.loads(text)
    if data.get("format") != _FORMAT:
        raise ValueError(f"{METADATA_KEY!r} is of format {data.get('format')!r}; this version reads {_FORMAT}")
    sizes = {
        name: ExportedSize(s["dynamic"], s["min"], s["max"], s["size"], tuple(s["notes"]))
        for name, s in data["sizes"].items()
    }
    return ExportedSignature(
        module=data["module"],
        inputs={port["name"]: _port(port) for port in data["inputs"]},
        outputs={port["name"]: _port(port) for port in data["outputs"]},
        sizes=sizes,
        left_out=tuple(port["name"] for port in data["inputs"] if not port["exported"]),
        notes=tuple(data.get("notes", ())),
    )
