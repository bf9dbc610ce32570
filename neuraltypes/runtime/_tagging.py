"""The tagging rule as generated lines: after the return checks, the tensors the call made get the declared type.

A tensor the caller passed in is not tagged (it is the caller's), nor an ``nn.Parameter``; with NeMo's rule
(``replace``) every returned tensor but a parameter gets its port's type, replacing its tag.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from ._emitter import Emitter, joined
from ._lines import Code
from ._plan import CallerValue
from ._provenance import CONTAINERS, TAG_ATTRIBUTE, held_by
from ._specs import DictSpec, ListSpec, NamedTupleSpec, OptionalSpec, Spec, TensorSpec, TupleSpec, UnionSpec, tensors

__all__ = ["emit_tags", "has_tags"]

_NOT_A_PARAMETER = "{type}({v}) is not {parameter} and not {getattr}({v}, '_is_param', False)"


def has_tags(spec: Spec) -> bool:
    """Whether a tensor in ``spec`` has an element type, which the tensors the call makes are tagged with."""
    return any(tensor.tags for tensor in tensors(spec))


def emit_tags(
    emitter: Emitter, spec: Spec | None, v: str, callers: Mapping[str, CallerValue], *, replace: bool = False
) -> None:
    """Tag the tensors in ``v`` that the call made: not one the caller passed (``callers``: where those are, by
    local name), nor an ``nn.Parameter`` (a plain one, or one made from a tensor subclass). With ``replace``
    (NeMo's rule), every tensor but a parameter gets the declared type, replacing its tag."""
    if spec is None or not has_tags(spec):
        return
    match spec:
        case TensorSpec() if replace:
            _replace_tag(emitter, spec, v)
        case TensorSpec():
            _tag_if_made(emitter, spec, v, callers)
        case OptionalSpec(inner=inner):
            with emitter.block("if {v} is not None:", v=v):
                emit_tags(emitter, inner, v, callers, replace=replace)
        case UnionSpec(tensor=tensor):
            cls = emitter.const(tensor.tensor_class, "cls")
            with emitter.block("if {isinstance}({v}, {cls}):", v=v, cls=cls):
                emit_tags(emitter, tensor, v, callers, replace=replace)
        case ListSpec(inner=inner) | DictSpec(value=inner):
            item = emitter.temp("e")
            values = "{v}.values()" if isinstance(spec, DictSpec) else "{v}"
            with emitter.block(f"for {{item}} in {values}:", item=item, v=v):
                emit_tags(emitter, inner, item, callers, replace=replace)
        case TupleSpec() | NamedTupleSpec():
            for index, item_spec in spec.indexed():
                emit_tags(emitter, item_spec, f"{v}[{index}]", callers, replace=replace)


def _replace_tag(emitter: Emitter, spec: TensorSpec, v: str) -> None:
    parameter = emitter.const(torch.nn.Parameter, "cls")
    declared = emitter.const(spec.neural_type, "nt")
    emitter.emit(f"if {_NOT_A_PARAMETER}:", v=v, parameter=parameter)
    emitter.emit("    {v}.{attribute} = {declared}", v=v, attribute=TAG_ATTRIBUTE, declared=declared)


def _tag_if_made(emitter: Emitter, spec: TensorSpec, v: str, callers: Mapping[str, CallerValue]) -> None:
    """Tag an untagged tensor unless it is a parameter or the caller's: an argument itself, or held by one."""
    declared = emitter.const(spec.neural_type, "nt")
    guards: list[Code | str] = [f"{v} is not {name}" for name, where in callers.items() if where != "items"]
    guards.append(emitter.code(_NOT_A_PARAMETER, v=v, parameter=emitter.const(torch.nn.Parameter, "cls")))
    searched = {name: where for name, where in callers.items() if where != "is"}
    if searched:
        containers, held = emitter.const(CONTAINERS, "ctr"), emitter.const(held_by, "held")
        for name, where in searched.items():
            guards.append(
                emitter.code(
                    "not ({isinstance}({name}, {containers}) and {held}({v}, {name}{depth}))",
                    name=name,
                    containers=containers,
                    held=held,
                    v=v,
                    depth=", 0" if where == "items" else "",
                )
            )
    emitter.emit(
        "if {getattr}({v}, {attribute!r}, None) is None and {guards}:",
        v=v,
        attribute=TAG_ATTRIBUTE,
        guards=joined(" and ", guards),
    )
    emitter.emit("    {v}.{attribute} = {declared}", v=v, attribute=TAG_ATTRIBUTE, declared=declared)
