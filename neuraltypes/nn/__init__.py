"""Typed modules: ``NeuralModule`` and the ``Typing`` mixin (neural types read from ``forward``'s annotations)."""

from ._examples import example_inputs as example_inputs
from ._freezing import as_frozen as as_frozen
from ._freezing import freeze as freeze
from ._freezing import unfreeze as unfreeze
from ._module import NeuralModule as NeuralModule
from ._summary import ports_summary as ports_summary
from ._typing import Ports as Ports
from ._typing import PortType as PortType
from ._typing import Typing as Typing
from ._typing import declares_types_by_properties as declares_types_by_properties
from ._typing import ports_of as ports_of

__all__ = [
    "NeuralModule",
    "PortType",
    "Ports",
    "Typing",
    "as_frozen",
    "declares_types_by_properties",
    "example_inputs",
    "freeze",
    "ports_of",
    "ports_summary",
    "unfreeze",
]
