"""Export typed modules: ``torch.export`` and ONNX, with dynamic shapes, names and signature from the types.

``dynamic_shapes(module)`` derives torch.export's ``dynamic_shapes`` from the input types; ``export_program``
exports with them and checks the program against the declared ports; ``export_onnx`` writes ONNX through
torch's exporter with ports as names, size variables as dynamic axes and the typed signature in the model's
metadata, which ``read_signature`` reads back. ``NeuralModule.export`` / ``export_program`` and
``neuraltypes-archive export`` call these. ONNX needs the ``export`` extra (onnx, onnxruntime, onnxscript),
imported only when exporting to ONNX; see ``docs/export.md``.
"""

from ._archive import export_archive as export_archive
from ._errors import DynamicShapesError as DynamicShapesError
from ._errors import ExportedSignatureError as ExportedSignatureError
from ._errors import ExportError as ExportError
from ._metadata import METADATA_KEY as METADATA_KEY
from ._metadata import ExportedSignature as ExportedSignature
from ._metadata import ExportedSize as ExportedSize
from ._metadata import read_signature as read_signature
from ._onnx import OnnxExport as OnnxExport
from ._onnx import export_onnx as export_onnx
from ._program import dynamic_shapes as dynamic_shapes
from ._program import export_program as export_program

__all__ = [
    "METADATA_KEY",
    "DynamicShapesError",
    "ExportError",
    "ExportedSignature",
    "ExportedSignatureError",
    "ExportedSize",
    "OnnxExport",
    "dynamic_shapes",
    "export_archive",
    "export_onnx",
    "export_program",
    "read_signature",
]
