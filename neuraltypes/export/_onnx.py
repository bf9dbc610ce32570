"""ONNX export through torch's exporter, with names, dynamic axes and the typed signature from the types.

The program from :func:`export_program` goes through ``torch.onnx.export(..., dynamo=True)`` (which needs
``onnxscript``); inputs and outputs are named after the ports, dynamic axes after the size variables (``B``,
``T``; a derived axis as the types write it, ``T-1``; an output axis computed from them as torch computes it,
``T_audio//80 + 1``), and the typed signature is stored in the model's ``metadata_props`` (see ``_metadata``).
The written file is then checked against the ports (names, count, rank, dtype, which axes are dynamic), and
with ``check_trace`` run once under onnxruntime against eager torch on the example.
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from neuraltypes.core import NeuralType, dtype_names
from neuraltypes.nn import PortType

from ._asserts import failing_asserts
from ._check import symbol_names, user_values
from ._errors import DynamicShapesError, ExportedSignatureError, ExportError
from ._inputs import input_ports, output_ports
from ._metadata import METADATA_KEY, ExportedSignature, ExportedSize, signature_json
from ._plan import DERIVED_ROOT_MAX, AxisPlan, ShapePlan, symbol_key
from ._program import Exported, Ranges, eval_mode, export_with_plan

__all__ = ["OnnxExport", "export_onnx"]

_ONNX_DTYPES = {"float": "float32", "double": "float64"}


@dataclass(frozen=True)
class OnnxExport:
    """What :func:`export_onnx` wrote: the file, its typed signature, and the program it was made from."""

    path: Path
    signature: ExportedSignature
    program: torch.export.ExportedProgram


def export_onnx(
    module: torch.nn.Module,
    output: str | os.PathLike[str],
    input_example: Any = None,
    *,
    static: Iterable[str] = (),
    ranges: Ranges | None = None,
    opset_version: int | None = None,
    verbose: bool = False,
    check_trace: bool = False,
    check_tolerance: float = 0.01,
) -> OnnxExport:
    """Write ``module`` (in eval mode) to ``output`` as ONNX, shapes and names from its types, and check it.

    Args:
        module, input_example, static, ranges: as :func:`dynamic_shapes`.
        output: the ``.onnx`` file to write.
        opset_version: the ONNX opset (torch's default when None).
        verbose: torch's exporter prints its steps.
        check_trace: run the file under onnxruntime on the example and compare with eager torch.
        check_tolerance: the absolute and relative tolerance of that comparison.

    Raises:
        DynamicShapesError, ExportedSignatureError: as :func:`export_program`, and for the ONNX file.
        ExportError: with ``check_trace``, an output of onnxruntime that differs from torch's.
    """
    _require("onnx", "onnxscript", *(("onnxruntime",) if check_trace else ()))
    exported = export_with_plan(module, input_example, static=static, ranges=ranges)
    owner = type(module).__qualname__
    _refuse_failing_asserts(exported, owner)
    inputs = [name for name, value in exported.kwargs.items() if isinstance(value, torch.Tensor)]
    outputs = output_ports(module)
    with _quiet(verbose):
        onnx_program = torch.onnx.export(
            exported.program,
            (),
            dynamo=True,
            input_names=inputs,
            output_names=list(outputs) or None,
            opset_version=opset_version,
            verbose=verbose,
        )
    assert onnx_program is not None
    onnx_program.rename_axes(_axis_names(onnx_program, exported.plan))
    signature = _signature(module, exported)
    onnx_program.model.metadata_props[METADATA_KEY] = signature_json(signature)
    path = Path(output)
    onnx_program.save(path)
    _check_file(path, exported.plan, inputs, outputs, owner)
    if check_trace:
        _check_trace(module, path, exported.kwargs, list(outputs), check_tolerance, owner)
    return OnnxExport(path, signature, exported.program)


@contextlib.contextmanager
def _quiet(verbose: bool) -> Iterator[None]:
    """Without ``verbose``, torch's exporter says nothing about what does not concern the user: the torchvision
    operators it skips registering, and a deprecation inside torch's own pytree use."""
    if verbose:
        yield
        return
    registration = logging.getLogger("torch.onnx._internal.exporter._registration")
    level = registration.level
    registration.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)", category=FutureWarning)
            yield
    finally:
        registration.setLevel(level)


def _require(*packages: str) -> None:
    """Fail early, with the install line, when a package of the ``export`` extra is missing."""
    import importlib.util

    missing = [name for name in packages if importlib.util.find_spec(name) is None]
    if missing:
        raise ModuleNotFoundError(
            f"ONNX export needs {', '.join(missing)}: pip install 'neuraltypes[export]'", name=missing[0]
        )


