"""``NeuralModule``: a ``torch.nn.Module`` with typed ports, a config, an archive format and freezing."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, ClassVar, Self

import torch

from neuraltypes.archive import Archivable
from neuraltypes.config import Serialization
from neuraltypes.runtime import typecheck

from . import _freezing
from ._examples import example_inputs
from ._summary import ports_summary
from ._typing import Typing

__all__ = ["NeuralModule"]


class NeuralModule(torch.nn.Module, Typing, Serialization, Archivable):
    """Base class of typed modules: ``forward``'s annotations are its neural types, checked on every call.

    Subclasses get ``forward`` wrapped by ``neuraltypes.runtime.typecheck`` unless they opt out with
    ``class M(NeuralModule, typecheck_forward=False)`` (inherited by their subclasses, which may opt back in).
    Configs build them (``from_config_dict``) and they describe themselves (``to_config_dict``); they are
    allowed as config targets, and save to and restore from archives (``save_to``/``restore_from``).
    """

    typecheck_forward: ClassVar[bool] = True

    def __init_subclass__(cls, *, typecheck_forward: bool | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if typecheck_forward is not None:
            cls.typecheck_forward = typecheck_forward
        forward = cls.__dict__.get("forward")
        if cls.typecheck_forward and callable(forward):
            type.__setattr__(cls, "forward", typecheck(forward))

    @property
    def num_weights(self) -> int:
        """The number of trainable weights (elements of parameters with ``requires_grad``)."""
        return sum(parameter.numel() for parameter in self.parameters() if parameter.requires_grad)

    def freeze(self) -> Self:
        """Stop gradients to every parameter and switch to eval mode (see :meth:`unfreeze`); returns ``self``."""
        _freezing.freeze(self)
        return self

    def unfreeze(self, partial: bool = False) -> Self:
        """Make parameters trainable and switch to train mode; with ``partial``, as they were before freeze."""
        _freezing.unfreeze(self, partial)
        return self

    @contextlib.contextmanager
    def as_frozen(self) -> Iterator[NeuralModule]:
        """Frozen within a ``with`` block; afterwards each parameter and submodule is as it was before."""
        with _freezing.as_frozen(self):
            yield self

    def input_example(
        self,
        max_batch: int | None = None,
        max_dim: int | None = None,
        *,
        sizes: Mapping[str, int] | None = None,
        seed: int = 0,
    ) -> tuple[torch.Tensor, ...]:
        """Example inputs built from the declared input types, in ``forward``'s order (for tracing and export).

        Fixed sizes are used as declared; each size variable gets one size shared by all inputs and distinct from
        every other size of the example (batch 2, others 3, 4, 5, ...; sizes computed as ``T-1`` included), or
        the value given in ``sizes`` (``{"T": 16}``). NeMo's ``max_batch`` is the size of the batch axis and
        ``max_dim`` of the time axis (a second time variable counts down from it), where ``sizes`` leaves them open.

        Raises:
            ValueError: the module declares no typed inputs, or one whose shape cannot be built.
        """
        inputs = self.input_types
        if not inputs:
            raise ValueError(f"{type(self).__qualname__} declares no typed inputs to build an example from")
        return tuple(example_inputs(inputs, sizes, seed, max_batch=max_batch, max_dim=max_dim).values())

    def export(
        self,
        output: str | os.PathLike[str],
        input_example: Any = None,
        verbose: bool = False,
        onnx_opset_version: int | None = None,
        check_trace: bool = False,
        check_tolerance: float = 0.01,
        *,
        static: Iterable[str] = (),
        ranges: Mapping[str, tuple[int | None, int | None]] | None = None,
    ) -> tuple[list[str], list[str]]:
        """Write this module to ``output`` as ONNX (NeMo's ``export``), shapes and names from its types.

        Inputs and outputs are named after the ports, dynamic axes after the size variables (``B``, ``T``), and
        the neural types are stored in the model's ``metadata_props`` (``neuraltypes.export.read_signature``
        reads them back); the file is checked against the ports. ``input_example`` defaults to
        ``self.input_example(2, 256)``; ``check_trace`` runs the file under onnxruntime on it and compares with
        eager torch within ``check_tolerance``. ``static`` and ``ranges``: see ``neuraltypes.export.dynamic_shapes``.
        Needs the ``export`` extra (onnx, onnxruntime, onnxscript); see ``docs/export.md``.

        Returns:
            NeMo's pair: the files written, and a description of each (ports and sizes).
        """
        # The exporter lives a floor above (it reads the types of any module, not only ours); imported on call, so
        # that importing neuraltypes never imports it, nor onnx.
        from neuraltypes.export import export_onnx

        done = export_onnx(
            self,
            output,
            input_example,
            static=static,
            ranges=ranges,
            opset_version=onnx_opset_version,
            verbose=verbose,
            check_trace=check_trace,
            check_tolerance=check_tolerance,
        )
        return [str(done.path)], [done.signature.describe()]

    def export_program(
        self,
        input_example: Any = None,
        *,
        static: Iterable[str] = (),
        ranges: Mapping[str, tuple[int | None, int | None]] | None = None,
        strict: bool = False,
    ) -> torch.export.ExportedProgram:
        """``torch.export`` of this module (in eval mode) with dynamic shapes derived from its types, checked
        against its ports; the arguments are :func:`neuraltypes.export.export_program`'s."""
        from neuraltypes.export import export_program  # a floor above, imported on call (see export)

        return export_program(self, input_example, static=static, ranges=ranges, strict=strict)

    def ports_summary(self) -> str:
        """A table of this module tree's typed ports: module, class, weights, port, axes, elements, dtype."""
        return ports_summary(self)
