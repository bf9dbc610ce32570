"""torch's ``Tensor`` as the carrier of neural types: ``Tensor[Axes, Elements]``, unknown by default.

The plugin gives ``torch.Tensor`` two covariant type parameters whose defaults are ``Any``, while mypy analyses
torch itself. A bare ``Tensor`` (every torch op's result, every untyped helper) is then ``Tensor[Any, Any]``:
a tensor of unknown neural type, compatible both ways. ``NT[Tensor, "B T C", Enc]`` becomes
``Tensor[Literal['B T D'], Enc]``: the first argument spells the axis kinds only (so that spellings of the
same kinds, sizes and size variables never make mypy's own assignment and return checks fail) and the
user's full spelling of the axes and the dtype ride along as extra attributes, which mypy's subtype checks
ignore and its cache keeps.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

from mypy.nodes import COVARIANT, TypeInfo
from mypy.plugin import ClassDefContext
from mypy.types import (
    AnyType,
    ExtraAttrs,
    Instance,
    LiteralType,
    ProperType,
    Type,
    TypeOfAny,
    TypeVarId,
    TypeVarType,
    UnionType,
    get_proper_type,
)

from neuraltypes.core import AxisKind, AxisType, kind_letter, parse_axes

from ._names import TENSOR_FULLNAME

ELEMENT_TYPE_FULLNAME = "neuraltypes.core._elements.ElementType"
VOID_TYPE_FULLNAME = "neuraltypes.core._elements.VoidType"

# An axis of unknown kind and size, made by a rule (the output axis of ``nn.Linear``); accepted anywhere.
UNKNOWN_AXIS = "?"
_AXES_ATTR = "__neural_axes__"
_DTYPE_ATTR = "__neural_dtype__"
_ELEMENT_ATTR = "__neural_element__"
_NORMALIZED_ATTR = "__neural_normalized__"
_DECLARED_ATTR = "__neural_declared__"
"""Set on the result of a call of a typed function: its type is that function's declaration, not computed here."""
"""The position of the axis a softmax normalized over (its values sum to one along it)."""
_TYPE_PARAMETERS = ("_NeuralAxes", "_NeuralElements")


def make_tensor_generic(ctx: ClassDefContext) -> None:
    """The class-MRO hook for ``torch.Tensor``: add the two covariant parameters, defaulting to ``Any``."""
    info = ctx.cls.info
    if info.type_vars:
        return
    upper_bound = ctx.api.named_type("builtins.object")
    ctx.cls.type_vars = [
        TypeVarType(
            name,
            f"{info.fullname}.{name}",
            TypeVarId(index + 1, namespace=info.fullname),
            [],
            upper_bound,
            AnyType(TypeOfAny.special_form),
            COVARIANT,
        )
        for index, name in enumerate(_TYPE_PARAMETERS)
    ]
    info.type_vars = []
    info.add_type_vars()


class TensorView(NamedTuple):
    """What the plugin knows about one tensor type: any part may be unknown (None).

    Attributes:
        info: the tensor class (``torch.Tensor`` or a subclass).
        axes: the axes in the user's spelling, sizes substituted where a call bound them.
        element: the element type (an instance of an ``ElementType`` subclass).
        dtype: the dtype spec, normalized (``"float"``, ``"int64"``).
        normalized: the position of the axis the values were normalized over (``softmax(dim)``), kept by
            element-wise operations and moved by transposes; None when unknown or not normalized.
    """

    info: TypeInfo
    axes: str | None
    element: Instance | None
    dtype: str | None
    normalized: int | None = None

    @property
    def known(self) -> bool:
        return self.axes is not None or self.element is not None or self.dtype is not None


def is_tensor_info(info: TypeInfo) -> bool:
    return info.has_base(TENSOR_FULLNAME)


def tensor_view(typ: Type) -> TensorView | None:
    """The neural view of a type, or None when it is not a tensor (``Optional`` of a tensor counts)."""
    proper = get_proper_type(typ)
    if isinstance(proper, UnionType):
        items = [get_proper_type(item) for item in proper.items]
        tensors = [item for item in items if isinstance(item, Instance) and is_tensor_info(item.type)]
        if len(tensors) == 1:
            proper = tensors[0]
        elif tensors and len(tensors) == len(items):
            return _joined([view for view in map(tensor_view, tensors) if view is not None])
    if not isinstance(proper, Instance) or not is_tensor_info(proper.type):
        return None
    tensor = _tensor_instance(proper)
    if tensor is None or (tensor.extra_attrs is None and all(isinstance(arg, AnyType) for arg in tensor.args)):
        return TensorView(proper.type, None, None, None)  # the common case: a tensor of unknown neural type
    element = get_proper_type(tensor.args[1]) if len(tensor.args) > 1 else None
    if not isinstance(element, Instance) and tensor.extra_attrs is not None:
        element = get_proper_type(tensor.extra_attrs.attrs.get(_ELEMENT_ATTR))
    normalized = _extra_string(tensor, _NORMALIZED_ATTR)
    return TensorView(
        proper.type,
        _axes_of(tensor),
        element if isinstance(element, Instance) else None,
        _extra_string(tensor, _DTYPE_ATTR),
        int(normalized) if normalized is not None and normalized.isdigit() else None,
    )


def _joined(views: list[TensorView]) -> TensorView | None:
    """A union of tensor types (``x if c else y``): what the known alternatives agree on; an unknown
    alternative (a plain ``Tensor``) takes nothing away."""
    known = [view for view in views if view.known]
    if not known:
        return views[0] if views else None
    first = known[0]
    axes = first.axes if all(view.axes == first.axes for view in known) else None
    same_element = all(
        (view.element.type.fullname if view.element else None)
        == (first.element.type.fullname if first.element else None)
        for view in known
    )
    dtype = first.dtype if all(view.dtype == first.dtype for view in known) else None
    normalized = first.normalized if all(view.normalized == first.normalized for view in known) else None
    return TensorView(first.info, axes, first.element if same_element else None, dtype, normalized)


