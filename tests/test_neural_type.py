"""NeuralType: NeMo's constructor rules and errors, equality and hashing, and every compare() case."""

import copy

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neuraltypes import (
    AcousticEncodedRepresentation,
    AudioSignal,
    AxisKind,
    AxisType,
    ChannelType,
    EncodedRepresentation,
    LabelsType,
    LogitsType,
    LogprobsType,
    NeuralType,
    NeuralTypeComparisonResult,
    ProbsType,
    VoidType,
)

R = NeuralTypeComparisonResult


def test_result_members_have_nemo_values() -> None:
    assert {r.name: r.value for r in R} == {
        "SAME": 0,
        "LESS": 1,
        "GREATER": 2,
        "DIM_INCOMPATIBLE": 3,
        "TRANSPOSE_SAME": 4,
        "CONTAINER_SIZE_MISMATCH": 5,
        "INCOMPATIBLE": 6,
        "SAME_TYPE_INCOMPATIBLE_PARAMS": 7,
        "UNCHECKED": 8,
    }


def test_defaults() -> None:
    t = NeuralType()
    assert t.axes is None and t.elements_type == VoidType() and t.optional is False and t.dtype is None


def test_axes_from_labels_strings_and_axis_types() -> None:
    from_labels = NeuralType(("B", "T", "D"), LogitsType())
    assert [a.kind for a in from_labels.axes or ()] == [AxisKind.Batch, AxisKind.Time, AxisKind.Dimension]
    assert NeuralType("B T D", LogitsType()) == from_labels
    from_types = NeuralType((AxisType(AxisKind.Batch), AxisType(AxisKind.Time, 5)))
    assert from_types.axes == (AxisType(AxisKind.Batch), AxisType(AxisKind.Time, 5))


def test_element_class_instead_of_instance_is_rejected_with_a_hint() -> None:
    with pytest.raises(ValueError, match="Did you pass a class instead"):
        NeuralType(("B",), LogitsType)  # type: ignore[arg-type]


def test_mixing_axis_types_then_strings_is_rejected() -> None:
    with pytest.raises(ValueError, match="Either use full class names or all strings"):
        NeuralType((AxisType(AxisKind.Batch), "T"))


def test_list_axes_must_come_first() -> None:
    NeuralType((AxisType(AxisKind.Batch, is_list=True), AxisType(AxisKind.Time)))
    with pytest.raises(ValueError, match="All list dimensions must precede Tensor dimensions"):
        NeuralType((AxisType(AxisKind.Time), AxisType(AxisKind.Batch, is_list=True)))


def test_axis_of_another_type_is_rejected() -> None:
    with pytest.raises(ValueError, match="axis type must be either str or AxisType instance"):
        NeuralType((3,))  # type: ignore[arg-type]


def test_label_naming_several_axes_is_rejected() -> None:
    with pytest.raises(ValueError, match="axis label 'B T' must name exactly one axis"):
        NeuralType(("B T",))


def test_unknown_dtype_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown dtype 'floaty'"):
        NeuralType("B", dtype="floaty")


def test_equality_is_a_real_boolean_and_types_hash() -> None:
    a, b = NeuralType("B T", LogitsType()), NeuralType("B T", LogitsType())
    assert (a == b) is True
    assert (a == NeuralType("B T", ProbsType())) is False
    assert (a == NeuralType("B T", LogitsType(), optional=True)) is False
    assert (a == "B T") is False
    assert len({a, b}) == 1


def test_immutable_and_copies_are_itself() -> None:
    t = NeuralType("B T", LogitsType())
    with pytest.raises(AttributeError, match="NeuralType is immutable"):
        t.optional = True  # type: ignore[misc]
    assert copy.copy(t) is t and copy.deepcopy(t) is t


def test_str_and_repr_are_readable() -> None:
    t = NeuralType("B T_enc D:80", AcousticEncodedRepresentation(), dtype="float")
    assert str(t) == 'NT[Tensor, "B T_enc D:80", AcousticEncodedRepresentation, "float"]'
    assert repr(t) == "NeuralType('B T_enc D:80', AcousticEncodedRepresentation(), dtype='float')"
    assert str(NeuralType(None, LabelsType(), optional=True)) == 'NT[Tensor, "...", LabelsType] | None'


# --- compare(): every case in the semantics reference ---------------------------------------------------------


def test_void_without_axes_accepts_anything() -> None:
    assert NeuralType().compare(NeuralType("B T D", LogitsType())) is R.SAME


def test_no_axes_compares_elements_only_if_incoming_has_none() -> None:
    assert NeuralType(None, LabelsType()).compare(NeuralType(None, LabelsType())) is R.SAME
    assert NeuralType(None, ChannelType()).compare(NeuralType(None, EncodedRepresentation())) is R.GREATER
    assert NeuralType(None, LabelsType()).compare(NeuralType(("B",), LabelsType())) is R.INCOMPATIBLE


def test_same_axes_give_the_element_result() -> None:
    declared = NeuralType(("B", "T", "D"), EncodedRepresentation())
    assert declared.compare(NeuralType(("B", "T", "D"), EncodedRepresentation())) is R.SAME
    assert declared.compare(NeuralType(("B", "T", "D"), AcousticEncodedRepresentation())) is R.GREATER
    assert declared.compare(NeuralType(("B", "T", "D"), ChannelType())) is R.LESS
    assert declared.compare(NeuralType(("B", "T", "D"), LogitsType())) is R.INCOMPATIBLE
    assert (
        NeuralType(("B",), AudioSignal(16000)).compare(NeuralType(("B",), AudioSignal(8000)))
        is R.SAME_TYPE_INCOMPATIBLE_PARAMS
    )


