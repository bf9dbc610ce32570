"""Export a model saved as an archive, without writing Python: what ``neuraltypes-archive export`` runs."""

from __future__ import annotations

import os
from collections.abc import Mapping

from neuraltypes.nn import NeuralModule

from ._inputs import EXPORT_BATCH, EXPORT_TIME
from ._onnx import OnnxExport, export_onnx

__all__ = ["export_archive"]


def export_archive(
    archive: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    sizes: Mapping[str, int] | None = None,
    max_batch: int | None = None,
    max_dim: int | None = None,
    static: tuple[str, ...] = (),
    check_trace: bool = True,
) -> OnnxExport:
    """Restore the model in ``archive`` (verified, as ``restore_from`` does) and write it to ``output`` as ONNX.

    The example is the model's own ``input_example(max_batch, max_dim, sizes=sizes)`` (batch 2 and time 256
    unless given);
    ``sizes`` names what the types leave open but the weights fix (``{"D": 64}`` for a module whose input
    features are a size variable).

    Raises:
        ArchiveError: the archive is malformed or corrupt.
        DynamicShapesError, ExportedSignatureError, ExportError: as :func:`export_onnx`.
    """
    model = NeuralModule.restore_from(archive)
    batch = EXPORT_BATCH if max_batch is None else max_batch
    example = model.input_example(batch, EXPORT_TIME if max_dim is None else max_dim, sizes=sizes)
    return export_onnx(model, output, example, static=static, check_trace=check_trace)