def _refuse_failing_asserts(exported: Exported, owner: str) -> None:
    """ONNX keeps no run-time assert: refuse a program whose asserts fail for some sizes it otherwise accepts."""
    failing = failing_asserts(exported.program)
    if not failing:
        return
    names = symbol_names(exported.program, exported.plan, exported.kwargs)
    expr, witness = failing[0]
    shown = expr.xreplace(names)
    at = ", ".join(f"{names.get(s, s)}={witness[str(s)]}" for s in sorted(expr.free_symbols, key=str))
    sizes = ", ".join(f"{name}={size}" for name, size in exported.plan.example_sizes.items())
    raise DynamicShapesError(
        f"{owner}: the exported program holds only where {shown} (a run-time assert, false for {at}); ONNX keeps no "
        f"such check, and the file would compute something else there. The module takes a path that depends on "
        f"the sizes (traced with {sizes}): export it with sizes that keep to one path (static=, ranges=), or "
        f"change the module so that one computation serves every size"
    )


def _typed(ports: Mapping[str, PortType]) -> dict[str, NeuralType]:
    return {name: port for name, port in ports.items() if isinstance(port, NeuralType)}


def _axis_names(onnx_program: Any, plan: ShapePlan) -> dict[Any, str]:
    """torch's symbol (``s32``) of each dynamic input axis -> the types' name (``B``; ``T-1`` when derived)."""
    names: dict[Any, str] = {}
    values = {value.name: value for value in onnx_program.model.graph.inputs}
    for port, axes in plan.inputs.items():
        value = values.get(port)
        if value is None or value.shape is None:
            continue
        for axis, dim in zip(axes, value.shape, strict=False):
            if axis.size is None or not isinstance(getattr(dim, "value", None), str):
                continue
            names.setdefault(dim.value, axis.size if (axis.scale, axis.offset) == (1, 0) else axis.spelling)
    return names


def _signature(module: torch.nn.Module, exported: Exported) -> ExportedSignature:
    plan = exported.plan
    sizes: dict[str, ExportedSize] = {}
    for name, size in plan.sizes.items():
        highest = None if size.max == DERIVED_ROOT_MAX else size.max
        sizes[name] = ExportedSize(True, size.min, highest, notes=tuple(size.notes))
    for name, tied in plan.tied.items():
        sizes[name] = ExportedSize(True, notes=(f"= {tied}, tied by the module",))
    for name, value in plan.example_sizes.items():
        if name not in sizes:
            note = plan.static_notes.get(name)
            sizes[name] = ExportedSize(False, size=value, notes=(note,) if note else ())
    outputs = _typed(output_ports(module))
    if plan.bind_names:
        _, results = user_values(exported.program)
        for port, result in zip(outputs.values(), results, strict=False):
            for axis, dim in zip(port.axes or (), result.dims if result is not None else (), strict=False):
                key = symbol_key(axis)
                if key is not None and key not in sizes:
                    computed = ("computed by the module",)
                    sizes[key] = (
                        ExportedSize(True, notes=computed)
                        if not isinstance(dim, int)
                        else (ExportedSize(False, size=dim, notes=computed))
                    )
    cls = type(module)
    inputs = _typed(input_ports(module))
    return ExportedSignature(
        module=f"{cls.__module__}.{cls.__qualname__}",
        inputs=inputs,
        outputs=outputs,
        sizes=sizes,
        left_out=tuple(name for name in inputs if name not in plan.inputs),
        notes=tuple(plan.notes),
    )


def _dtype_name(elem_type: int) -> str:
    import onnx  # type: ignore[import-not-found, unused-ignore]  # the `export` extra

    name = str(onnx.TensorProto.DataType.Name(elem_type)).lower()
    return _ONNX_DTYPES.get(name, name)


def _dims(value: Any) -> list[int | str | None]:
    return [
        d.dim_value if d.HasField("dim_value") else (d.dim_param if d.HasField("dim_param") else None)
        for d in value.type.tensor_type.shape.dim
    ]


def _check_value(where: str, port: NeuralType, value: Any, owner: str) -> list[int | str | None]:
    def fail(message: str) -> ExportedSignatureError:
        return ExportedSignatureError(f"{owner}: ONNX {where}: {message}")

    dims = _dims(value)
    if port.axes is not None and not any(a.variadic for a in port.axes) and len(dims) != len(port.axes):
        raise fail(f"the file has {len(dims)} axes, the type ({port.axes_string}) {len(port.axes)}")
    if port.dtype is not None:
        name = _dtype_name(value.type.tensor_type.elem_type)
        if name not in dtype_names(port.dtype):
            raise fail(f"the file's dtype is {name}, the type declares {port.dtype}")
    return dims


