"""NeMo-style classes: input_types/output_types properties, kwargs-only calls, ports, tagging, types read once."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from beartype import BeartypeConf
from torch import Tensor, nn

from neuraltypes import (
    NT,
    AcousticEncodedRepresentation,
    AxisKind,
    AxisType,
    EncodedRepresentation,
    LengthsType,
    LogitsType,
    LogprobsType,
    NeuralType,
    SpectrogramType,
)
from neuraltypes.nn import Typing
from neuraltypes.runtime import NeuralTypeError, set_tag, tag_of, typecheck


class Encoder(Typing, nn.Module):
    """NeMo's style: types in properties, an unannotated forward."""

    property_reads = 0

    @property
    def input_types(self) -> dict[str, Any]:
        Encoder.property_reads += 1
        return {
            "audio_signal": NeuralType(("B", "D", "T"), SpectrogramType()),
            "length": NeuralType(tuple("B"), LengthsType()),
            "cache": NeuralType(("B", "D", "T"), optional=True),
        }

    @property
    def output_types(self) -> dict[str, Any]:
        return {
            "encoded": NeuralType(("B", "D", "T"), AcousticEncodedRepresentation()),
            "encoded_len": NeuralType(tuple("B"), LengthsType()),
        }

    @typecheck()
    def forward(self, audio_signal, length, cache=None):  # type: ignore[no-untyped-def]
        # Downsamples time by 2: NeMo reuses 'T' for both, so labels must not bind sizes.
        return audio_signal[:, :, ::2] * 1.0, length // 2


def test_kwargs_calls_pass_and_outputs_are_tagged() -> None:
    encoded, lengths = Encoder()(audio_signal=torch.ones(2, 80, 10), length=torch.tensor([10, 8]))
    assert encoded.shape == (2, 80, 5)
    assert tag_of(encoded) == NeuralType(("B", "D", "T"), AcousticEncodedRepresentation())
    assert tag_of(lengths) == NeuralType(tuple("B"), LengthsType())


def test_positional_arguments_are_refused_when_input_types_are_declared() -> None:
    with pytest.raises(NeuralTypeError) as error:
        Encoder()(torch.ones(2, 80, 10), torch.tensor([10, 8]))
    assert str(error.value).splitlines() == [
        "Encoder.forward() inputs: takes its typed inputs by keyword only (NeMo's rule for input_types)",
        "  expected: keyword arguments audio_signal, length, cache (optional)",
        "  got: 2 positional argument(s)",
        "  bindings: none",
    ]
    assert error.value.function == "Encoder.forward" and error.value.argument == "inputs"


def test_the_call_rules_errors_have_the_four_lines_of_every_failed_check() -> None:
    with pytest.raises(NeuralTypeError) as error:
        Encoder()(audio_signal=torch.ones(2, 80, 10), lengths=torch.ones(2))
    assert str(error.value).splitlines() == [
        "Encoder.forward() inputs: got undeclared input(s) 'lengths'",
        "  expected: keyword arguments audio_signal, length, cache (optional)",
        "  got: keyword arguments audio_signal, lengths",
        "  bindings: none",
    ]

    class Pair(Typing, nn.Module):
        output_types = property(lambda self: {"y": NeuralType(("B", "T")), "n": NeuralType(tuple("B"))})

        @typecheck()
        def forward(self, x):  # type: ignore[no-untyped-def]
            return x, x, x

    with pytest.raises(NeuralTypeError) as error:
        Pair()(torch.ones(2, 3))
    assert str(error.value).splitlines() == [
        "test_the_call_rules_errors_have_the_four_lines_of_every_failed_check.<locals>.Pair.forward() outputs: "
        "returned tuple of length 3, expected a tuple of 2 outputs (y, n)",
        "  expected: a tuple of 2 outputs (y, n)",
        "  got: tuple of length 3",
        "  bindings: none",
    ]


class _Refused(Exception):
    pass


