"""The axes grammar: every form, its errors, caching, and parse -> str -> parse."""

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from neuraltypes import AxesSyntaxError, AxisKind, AxisType, BinOp, Const, NamedAxisKind, Var, format_axes, parse_axes


def test_nemo_kinds_and_size_variables() -> None:
    assert parse_axes("B T C") == (
        AxisType(AxisKind.Batch, name="B"),
        AxisType(AxisKind.Time, name="T"),
        AxisType(AxisKind.Dimension, name="C"),
    )


def test_t_enc_is_another_time_axis_with_its_own_size_variable() -> None:
    t, t_enc = parse_axes("T T_enc")
    assert t.kind is t_enc.kind is AxisKind.Time
    assert (t.name, t_enc.name) == ("T", "T_enc")


def test_fixed_sizes() -> None:
    assert parse_axes("D:80 3") == (AxisType(AxisKind.Dimension, 80, name="D"), AxisType(AxisKind.Any, 3))


def test_each_form_alone() -> None:
    assert parse_axes("*batch") == (AxisType(AxisKind.Any, name="batch", variadic=True),)
    assert parse_axes("...") == (AxisType(AxisKind.Any, variadic=True),)
    assert parse_axes("_") == (AxisType(AxisKind.Any),)
    assert parse_axes("#B") == (AxisType(AxisKind.Batch, name="B", broadcast=True),)


def test_arithmetic_is_parsed_into_an_expression_without_eval() -> None:
    (axis,) = parse_axes("(T+1)//2")
    assert axis.kind is AxisKind.Time
    assert axis.expr == BinOp("//", BinOp("+", Var("T"), Const(1)), Const(2))
    assert axis.expr.evaluate({"T": 9}) == 5
    assert parse_axes("2*D")[0].expr.variables() == ("D",)  # type: ignore[union-attr]


def test_precedence_and_associativity() -> None:
    (axis,) = parse_axes("a-b-c*2")
    assert axis.expr is not None and axis.expr.evaluate({"a": 10, "b": 3, "c": 2}) == 3
    assert str(axis.expr) == "a-b-c*2"
    (grouped,) = parse_axes("a-(b-c)")
    assert grouped.expr is not None and grouped.expr.evaluate({"a": 10, "b": 3, "c": 2}) == 9


def test_constant_expression_is_a_fixed_size() -> None:
    assert parse_axes("2*4") == (AxisType(AxisKind.Any, 8),)
    assert parse_axes("(3)") == (AxisType(AxisKind.Any, 3),)


def test_unknown_names_are_kinds_of_their_own() -> None:
    (axis,) = parse_axes("vocab")
    assert axis.kind == NamedAxisKind("vocab") and axis.name == "vocab"


def test_empty_string_is_a_scalar() -> None:
    assert parse_axes("") == ()
    assert parse_axes("   ") == ()


def test_parsing_is_cached() -> None:
    assert parse_axes("B T D:7") is parse_axes("B T D:7")


def test_constant_expressions_must_give_a_size() -> None:
    with pytest.raises(AxesSyntaxError, match=r"expected a non-negative size \(this one is -1\) at column 3"):
        parse_axes("B 0-1")
    with pytest.raises(AxesSyntaxError, match="expected a size that does not divide by zero at column 1"):
        parse_axes("1//0")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("B T- C", "invalid axes 'B T- C': expected a name, an integer or '(' at column 5, found the end of the axis"),
        ("B, T", "invalid axes 'B, T': expected a space between axes (not a comma) at column 2, found ','"),
        ("*1", "invalid axes '*1': expected a name after '*' (as in '*batch') at column 2, found '1'"),
        (
            "D:",
            "invalid axes 'D:': expected a size (digits or an expression such as C//h) at column 3, "
            "found the end of the string",
        ),
        ("D:x?", "invalid axes 'D:x?': expected an operator (+ - * //) or the end of the axis at column 4, found '?'"),
        ("(T+1", "invalid axes '(T+1': expected ')' at column 5, found the end of the string"),
        (
            "B ... *c",
            "invalid axes 'B ... *c': expected no second variadic axis (the first is at column 3) at column 7, "
            "found '*'",
        ),
        ("#", "invalid axes '#': expected a name after '#' (as in '#B') at column 2, found the end of the string"),
        ("T)", "invalid axes 'T)': expected an operator (+ - * //) or the end of the axis at column 2, found ')'"),
        ("-", "invalid axes '-': expected a name, an integer or '(' at column 1, found '-'"),
    ],
)
def test_errors_say_where_and_what_was_expected(text: str, message: str) -> None:
    with pytest.raises(AxesSyntaxError) as info:
        parse_axes(text)
    first_line, echo, caret = str(info.value).split("\n")
    assert first_line == message
    assert echo == f"  {text}"
    assert caret == "  " + " " * info.value.position + "^"


def test_syntax_error_is_a_value_error() -> None:
    assert issubclass(AxesSyntaxError, ValueError)


def test_non_string_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="axes must be a string, got tuple"):
        parse_axes(("B", "T"))  # type: ignore[arg-type]


_names = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,6}", fullmatch=True)
_atoms = st.one_of(_names, st.integers(0, 99).map(str))
_exprs = st.recursive(
    _atoms,
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["+", "-", "*", "//"]), inner).map(lambda t: f"{t[0]}{t[1]}{t[2]}"),
        inner.map(lambda e: f"({e})"),
    ),
    max_leaves=4,
)
_plain_tokens = st.one_of(
    _names,
    st.tuples(_names, st.integers(0, 4096)).map(lambda t: f"{t[0]}:{t[1]}"),
    st.integers(0, 4096).map(str),
    st.just("_"),
    _names.map(lambda n: f"#{n}"),
    _exprs,
)
_variadic = st.one_of(st.just("..."), _names.map(lambda n: f"*{n}"))


@st.composite
def _axes_strings(draw: st.DrawFn) -> str:
    tokens = draw(st.lists(_plain_tokens, max_size=6))
    if draw(st.booleans()):
        tokens.insert(draw(st.integers(0, len(tokens))), draw(_variadic))
    return " ".join(tokens)


@given(_axes_strings())
def test_parse_str_parse_is_the_identity(text: str) -> None:
    try:
        axes = parse_axes(text)
    except AxesSyntaxError as error:  # constant expressions such as 0-1 or 1//0 are rejected
        assume("non-negative size" not in str(error) and "divide by zero" not in str(error))
        raise
    assert parse_axes(format_axes(axes)) == axes
