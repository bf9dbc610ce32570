"""NeMo's ``@typecheck`` behaviours that NeMo's own tests rely on: ports that change per instance or per call,
``ignore_collections``, a single list output wrapped in a tuple, NeMo's global switches, and what is refused."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import torch
from torch import nn

from neuraltypes import ChannelType, ElementType, LabelsType, LogitsType, NeuralType
from neuraltypes.nn import Typing
from neuraltypes.runtime import NeuralTypeError, checks_enabled, semantic_checks_enabled, set_tag, tag_of, typecheck


class Modal(Typing):
    """NeMo's test_multi_forward_type: the ports depend on ``self.mode``."""

    def __init__(self, mode: str) -> None:
        self.mode = mode

    @property
    def input_types(self) -> dict[str, Any]:
        if self.mode == "train":
            return {"x": NeuralType(("B",), ElementType())}
        return {"x": NeuralType(("B",), ElementType()), "y": NeuralType(("B",), ChannelType())}

    @property
    def output_types(self) -> dict[str, Any]:
        if self.mode == "train":
            return {"u": NeuralType(("B",), ElementType())}
        return {"u": NeuralType(("B",), ElementType()), "v": NeuralType(("B",), ChannelType())}

    @typecheck()
    def __call__(self, x, y=None):  # type: ignore[no-untyped-def]
        return x + 1 if y is None else (x - 1, y - 1)


def test_ports_that_read_self_are_read_on_every_call() -> None:
    train, evaluate = Modal("train"), Modal("eval")
    assert train(x=torch.zeros(3)).tolist() == [1.0, 1.0, 1.0]
    _, v = evaluate(x=torch.zeros(3), y=torch.zeros(3))  # a second instance of the class, with other ports
    assert tag_of(v) == NeuralType(("B",), ChannelType())
    with pytest.raises(NeuralTypeError, match=r"got undeclared input\(s\) 'y'"):
        train(x=torch.zeros(3), y=torch.zeros(3))
    train.mode = "eval"  # the same instance, switched
    u, _ = train(x=torch.zeros(3), y=torch.zeros(3))
    assert tag_of(u) == NeuralType(("B",), ElementType())
    with pytest.raises(NeuralTypeError, match=r"missing the mandatory input\(s\) 'y'"):
        train(x=torch.zeros(3))


def test_ports_built_from_an_instance_attribute_follow_each_instance() -> None:
    class Aggregator(Typing):  # as NeMo's AggregatorLoss: one input port per aggregated loss
        def __init__(self, count: int) -> None:
            self.count = count

        @property
        def input_types(self) -> dict[str, Any]:
            return {f"loss_{i + 1}": NeuralType(elements_type=ElementType()) for i in range(self.count)}

        @typecheck()
        def __call__(self, **losses):  # type: ignore[no-untyped-def]
            return sum(losses.values())

    assert Aggregator(2)(loss_1=torch.tensor(1.0), loss_2=torch.tensor(2.0)).item() == 3.0
    assert Aggregator(3)(loss_1=torch.tensor(1.0), loss_2=torch.tensor(2.0), loss_3=torch.tensor(3.0)).item() == 6.0
    with pytest.raises(NeuralTypeError, match=r"missing the mandatory input\(s\) 'loss_3'"):
        Aggregator(3)(loss_1=torch.tensor(1.0), loss_2=torch.tensor(2.0))


def test_constant_ports_are_read_once_for_the_class() -> None:
    reads: list[int] = []

    class Constant(Typing):
        @property
        def input_types(self) -> dict[str, Any]:  # does not read self: the answer cannot change
            reads.append(1)
            return {"x": NeuralType(("B",), ElementType())}

        @typecheck()
        def __call__(self, x):  # type: ignore[no-untyped-def]
            return x * 2

    for _ in range(3):
        Constant()(x=torch.zeros(2))
    assert len(reads) == 1


def test_ignore_collections_checks_every_tensor_in_nested_lists() -> None:
    class Nested(Typing):
        def __init__(self, rank: int = 2) -> None:
            self.rank = rank

        @property
        def input_types(self) -> dict[str, Any]:
            return {"x": NeuralType(("B",), ElementType())}

        @property
        def output_types(self) -> dict[str, Any]:
            return {"y0": NeuralType(("B", "D"), LogitsType()), "y1": NeuralType(("B", "D"), LogitsType())}

        @typecheck(ignore_collections=True)
        def __call__(self, x):  # type: ignore[no-untyped-def]
            y = torch.randn(x[0][0].shape[0], *([4] * (self.rank - 1)))
            return [[y, y], [y]]

    y0, y1 = Nested()(x=[[torch.zeros(5), torch.zeros(5)], [torch.zeros(5)]])
    assert all(tag_of(t) == NeuralType(("B", "D"), LogitsType()) for t in [*y0, *y1])
    with pytest.raises(NeuralTypeError, match=r"input 'x': has 2 axes, expected 1"):
        Nested()(x=[[torch.zeros(5)], [torch.zeros(5, 2)]])
    with pytest.raises(NeuralTypeError, match=r"output 'y0': has 3 axes, expected 2"):
        Nested(rank=3)(x=[[torch.zeros(5)]])