def test_beartypes_configured_exception_type_and_ordinary_hints_apply_in_nemo_mode() -> None:
    class Scaler(Typing, nn.Module):
        input_types = property(lambda self: {"x": NeuralType(("B", "T"))})

        @typecheck(conf=BeartypeConf(violation_type=_Refused))
        def forward(self, *, x):  # type: ignore[no-untyped-def]
            return x

    with pytest.raises(_Refused, match=r"input 'x': has 1 axes, expected 2"):
        Scaler()(x=torch.ones(2))
    with pytest.raises(_Refused, match=r"inputs: takes its typed inputs by keyword only"):
        Scaler()(torch.ones(2, 3))

    class Repeater(Typing, nn.Module):  # output types only: the other parameters are ordinary ones
        output_types = property(lambda self: {"y": NeuralType(("B", "T"))})

        @typecheck(conf=BeartypeConf(violation_type=_Refused))
        def forward(self, x, times: int = 1):  # type: ignore[no-untyped-def]
            return x.repeat(1, times) if times > 1 else x.sum(-1)

    assert Repeater()(torch.ones(2, 3), times=2).shape == (2, 6)
    with pytest.raises(_Refused, match=r"parameter 'times'.*violates type hint <class 'int'>"):
        Repeater()(torch.ones(2, 3), times=2.5)
    with pytest.raises(_Refused, match=r"output 'y': has 1 axes, expected 2"):
        Repeater()(torch.ones(2, 3))


def test_a_missing_mandatory_input_and_an_undeclared_one_are_refused() -> None:
    with pytest.raises(NeuralTypeError, match=r"is missing the mandatory input\(s\) 'length'"):
        Encoder()(audio_signal=torch.ones(2, 80, 10))
    with pytest.raises(NeuralTypeError, match=r"got undeclared input\(s\) 'lengths'"):
        Encoder()(audio_signal=torch.ones(2, 80, 10), length=torch.ones(2), lengths=torch.ones(2))


def test_an_optional_input_may_be_omitted_or_none() -> None:
    Encoder()(audio_signal=torch.ones(2, 80, 10), length=torch.tensor([10, 8]), cache=None)
    with pytest.raises(NeuralTypeError, match=r"input 'cache': has 2 axes, expected 3"):
        Encoder()(audio_signal=torch.ones(2, 80, 10), length=torch.tensor([10, 8]), cache=torch.ones(2, 3))


def test_ranks_and_carried_types_are_checked() -> None:
    with pytest.raises(NeuralTypeError) as error:
        Encoder()(audio_signal=torch.ones(2, 80), length=torch.tensor([10, 8]))
    assert str(error.value).splitlines() == [
        "Encoder.forward() input 'audio_signal': has 2 axes, expected 3 (B D T)",
        '  expected: NT[Tensor, "B D T", SpectrogramType]',
        "  got: Tensor of shape (2, 80), float32",
        "  bindings: none",
    ]
    logits = set_tag(torch.ones(2, 80, 10), NeuralType(("B", "D", "T"), LogitsType()))
    with pytest.raises(
        NeuralTypeError, match=r"input 'audio_signal': carries the neural type NT\[Tensor, \"B D T\", LogitsType\]"
    ):
        Encoder()(audio_signal=logits, length=torch.tensor([10, 8]))


def test_declared_sizes_are_checked_not_only_ranks() -> None:
    class Fixed(Typing, nn.Module):
        @property
        def input_types(self) -> dict[str, Any]:
            return {"x": NeuralType((AxisType(AxisKind.Batch), AxisType(AxisKind.Dimension, 80)))}

        @typecheck()
        def forward(self, x):  # type: ignore[no-untyped-def]
            return x

    Fixed()(x=torch.ones(3, 80))
    with pytest.raises(NeuralTypeError, match=r"input 'x': axis 1 has size 81, expected 80"):
        Fixed()(x=torch.ones(3, 81))


def test_outputs_are_checked_too() -> None:
    class Head(Typing, nn.Module):
        @property
        def output_types(self) -> dict[str, Any]:
            return {"y": NeuralType(("B", "T"), EncodedRepresentation()), "n": NeuralType(tuple("B"))}

        @typecheck()
        def forward(self, x, n):  # type: ignore[no-untyped-def]
            return x * 2, n

    y, _ = Head()(torch.ones(2, 3), torch.ones(2))  # output types only: positional calls pass (NeMo)
    assert tag_of(y) == NeuralType(("B", "T"), EncodedRepresentation())
    with pytest.raises(NeuralTypeError, match=r"output 'n': has 2 axes, expected 1"):
        Head()(torch.ones(2, 3), torch.ones(2, 3))

    class Single(Typing, nn.Module):
        output_types = property(lambda self: {"y": NeuralType(("B", "T")), "n": NeuralType(tuple("B"))})

        @typecheck()
        def forward(self, x):  # type: ignore[no-untyped-def]
            return x

    with pytest.raises(NeuralTypeError, match=r"returned Tensor, expected a tuple of 2 outputs \(y, n\)"):
        Single()(torch.ones(2, 3))