def _check_input_axes(where: str, axes: Sequence[AxisPlan], dims: Sequence[int | str | None], owner: str) -> None:
    for index, (axis, dim) in enumerate(zip(axes, dims, strict=True)):
        at = f"ONNX {where}, axis {index} ({axis.spelling})"
        if axis.size is None and isinstance(dim, str):
            raise ExportedSignatureError(f"{owner}: {at}: dynamic ({dim!r}) in the file, static in the types")
        if axis.size is None and axis.static is not None and dim != axis.static:
            raise ExportedSignatureError(f"{owner}: {at}: the file's size is {dim}, expected {axis.static}")
        if axis.size is not None and not isinstance(dim, str):
            raise ExportedSignatureError(f"{owner}: {at}: static ({dim}) in the file, dynamic in the types")
        if axis.size is not None and (axis.scale, axis.offset) == (1, 0) and dim != axis.size:
            raise ExportedSignatureError(f"{owner}: {at}: the file names it {dim!r}, the types {axis.size!r}")


def _check_output_axes(
    where: str, port: NeuralType, dims: Sequence[int | str | None], plan: ShapePlan, owner: str
) -> None:
    if port.axes is None or any(a.variadic for a in port.axes):
        return
    for index, (axis, dim) in enumerate(zip(port.axes, dims, strict=True)):
        at = f"ONNX {where}, axis {index} ({axis})"
        if axis.size is not None and dim is not None and dim != axis.size:
            raise ExportedSignatureError(f"{owner}: {at}: the file's size is {dim!r}, the type fixes {axis.size}")
        key = symbol_key(axis)
        if plan.bind_names and key in plan.sizes and dim is not None and dim != key:
            raise ExportedSignatureError(f"{owner}: {at}: the file's size is {dim!r}, the types make it {key!r}")


def _check_file(
    path: Path, plan: ShapePlan, inputs: Sequence[str], outputs: Mapping[str, PortType], owner: str
) -> None:
    """The written file's inputs and outputs against the ports: names, count, rank, dtype, dynamic axes."""
    import onnx  # type: ignore[import-not-found, unused-ignore]  # the `export` extra

    graph = onnx.load(str(path), load_external_data=False).graph
    initializers = {tensor.name for tensor in graph.initializer}
    found = [value for value in graph.input if value.name not in initializers]
    if [value.name for value in found] != list(inputs):
        raise ExportedSignatureError(
            f"{owner}: ONNX inputs: the file has {[v.name for v in found]}, the example gives {list(inputs)}"
        )
    for value in found:
        if value.name in plan.inputs:
            port = plan.types[value.name]
            dims = _check_value(f"input {value.name!r}", port, value, owner)
            _check_input_axes(f"input {value.name!r}", plan.inputs[value.name], dims, owner)
    if outputs and [value.name for value in graph.output] != list(outputs):
        raise ExportedSignatureError(
            f"{owner}: ONNX outputs: the file has {[v.name for v in graph.output]}, the types declare {list(outputs)}"
        )
    for value in graph.output:
        declared = outputs.get(value.name)
        if isinstance(declared, NeuralType):
            dims = _check_value(f"output {value.name!r}", declared, value, owner)
            _check_output_axes(f"output {value.name!r}", declared, dims, plan, owner)


def _flat(result: Any) -> list[torch.Tensor]:
    if isinstance(result, torch.Tensor):
        return [result]
    if isinstance(result, Mapping):
        return [t for value in result.values() for t in _flat(value)]
    if isinstance(result, list | tuple):
        return [t for value in result for t in _flat(value)]
    return []


def _check_trace(
    module: torch.nn.Module,
    path: Path,
    kwargs: Mapping[str, Any],
    names: Sequence[str],
    tolerance: float,
    owner: str,
) -> None:
    """Run the file under onnxruntime on the example and compare each output with eager torch's."""
    import onnxruntime  # type: ignore[import-untyped, import-not-found, unused-ignore]  # the `export` extra

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feed = {name: value.numpy() for name, value in kwargs.items() if isinstance(value, torch.Tensor)}
    got = session.run(None, feed)
    with eval_mode(module), torch.no_grad():
        expected = _flat(module(**kwargs))
    for index, (mine, theirs) in enumerate(zip(expected, got, strict=True)):
        name = names[index] if index < len(names) else f"output {index}"
        actual = torch.from_numpy(theirs)
        if actual.shape != mine.shape or not torch.allclose(
            actual, mine.to(actual.dtype), atol=tolerance, rtol=tolerance
        ):
            difference = (actual.double() - mine.double()).abs().max().item() if actual.shape == mine.shape else None
            shown = f"largest difference {difference:.3g}" if difference is not None else f"shape {tuple(actual.shape)}"
            raise ExportError(
                f"{owner}: output {name!r}: onnxruntime differs from eager torch on the example ({shown}, "
                f"tolerance {tolerance})"
            )