def test_transposed_axes() -> None:
    declared = NeuralType(("B", "T", "D"), EncodedRepresentation())
    assert declared.compare(NeuralType(("B", "D", "T"), EncodedRepresentation())) is R.TRANSPOSE_SAME
    assert declared.compare(NeuralType(("B", "D", "T"), LogitsType())) is R.INCOMPATIBLE


def test_sizes() -> None:
    assert NeuralType("D").compare(NeuralType("D:6")) is R.SAME
    assert NeuralType("D:6").compare(NeuralType("D")) is R.DIM_INCOMPATIBLE
    assert NeuralType("B D:6").compare(NeuralType("B D:7")) is R.DIM_INCOMPATIBLE
    assert NeuralType("B D:6", LogitsType()).compare(NeuralType("B D:7", ProbsType())) is R.INCOMPATIBLE


def test_different_lengths_or_kinds_are_incompatible() -> None:
    assert NeuralType("B T").compare(NeuralType("B T D")) is R.INCOMPATIBLE
    assert NeuralType("B T").compare(NeuralType("B H")) is R.INCOMPATIBLE
    assert NeuralType("B T").compare(NeuralType()) is R.INCOMPATIBLE


def test_any_axis_matches_any_kind() -> None:
    assert NeuralType(("B", "Any")).compare(NeuralType(("B", "D"))) is R.SAME


def test_any_axis_does_not_reset_earlier_mismatches() -> None:
    # NeMo reports SAME here (its Any axis resets the mismatch on T); fixed.
    assert NeuralType(("T", "Any")).compare(NeuralType(("B", "D"))) is R.INCOMPATIBLE


def test_void_incoming_into_typed_is_incompatible() -> None:
    assert NeuralType("B T", LogitsType()).compare(NeuralType("B T")) is R.INCOMPATIBLE
    assert NeuralType("B T").compare(NeuralType("B T", LogitsType())) is R.SAME


def test_list_axes_must_agree() -> None:
    listed = NeuralType((AxisType(AxisKind.Batch, is_list=True), AxisType(AxisKind.Time)))
    plain = NeuralType((AxisType(AxisKind.Batch), AxisType(AxisKind.Time)))
    # NeMo's algorithm: same kinds and sizes but a position differs (here the list flag) -> TRANSPOSE_SAME.
    assert listed.compare(plain) is R.TRANSPOSE_SAME
    assert listed.compare(listed) is R.SAME


def test_variadic_axes_absorb_the_middle() -> None:
    declared = NeuralType("*batch T D", LogprobsType())
    assert declared.compare(NeuralType("T D", LogprobsType())) is R.SAME
    assert declared.compare(NeuralType("B B T D", LogprobsType())) is R.SAME
    assert declared.compare(NeuralType("B D T", LogprobsType())) is R.INCOMPATIBLE
    assert declared.compare(NeuralType("D", LogprobsType())) is R.INCOMPATIBLE
    assert NeuralType("B ... D").compare(NeuralType("B *rest D")) is R.SAME


def test_accepted_means_same_or_greater() -> None:
    assert {r for r in R if r.accepted} == {R.SAME, R.GREATER}


# --- properties ---------------------------------------------------------------------------------------------

_labels = st.sampled_from(["B", "T", "D", "H", "W", "C", "T_enc", "vocab", "Any", "S", "seq"])
_elements = st.sampled_from(
    [VoidType(), LogitsType(), ProbsType(), ChannelType(), EncodedRepresentation(), AcousticEncodedRepresentation()]
)
_axes = st.lists(
    st.tuples(_labels, st.one_of(st.none(), st.integers(1, 4))).map(
        lambda t: t[0] if t[1] is None else f"{t[0]}:{t[1]}"
    ),
    max_size=4,
)
_types = st.builds(lambda axes, el: NeuralType(" ".join(axes), el), _axes, _elements)


@given(_types)
def test_compare_is_reflexive(t: NeuralType) -> None:
    assert t.compare(t) is R.SAME


@given(_types, _types)
def test_less_and_greater_mirror_each_other(a: NeuralType, b: NeuralType) -> None:
    """Where the axes accept each other both ways, LESS one way is GREATER the other (axes alone are directional:
    see the next test)."""
    forward, backward = a.compare(b), b.compare(a)
    axes_a, axes_b = NeuralType(a.axes), NeuralType(b.axes)
    axes_both_ways = axes_a.compare(axes_b) is R.SAME and axes_b.compare(axes_a) is R.SAME
    if axes_both_ways and forward is R.LESS:
        assert backward is R.GREATER
    if axes_both_ways and forward is R.GREATER:
        assert backward is R.LESS


def test_a_sized_axis_makes_the_comparison_directional() -> None:
    """NeMo's rule: ``B`` accepts ``B:1``, but ``B:1`` does not accept ``B`` (its size is not known to be 1). With
    element types ordered the other way, one direction is LESS and the other INCOMPATIBLE, not GREATER."""
    unsized, sized = NeuralType("B B", EncodedRepresentation()), NeuralType("B B:1", ChannelType())
    assert unsized.compare(sized) is R.LESS
    assert sized.compare(unsized) is R.INCOMPATIBLE


@given(_axes, _elements, st.randoms())
def test_transposition_is_symmetric(axes: list[str], element: object, rng: object) -> None:
    shuffled = list(axes)
    rng.shuffle(shuffled)  # type: ignore[attr-defined]
    a = NeuralType(" ".join(axes), element)  # type: ignore[arg-type]
    b = NeuralType(" ".join(shuffled), element)  # type: ignore[arg-type]
    assert (a.compare(b) is R.TRANSPOSE_SAME) == (b.compare(a) is R.TRANSPOSE_SAME)