def test_a_returned_input_is_tagged_with_the_output_type_as_in_nemo() -> None:
    class Passthrough(Typing, nn.Module):
        @property
        def input_types(self) -> dict[str, Any]:
            return {"x": NeuralType(("B", "T")), "extra": [NeuralType(("B", "T"))]}

        @property
        def output_types(self) -> dict[str, Any]:
            return {"y": NeuralType(("B", "T"), EncodedRepresentation())}

        @typecheck()
        def forward(self, x, extra):  # type: ignore[no-untyped-def]
            return extra[0] if extra else x

    mine, inside = torch.ones(2, 3), set_tag(torch.ones(2, 3), NeuralType(("B", "T"), AcousticEncodedRepresentation()))
    assert Passthrough()(x=mine, extra=[]) is mine
    assert Passthrough()(x=mine, extra=[inside]) is inside
    # NeMo's rule: what the method returns is what its output port says, the caller's tensors too, replacing a tag.
    assert tag_of(mine) == NeuralType(("B", "T"), EncodedRepresentation())
    assert tag_of(inside) == NeuralType(("B", "T"), EncodedRepresentation())


def test_a_parameter_returned_is_not_tagged() -> None:
    class Table(Typing, nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.weight = nn.Parameter(torch.ones(2, 3))

        @property
        def output_types(self) -> dict[str, Any]:
            return {"y": NeuralType(("B", "T"), EncodedRepresentation())}

        @typecheck()
        def forward(self):  # type: ignore[no-untyped-def]
            return self.weight

    table = Table()
    assert tag_of(table()) is None  # a weight may be shared (tied) with modules that declare it otherwise


def test_one_tensor_returned_under_two_exclusive_output_types_is_refused() -> None:
    class Both(Typing, nn.Module):
        @property
        def output_types(self) -> dict[str, Any]:
            return {"logits": NeuralType(("B", "D"), LogitsType()), "logprobs": NeuralType(("B", "D"), LogprobsType())}

        @typecheck()
        def forward(self, x):  # type: ignore[no-untyped-def]
            return x, x

    message = (
        r"outputs: returned one tensor as both output 'logits' and output 'logprobs', whose types exclude each "
        r"other\n  expected: distinct tensors \('logits': NT\[Tensor, \"B D\", LogitsType\], "
        r"'logprobs': NT\[Tensor, \"B D\", LogprobsType\]\)"
    )
    with pytest.raises(NeuralTypeError, match=message):
        Both()(torch.ones(2, 3))


def test_nemo_list_convention_in_declared_types() -> None:
    class Batcher(Typing, nn.Module):
        @property
        def input_types(self) -> dict[str, Any]:
            return {"chunks": [NeuralType(("T", "D"))]}

        @typecheck()
        def forward(self, chunks):  # type: ignore[no-untyped-def]
            return len(chunks)

    assert Batcher()(chunks=[torch.ones(3, 4), torch.ones(5, 4)]) == 2
    with pytest.raises(NeuralTypeError, match=r"input 'chunks': expected a list or tuple, got Tensor"):
        Batcher()(chunks=torch.ones(3, 4))
    with pytest.raises(NeuralTypeError, match=r"input 'chunks'\[1\]: has 1 axes, expected 2"):
        Batcher()(chunks=[torch.ones(3, 4), torch.ones(5)])


def test_types_are_read_once_per_class() -> None:
    encoder = Encoder()
    before = Encoder.property_reads
    for _ in range(5):
        encoder(audio_signal=torch.ones(2, 80, 10), length=torch.tensor([10, 8]))
        Encoder()(audio_signal=torch.ones(2, 80, 10), length=torch.tensor([10, 8]))
    assert Encoder.property_reads - before <= 1


def test_decorator_arguments_declare_the_types() -> None:
    class Explicit:
        @typecheck(input_types={"x": NeuralType(("B", "T"))})
        def run(self, x):  # type: ignore[no-untyped-def]
            return x

    Explicit().run(x=torch.ones(2, 3))
    with pytest.raises(NeuralTypeError, match="has 1 axes"):
        Explicit().run(x=torch.ones(2))


def test_a_method_without_declared_types_is_checked_by_its_hints() -> None:
    class Plain:
        @typecheck
        def run(self, n: int) -> int:
            return n

        input_types = None

    assert Plain().run(3) == 3
    with pytest.raises(NeuralTypeError, match="parameter 'n'"):
        Plain().run("3")  # type: ignore[arg-type]


def test_annotated_forward_is_not_put_in_kwargs_only_mode() -> None:
    class Annotated(Typing, nn.Module):
        @property
        def input_types(self) -> dict[str, Any]:
            return {"x": NeuralType(("B", "T"))}

        @typecheck
        def forward(self, x: NT[Tensor, "B T"]) -> NT[Tensor, "B T"]:
            return x

    assert Annotated()(torch.ones(2, 3)).shape == (2, 3)  # positional: annotation mode


def test_properties_derived_from_annotations_do_not_trigger_nemo_mode() -> None:
    def derived(self: Any) -> dict[str, Any]:
        return {"x": NeuralType(("B", "T"))}

    derived._neural_types_from_annotations = True  # type: ignore[attr-defined]

    class Derived(Typing, nn.Module):
        input_types = property(derived)

        @typecheck
        def forward(self, x):  # type: ignore[no-untyped-def]
            return x

    assert Derived()(torch.ones(2)).shape == (2,)


def test_a_method_of_a_class_without_declared_types_keeps_its_defaults() -> None:
    class Plain(Typing, nn.Module):  # no input_types/output_types: the ordinary hints are checked, by beartype
        @typecheck()
        def forward(self, x, times: int = 3, *, scale: float = 0.5):  # type: ignore[no-untyped-def]
            return x * times * scale

    assert torch.equal(Plain()(torch.ones(2)), torch.full((2,), 1.5))
    with pytest.raises(NeuralTypeError, match=r"parameter 'times'"):
        Plain()(torch.ones(2), "3")


def test_trailing_optional_outputs_may_be_left_out_and_outputs_may_be_a_list() -> None:
    class Streaming(Typing, nn.Module):  # as NeMo's Conformer encoder: the cache comes back only when one went in
        output_types = property(
            lambda self: {
                "encoded": NeuralType(("B", "T"), EncodedRepresentation()),
                "lengths": NeuralType(tuple("B"), LengthsType()),
                "cache": NeuralType(("B", "T"), optional=True),
            }
        )

        @typecheck()
        def forward(self, x, cache=None):  # type: ignore[no-untyped-def]
            outputs = [x * 2, torch.ones(x.shape[0])]
            return tuple(outputs) if cache is None else [*outputs, cache * 1]

    encoded, lengths = Streaming()(torch.ones(2, 3))
    assert tag_of(encoded) == NeuralType(("B", "T"), EncodedRepresentation())
    assert tag_of(lengths) == NeuralType(tuple("B"), LengthsType())
    assert len(Streaming()(torch.ones(2, 3), torch.ones(2, 4))) == 3
    with pytest.raises(NeuralTypeError, match=r"output 'cache': has 1 axes, expected 2"):
        Streaming()(torch.ones(2, 3), torch.ones(2))

    class Short(Typing, nn.Module):
        output_types = Streaming.output_types

        @typecheck()
        def forward(self, x):  # type: ignore[no-untyped-def]
            return (x * 2,)

    with pytest.raises(NeuralTypeError, match=r"returned tuple of length 1, expected a tuple of 2 to 3 outputs"):
        Short()(torch.ones(2, 3))


def test_a_list_port_takes_a_tuple_too() -> None:
    class Batcher(Typing, nn.Module):
        input_types = property(lambda self: {"chunks": [NeuralType(("T", "D"))]})

        @typecheck()
        def forward(self, chunks):  # type: ignore[no-untyped-def]
            return len(chunks)

    assert Batcher()(chunks=(torch.ones(3, 4), torch.ones(5, 4))) == 2
    with pytest.raises(NeuralTypeError, match=r"input 'chunks': expected a list or tuple, got Tensor"):
        Batcher()(chunks=torch.ones(3, 4))


def test_outputs_that_are_all_optional_may_all_be_left_out() -> None:
    class Probe(Typing, nn.Module):
        output_types = property(
            lambda self: {"a": NeuralType(("B", "T"), optional=True), "b": NeuralType(("B",), optional=True)}
        )

        @typecheck()
        def forward(self, x, count):  # type: ignore[no-untyped-def]
            return (x, x.sum(-1))[:count]

    assert Probe()(torch.ones(2, 3), 0) == ()
    assert len(Probe()(torch.ones(2, 3), 1)) == 1
    with pytest.raises(NeuralTypeError, match=r"output 'a': has 1 axes, expected 2"):
        Probe()(torch.ones(2), 1)