def _axes_of(tensor: Instance) -> str | None:
    spelled = _extra_string(tensor, _AXES_ATTR)
    return spelled if spelled is not None else _kinds_literal(tensor)


def _kinds_literal(tensor: Instance) -> str | None:
    """The kinds key as axes, when mypy dropped the spelling (a join: ``[a, b]``); it parses as axes too."""
    kinds = get_proper_type(tensor.args[0]) if tensor.args else None
    if isinstance(kinds, LiteralType) and isinstance(kinds.value, str):
        return kinds.value
    return None


def tensor_root_info(info: TypeInfo) -> TypeInfo:
    """``torch.Tensor``'s own TypeInfo, found from a subclass (``Parameter``) or itself."""
    for base in info.mro:
        if base.fullname == TENSOR_FULLNAME:
            return base
    return info


def _tensor_instance(instance: Instance) -> Instance | None:
    if instance.type.fullname == TENSOR_FULLNAME:
        return instance
    for base in instance.type.bases:
        if is_tensor_info(base.type):
            return _tensor_instance(base)
    return None


def _extra_string(instance: Instance, name: str) -> str | None:
    if instance.extra_attrs is None:
        return None
    value = get_proper_type(instance.extra_attrs.attrs.get(name))
    if isinstance(value, LiteralType) and isinstance(value.value, str):
        return value.value
    return None


def kinds_key(axes: tuple[AxisType, ...]) -> str | None:
    """The axis kinds as mypy compares them: ``"B T D"``; None when a wildcard axis makes it open."""
    letters: list[str] = []
    for axis in axes:
        if axis.variadic or axis.kind is AxisKind.Any or axis.is_list:
            return None
        letters.append(kind_letter(axis.kind))
    return " ".join(letters)


def parse_spelling(spelling: str) -> tuple[AxisType, ...]:
    """The axes of a spelling that may hold unknown axes (``?``, made by rules), read as anonymous axes.

    Raises:
        ValueError: the spelling does not parse.
    """
    return parse_axes(" ".join(_parseable(token) for token in spelling.split()))


def _parseable(token: str) -> str:
    """``?`` is ``_`` and ``?:n_head`` is ``_:n_head`` to the grammar: the plugin's unknown kinds."""
    if token == UNKNOWN_AXIS:
        return "_"
    return f"_{token[1:]}" if token.startswith(f"{UNKNOWN_AXIS}:") else token


def has_unknown_kind(spelling: str) -> bool:
    return any(token == UNKNOWN_AXIS or token.startswith(f"{UNKNOWN_AXIS}:") for token in spelling.split())


def build_tensor(
    tensor_info: TypeInfo,
    str_type: Instance,
    spelling: str | None,
    element: Instance | None,
    dtype: str | None,
    *,
    keyed: bool = True,
    element_keyed: bool = True,
    normalized: int | None = None,
    declared: bool = False,
) -> Instance:
    """The carrier ``Tensor[...]`` for a neural type; unknown parts become ``Any``.

    ``keyed=False`` leaves the kinds parameter ``Any`` (the spelling still rides along): the type of a tensor
    computed inside a function, which mypy's own assignment check must not compare with the variable's first
    type, since ``x = x.transpose(1, 2)`` and ``logits = logits[:, -1, :]`` are how people write code.
    """
    key: str | None = None
    if spelling is not None:
        try:
            key = _spelling_kinds_key(spelling) if keyed else None
        except ValueError:
            spelling = None
    axes_arg: ProperType = AnyType(TypeOfAny.special_form) if key is None else LiteralType(key, str_type)
    element_arg: ProperType = AnyType(TypeOfAny.special_form) if element is None or not element_keyed else element
    attrs: dict[str, Type] = {}
    if spelling is not None:
        attrs[_AXES_ATTR] = LiteralType(spelling, str_type)
    if dtype is not None:
        attrs[_DTYPE_ATTR] = LiteralType(dtype, str_type)
    if element is not None and not element_keyed:
        attrs[_ELEMENT_ATTR] = element
    if declared:
        attrs[_DECLARED_ATTR] = LiteralType("1", str_type)
    if normalized is not None and spelling is not None:
        attrs[_NORMALIZED_ATTR] = LiteralType(str(normalized), str_type)
    extra = ExtraAttrs(attrs, set(attrs)) if attrs else None
    return Instance(tensor_info, [axes_arg, element_arg], extra_attrs=extra)


@lru_cache(maxsize=4096)
def _spelling_kinds_key(spelling: str) -> str | None:
    """The kinds key of a spelling; None when an unknown or wildcard axis leaves it open.

    Raises:
        ValueError: the spelling does not parse.
    """
    axes = parse_spelling(spelling)
    return None if has_unknown_kind(spelling) else kinds_key(axes)


def is_declared_result(typ: Type) -> bool:
    """Whether ``typ`` is the declared result of a call of a typed function (see ``build_tensor``)."""
    proper = get_proper_type(typ)
    return isinstance(proper, Instance) and _extra_string(proper, _DECLARED_ATTR) is not None


def unknown_tensor(tensor_info: TypeInfo) -> Instance:
    """``Tensor[Any, Any]``: a tensor of unknown neural type."""
    return Instance(tensor_info, [AnyType(TypeOfAny.special_form), AnyType(TypeOfAny.special_form)])
