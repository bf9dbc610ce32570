"""AxisKind and AxisType: NeMo's members, labels and constructor rules."""

import enum

import pytest

from neuraltypes import AxisKind, AxisKindAbstract, AxisType, NamedAxisKind, NeuralType, axis_kind_of_name
from neuraltypes.core import NeuralPortNmTensorMismatchError, surprising_kind, surprising_kinds


def test_members_have_nemo_values() -> None:
    assert {k.name: k.value for k in AxisKind} == {
        "Batch": 0,
        "Time": 1,
        "Dimension": 2,
        "Width": 3,
        "Height": 4,
        "Any": 5,
        "Sequence": 6,
        "FlowGroup": 7,
        "Singleton": 8,
    }


def test_channel_is_an_alias_of_dimension() -> None:
    assert AxisKind.Channel is AxisKind.Dimension


@pytest.mark.parametrize(
    ("label", "kind"),
    [
        ("b", AxisKind.Batch),
        ("N", AxisKind.Batch),
        (" batch ", AxisKind.Batch),
        ("T", AxisKind.Time),
        ("time", AxisKind.Time),
        ("t_enc", AxisKind.Time),
        ("T_x", AxisKind.Time),
        ("d", AxisKind.Dimension),
        ("C", AxisKind.Dimension),
        ("channel", AxisKind.Dimension),
        ("dim", AxisKind.Dimension),
        ("dimension", AxisKind.Dimension),
        ("w", AxisKind.Width),
        ("Width", AxisKind.Width),
        ("h", AxisKind.Height),
        ("height", AxisKind.Height),
        ("S", AxisKind.Singleton),
        ("singleton", AxisKind.Singleton),
        ("seq", AxisKind.Sequence),
        ("sequence", AxisKind.Sequence),
        ("flowgroup", AxisKind.FlowGroup),
        ("any", AxisKind.Any),
    ],
)
def test_from_str_follows_nemo_rules(label: str, kind: AxisKind) -> None:
    assert AxisKind.from_str(label) is kind


@pytest.mark.parametrize("label", ["t_", "x", "sequences", "vocab", ""])
def test_from_str_rejects_unknown_labels(label: str) -> None:
    with pytest.raises(ValueError, match=f"Can't create AxisKind from {label!r}"):
        AxisKind.from_str(label)


def test_str_of_every_kind_parses_back() -> None:
    for kind in AxisKind:
        assert str(kind) == kind.name.lower()
        assert AxisKind.from_str(str(kind)) is kind


def test_t_with_string() -> None:
    assert AxisKind.Time.t_with_string("t_time_")
    assert not AxisKind.Time.t_with_string("t_batch_")


def test_user_kinds_subclass_the_abstract_enum() -> None:
    class MyKinds(AxisKindAbstract):
        Heads = enum.auto()

    axis = AxisType(MyKinds.Heads, 8)
    assert axis.kind is MyKinds.Heads and str(axis.kind) == "heads"


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("d_model", AxisKind.Dimension),
        ("C_in", AxisKind.Dimension),
        ("B_x", AxisKind.Batch),
        ("H_out", AxisKind.Height),
        ("n_heads", NamedAxisKind("n_heads")),
        ("vocab", NamedAxisKind("vocab")),
        ("Vocab", NamedAxisKind("vocab")),
    ],
)
def test_names_in_axes_strings_map_to_kinds(name: str, kind: object) -> None:
    assert axis_kind_of_name(name) == kind


def test_axis_type_defaults_and_string_kind() -> None:
    axis = AxisType("T")
    assert (axis.kind, axis.size, axis.is_list) == (AxisKind.Time, None, False)


def test_axis_type_rejects_size_with_list() -> None:
    with pytest.raises(ValueError, match="The axis can't be list and have a fixed size"):
        AxisType(AxisKind.Batch, 3, True)


@pytest.mark.parametrize("size", [-1, 2.5, True])
def test_axis_type_rejects_bad_sizes(size: object) -> None:
    with pytest.raises(ValueError, match="axis size must be a non-negative int or None"):
        AxisType(AxisKind.Batch, size)  # type: ignore[arg-type]


def test_axis_type_is_immutable_and_hashable() -> None:
    axis = AxisType(AxisKind.Batch, 4)
    assert hash(axis) == hash(AxisType(AxisKind.Batch, 4))
    with pytest.raises(AttributeError):
        axis.size = 5  # type: ignore[misc]


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("H", AxisKind.Height),  # heads, in most attention code
        ("h", AxisKind.Height),
        ("N", AxisKind.Batch),  # tokens, in ViT code
        ("n", AxisKind.Batch),
        ("S", AxisKind.Singleton),  # sequence or source length
        ("s", AxisKind.Singleton),
        ("W", AxisKind.Width),
        ("w", AxisKind.Width),
        ("h_out", AxisKind.Height),
        ("w_in", AxisKind.Width),
    ],
)
def test_a_one_letter_kind_that_ml_code_uses_otherwise_is_surprising(name: str, kind: AxisKind) -> None:
    assert surprising_kind(name) is kind


@pytest.mark.parametrize(
    "name",
    ["B", "b", "T", "t", "D", "d", "C", "c", "batch", "Time", "height", "width", "singleton", "seq", "channel", "dim",
     "t_enc", "T_k", "d_model", "C_in", "b_x", "heads", "vocab", "n_heads", "s_len", "any", "flowgroup"],
)  # fmt: skip
def test_a_name_that_says_its_kind_or_has_its_own_is_not(name: str) -> None:
    assert surprising_kind(name) is None


def test_messages_list_each_surprising_name_once_in_order() -> None:
    assert surprising_kinds("b n d", "B T D") == "n (Batch)"
    assert surprising_kinds("B H T D//H", "B T H*D") == "H (Height)"
    assert surprising_kinds("#W S:1 (h+1)//2 _:C//h *n ...") == "W (Width), S (Singleton), h (Height)"
    assert surprising_kinds("B ?:n_head T", "B T C") == ""  # the plugin's unknown axes read as far as they go


def test_nemo_port_mismatch_shows_the_surprising_kinds_where_axes_differ() -> None:
    declared, incoming = NeuralType("B T D"), NeuralType("B H D")
    error = NeuralPortNmTensorMismatchError("Block", "x", declared, incoming, declared.compare(incoming))
    assert str(error).endswith("\n  axis kinds: H (Height)")
    same_axes = NeuralPortNmTensorMismatchError("Block", "x", NeuralType("B H D"), incoming, "INCOMPATIBLE")
    assert "axis kinds" not in str(same_axes)
