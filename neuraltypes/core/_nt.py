"""``NT[Tensor, "B T C", Elem]``: the annotation syntax, and reading neural types back from annotations."""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from ._axes import AxisKind
from ._dtypes import DTYPE_FAMILIES
from ._elements import ElementType
from ._grammar import parse_axes
from ._neural_type import NeuralType

__all__ = ["NT", "neural_type_of", "reveal_neural_type"]

_T = TypeVar("_T")

if TYPE_CHECKING:
    # Three readers, three views of NT:
    # - mypy with the neuraltypes plugin: the plugin adds this name to mypy's `always_true`, so mypy skips the
    #   import and sees only the class below (the plugin hooks its full name and reads its subscriptions);
    # - mypy without the plugin cannot tell, analyses both branches and keeps the first binding: `Annotated`,
    #   so `NT[Tensor, ...]` is a plain `Tensor` and the strings are metadata, not forward references;
    # - pyright (Pylance, basedpyright) cannot tell either, and would prefer the class to the import (a class
    #   is a declaration with a type, an import is not): the class is therefore under `elif False`, which
    #   pyright knows to be dead and never binds, while mypy's semantic analysis still defines it (mypy
    #   decides `if` branches statically only by names such as `TYPE_CHECKING`, `MYPY` or its `always_true`).
    _NEURALTYPES_MYPY_PLUGIN = False
    if not _NEURALTYPES_MYPY_PLUGIN:
        from typing import Annotated as NT
    elif False:

        class NT:  # type: ignore[no-redef, unreachable, unused-ignore]
            """What mypy with the neuraltypes plugin sees: a class whose subscriptions the plugin reads."""

else:

    class NT:
        """The annotation of a typed tensor: ``NT[Tensor, "B T C", EncodedRepresentation, "float"]``.

        The element type and the dtype (a family such as ``"float"`` or a name such as ``"int64"``) are
        optional. At run time this is ``typing.Annotated[Tensor, NeuralType(...)]``; mypy with the
        neuraltypes plugin reads the same arguments statically.
        """

        __slots__ = ()

        def __new__(cls, *args: Any, **kwargs: Any) -> NT:
            raise TypeError('NT is an annotation: write NT[Tensor, "B T C", ElementType], do not call it')

        def __class_getitem__(cls, params: Any) -> Any:
            return _nt_annotation(params if isinstance(params, tuple) else (params,))


def reveal_neural_type(value: _T) -> _T:
    """Give back ``value``; under mypy with the neuraltypes plugin, note what the plugin knows of its type.

    The note spells the type as it would be written, sizes included: ``Neural type is NT[Tensor, "B T C//n_head",
    EncodedRepresentation]``, or ``Neural type is unknown`` for a tensor the plugin knows nothing of. Like
    ``reveal_type``, but in the user's spelling, and harmless when left in code that runs.
    """
    return value


@functools.lru_cache(maxsize=4096)
def _nt_annotation(params: tuple[Any, ...]) -> Any:
    if len(params) < 2 or not isinstance(params[1], str):
        raise TypeError(
            "NT takes a tensor type and an axes string, then optionally an element type and a dtype: "
            f'NT[Tensor, "B T C", EncodedRepresentation, "float"]; got NT{list(params)}'
        )
    tensor_type, axes, *rest = params
    if not isinstance(tensor_type, type):
        raise TypeError(f"NT's first argument must be a tensor class such as torch.Tensor, got {tensor_type!r}")
    element: ElementType | None = None
    dtype: Any = None
    for extra in rest:
        if isinstance(extra, type) and issubclass(extra, ElementType):
            extra = extra()
        if isinstance(extra, ElementType):
            if element is not None:
                raise TypeError(f"NT got two element types: {element} and {extra}")
            element = extra
        elif isinstance(extra, str) or _is_torch_dtype(extra):
            if dtype is not None:
                raise TypeError(f"NT got two dtypes: {dtype!r} and {extra!r}")
            dtype = extra
        else:
            raise TypeError(f"NT's extra arguments are an ElementType (class or instance) and a dtype, got {extra!r}")
    return Annotated[tensor_type, NeuralType(parse_axes(axes), element, dtype=dtype)]


def _is_torch_dtype(value: Any) -> bool:
    return type(value).__name__ == "dtype" and type(value).__module__ == "torch"


def neural_type_of(annotation: Any) -> NeuralType | None:
    """The neural type an annotation declares, or None if it declares none.

    Reads ``NT[...]``, a hand-written ``Annotated[Tensor, NeuralType(...)]``, ``Optional`` of either
    (the result is marked optional) and jaxtyping's ``Float[Tensor, "b c"]`` (axes and dtype only:
    jaxtyping's names are sizes, not kinds, so every axis has kind Any).
    """
    if typing.get_origin(annotation) is Annotated:
        for meta in annotation.__metadata__:
            if isinstance(meta, NeuralType):
                return meta
        return neural_type_of(typing.get_args(annotation)[0])
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        if len(members) == 1 and len(members) < len(typing.get_args(annotation)):
            inner = neural_type_of(members[0])
            if inner is not None:
                return NeuralType(inner.axes, inner.elements_type, True, dtype=inner.dtype)
        return None
    if _is_jaxtyping(annotation):
        return _from_jaxtyping(annotation)
    return None


def _is_jaxtyping(annotation: Any) -> bool:
    return isinstance(getattr(annotation, "dim_str", None), str) and type(annotation).__module__.startswith("jaxtyping")


def _from_jaxtyping(annotation: Any) -> NeuralType:
    try:
        parsed = parse_axes(annotation.dim_str)
    except ValueError as error:
        raise ValueError(f"cannot read the jaxtyping annotation {annotation!r}: {error}") from error
    axes = tuple(dataclasses.replace(axis, kind=AxisKind.Any) for axis in parsed)
    dtypes = getattr(annotation, "dtypes", None)
    dtype: str | None = None
    if isinstance(dtypes, (tuple, list)) and dtypes:
        known = DTYPE_FAMILIES["number"] | DTYPE_FAMILIES["bool"]
        dtype = "|".join(name for name in dtypes if name in known)
        if not dtype:  # a low-precision dtype only (Float8e4m3fn, Int4): do not drop the check silently
            raise ValueError(
                f"cannot check the jaxtyping annotation {annotation!r}: its dtypes ({', '.join(dtypes)}) are not "
                "among those neuraltypes checks; annotate without a dtype, or with one of theirs"
            )
    return NeuralType(axes, dtype=dtype)
