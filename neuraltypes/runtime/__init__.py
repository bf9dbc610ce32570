"""The run-time check: ``@typecheck`` on beartype, its configuration and switches, its exceptions, and tensor
provenance.

``@typecheck`` reads a function's annotations once (``NT[Tensor, "B T C", Elem, "float"]``, hand-written
``Annotated[Tensor, NeuralType(...)]``, jaxtyping, containers of them, ordinary hints for beartype) and
writes checks into the function (or into a generated wrapper around it) for every call: ranks, sizes bound
across the call, dtypes and element types.
"""

from ._decorator import CHECKED_MARKER as CHECKED_MARKER
from ._decorator import typecheck as typecheck
from ._errors import NeuralTypeAnnotationError as NeuralTypeAnnotationError
from ._errors import NeuralTypeError as NeuralTypeError
from ._nemo import FROM_ANNOTATIONS as FROM_ANNOTATIONS
from ._nemo import declares_types as declares_types
from ._provenance import TAG_ATTRIBUTE as TAG_ATTRIBUTE
from ._provenance import set_tag as set_tag
from ._provenance import tag_of as tag_of
from ._switches import SwitchScopeError as SwitchScopeError
from ._switches import TypecheckConf as TypecheckConf
from ._switches import checks_enabled as checks_enabled
from ._switches import disable_checks as disable_checks
from ._switches import disable_semantic_checks as disable_semantic_checks
from ._switches import enable_checks as enable_checks
from ._switches import enable_semantic_checks as enable_semantic_checks
from ._switches import semantic_checks_enabled as semantic_checks_enabled

__all__ = [
    "CHECKED_MARKER",
    "FROM_ANNOTATIONS",
    "TAG_ATTRIBUTE",
    "NeuralTypeAnnotationError",
    "NeuralTypeError",
    "SwitchScopeError",
    "TypecheckConf",
    "checks_enabled",
    "declares_types",
    "disable_checks",
    "disable_semantic_checks",
    "enable_checks",
    "enable_semantic_checks",
    "semantic_checks_enabled",
    "set_tag",
    "tag_of",
    "typecheck",
]