def test_a_single_list_output_may_be_wrapped_in_a_one_tuple() -> None:
    class Wrapped(Typing):
        @property
        def output_types(self) -> dict[str, Any]:
            return {"y": [NeuralType(("B", "D"), LogitsType())]}

        @typecheck()
        def __call__(self, x):  # type: ignore[no-untyped-def]
            y = torch.randn(x.shape[0], 4)
            return ([y, y],)

    (items,) = Wrapped()(x=torch.zeros(3))
    assert [tag_of(t) for t in items] == [NeuralType(("B", "D"), LogitsType())] * 2


def test_an_annotation_that_is_not_a_type_hint_is_refused_when_decorated() -> None:
    with pytest.raises(TypeError, match=r"the annotation of parameter 'x' is \[\], an instance of list, not a type"):

        @typecheck
        def total(x: list()) -> int:  # type: ignore[valid-type]
            return len(x)


def test_nemo_ports_ignore_the_ordinary_annotations_of_port_parameters() -> None:
    class Ported(Typing):
        @property
        def input_types(self) -> dict[str, Any]:
            return {"x": [NeuralType(("B",), ElementType())]}

        @typecheck()
        def __call__(self, x: list()):  # type: ignore[valid-type,no-untyped-def]
            return torch.stack(x)

    assert Ported()(x=[torch.ones(2), torch.ones(2)]).shape == (2, 2)

    class Unported(Typing):  # no ports: the invalid hint is reported on the first call
        @typecheck()
        def __call__(self, x: list()):  # type: ignore[valid-type,no-untyped-def]
            return x

    with pytest.raises(TypeError, match=r"Unported.__call__: the annotation of parameter 'x' is \[\]"):
        Unported()(x=[])


def test_ports_on_a_class_that_is_not_typing_are_refused_as_in_nemo() -> None:
    class NotTyping(nn.Module):
        @property
        def input_types(self) -> dict[str, Any]:
            return {"x": NeuralType(("B",), ElementType())}

        @typecheck()
        def forward(self, x):  # type: ignore[no-untyped-def]
            return x

    with pytest.raises(RuntimeError, match=r"NotTyping declares input_types/output_types but does not inherit"):
        NotTyping()(x=torch.zeros(2))


def test_nemos_setters_switch_this_thread_until_switched_back() -> None:
    class Checked(Typing):
        @property
        def input_types(self) -> dict[str, Any]:
            return {"x": NeuralType(("B",), LabelsType())}

        @typecheck()
        def __call__(self, x):  # type: ignore[no-untyped-def]
            return x

    tagged = set_tag(torch.zeros(2), NeuralType(("B",), LogitsType()))
    seen_in_other_thread: list[bool] = []
    try:
        typecheck.set_semantic_check_enabled(False)
        assert not semantic_checks_enabled() and checks_enabled()
        Checked()(x=tagged)  # logits where labels are declared: not refused with semantic checks off
        with typecheck.disable_checks():
            assert not checks_enabled()
        assert checks_enabled() and not semantic_checks_enabled()  # the setter's state outlives the block
        typecheck.set_typecheck_enabled(False)
        Checked()(torch.zeros(2))  # positional: not refused with checks off
        other = threading.Thread(target=lambda: seen_in_other_thread.append(checks_enabled()))
        other.start()
        other.join()
        typecheck.enable_wrapping(True)  # NeMo's name for turning checks on again
        assert checks_enabled()
    finally:
        typecheck.set_typecheck_enabled(True)
        typecheck.set_semantic_check_enabled(True)
    assert seen_in_other_thread == [True]  # unlike NeMo's, the setters switch this thread only
    with pytest.raises(NeuralTypeError, match="LogitsType"):
        Checked()(x=tagged)
    with pytest.raises(TypeError, match="expected True or False, got 'no'"):
        typecheck.set_typecheck_enabled("no")  # type: ignore[arg-type]
