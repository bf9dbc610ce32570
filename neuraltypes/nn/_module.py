"""``NeuralModule``: a ``torch.nn.Module`` with typed ports, a config, an archive format and freezing."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar, Self

import torch

from ..archive import Archivable
from ..config import Serialization
from ..runtime import typecheck
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

    def input_example(self, sizes: Mapping[str, int] | None = None, seed: int = 0) -> tuple[torch.Tensor, ...]:
        """Example inputs built from the declared input types, in ``forward``'s order (for tracing and export).

        Fixed sizes are used as declared; each size variable gets one small value shared by all inputs
        (batch 2, others 3, 4, 5, ...), or the value given in ``sizes`` (``{"T": 16}``).

        Raises:
            ValueError: the module declares no typed inputs, or one whose shape cannot be built.
        """
        inputs = self.input_types
        if not inputs:
            raise ValueError(f"{type(self).__qualname__} declares no typed inputs to build an example from")
        return tuple(example_inputs(inputs, sizes, seed).values())

    def ports_summary(self) -> str:
        """A table of this module tree's typed ports: module, class, weights, port, axes, elements, dtype."""
        return ports_summary(self)
