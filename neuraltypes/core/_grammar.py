"""The axes grammar: the one parser for axes strings such as ``"B T_enc D:80"``, shared by run time and plugin.

Axes are separated by whitespace. Each axis is one of::

    B  T_enc  vocab   a named axis: its kind (NeMo's names; other names are kinds of their own)
                      and its size variable, shared by every argument and the return of one call
    D:80              a named axis with a fixed size
    80                an anonymous axis of fixed size (kind Any)
    _                 an anonymous axis of any size (kind Any)
    *batch   ...      zero or more axes (named or anonymous); at most one per string
    #B                broadcastable: size 1, or the size bound to B
    T-1  2*D  (T+1)//2   a size computed from other axes (no spaces; + - * // and parentheses)
    D:n_head  _:C//h     an axis of the named kind (``_``: any kind) whose size is computed from other axes
"""

from __future__ import annotations

import functools
import re

from ._axes import AxisKind, AxisType, axis_kind_of_name, surprising_kind
from ._dims import BinOp, Const, DimExpr, Var

__all__ = ["AxesSyntaxError", "format_axes", "parse_axes", "surprising_kinds"]

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_INT = re.compile(r"[0-9]+")


class AxesSyntaxError(ValueError):
    """An axes string that does not parse: says where, and what was expected there."""

    def __init__(self, text: str, position: int, expected: str) -> None:
        self.text = text
        self.position = position
        self.expected = expected
        if position < len(text) and not text[position].isspace():
            found = repr(text[position])
        else:
            found = "the end of the axis" if position < len(text) else "the end of the string"
        super().__init__(
            f"invalid axes {text!r}: expected {expected} at column {position + 1}, found {found}\n"
            f"  {text}\n  {' ' * position}^"
        )


@functools.lru_cache(maxsize=4096)
def parse_axes(text: str) -> tuple[AxisType, ...]:
    """Parse an axes string into axis types. Cached: each distinct string is parsed once.

    Raises:
        AxesSyntaxError: with the column and what was expected there.
    """
    if not isinstance(text, str):
        raise TypeError(f"axes must be a string, got {type(text).__name__}")
    try:
        return _parse(text)
    except AxesSyntaxError as error:
        raise error.with_traceback(None)  # noqa: B904 (end the traceback here: the mistake is in the string)


def _parse(text: str) -> tuple[AxisType, ...]:
    axes: list[AxisType] = []
    variadic_at: int | None = None
    for match in re.finditer(r"\S+", text):
        axis = _parse_token(text, match.start(), match.end())
        if axis.variadic:
            if variadic_at is not None:
                raise AxesSyntaxError(
                    text, match.start(), f"no second variadic axis (the first is at column {variadic_at + 1})"
                )
            variadic_at = match.start()
        axes.append(axis)
    return tuple(axes)


def format_axes(axes: tuple[AxisType, ...]) -> str:
    """The axes string of parsed axes: ``parse_axes(format_axes(a)) == a`` for parsed axes."""
    return " ".join(str(axis) for axis in axes)


def surprising_kinds(*spellings: str) -> str:
    """``H (Height), n (Batch)``: the names in these axes strings whose kind is not the obvious one, each once.

    What messages that compare axes add, so that ``H`` meaning Height (not heads) is seen where axes differ;
    empty when every name's kind is obvious (see :func:`~neuraltypes.core.surprising_kind`). A token that does
    not parse (the plugin's ``?:n_head``) is read for the name before its ``:``.
    """
    shown: dict[str, str] = {}
    for spelling in spellings:
        for token in spelling.split():
            for name in _kind_names(token):
                kind = surprising_kind(name)
                if kind is not None:
                    shown.setdefault(name, f"{name} ({kind.name})")
    return ", ".join(shown.values())


@functools.lru_cache(maxsize=4096)
def _kind_names(token: str) -> tuple[str, ...]:
    """The names that give one axis token its kind: ``H`` in ``H``, ``#H``, ``H:80``, ``H//2``; none in ``_:C//h``."""
    try:
        (axis,) = _parse(token)
    except ValueError:
        return tuple(_NAME.findall(token.partition(":")[0]))
    if axis.name is not None:
        return () if axis.variadic else (axis.name,)
    if axis.expr is not None and axis.kind is not AxisKind.Any:
        return (axis.expr.variables()[0],)
    return ()


def _parse_token(text: str, start: int, end: int) -> AxisType:
    token = text[start:end]
    marked = _marked_axis(text, start, end)
    if marked is not None:
        return marked
    if "," in token:
        raise AxesSyntaxError(text, start + token.index(","), "a space between axes (not a comma)")
    named = _named_axis(text, start, end)
    if named is not None:
        return named
    if _INT.fullmatch(token):
        return AxisType(AxisKind.Any, int(token))
    return _computed_axis(text, start, end)


def _marked_axis(text: str, start: int, end: int) -> AxisType | None:
    """``...``, ``_``, ``_:size``, ``*name`` or ``#name``: a token whose first character says what it is; else None."""
    token = text[start:end]
    if token == "...":
        return AxisType(AxisKind.Any, variadic=True)
    if token == "_":
        return AxisType(AxisKind.Any)
    if token.startswith("_:"):
        return _sized_axis(text, start + 2, end, None)
    if token[0] == "*":
        name = _expect_whole_name(text, start + 1, end, "a name after '*' (as in '*batch')")
        return AxisType(AxisKind.Any, name=name, variadic=True)
    if token[0] == "#":
        name = _expect_whole_name(text, start + 1, end, "a name after '#' (as in '#B')")
        return AxisType(axis_kind_of_name(name), name=name, broadcast=True)
    return None


def _named_axis(text: str, start: int, end: int) -> AxisType | None:
    """``T_enc`` or ``D:80`` / ``D:n_head``: a name, alone or before a size; else None."""
    token = text[start:end]
    if _NAME.fullmatch(token):
        return AxisType(axis_kind_of_name(token), name=token)
    name_match = _NAME.match(token)
    if name_match and token[name_match.end()] == ":":
        return _sized_axis(text, start + name_match.end() + 1, end, name_match.group())
    return None


def _computed_axis(text: str, start: int, end: int) -> AxisType:
    """``T-1``, ``2*D``, ``(T+1)//2``: a size expression; constant ones are evaluated here."""
    expr = _ExprParser(text, start, end).parse()
    variables = expr.variables()
    if not variables:
        return AxisType(AxisKind.Any, _evaluate_constant(text, start, expr))
    if isinstance(expr, Var):  # "(T)" is just "T"
        return AxisType(axis_kind_of_name(expr.name), name=expr.name)
    return AxisType(axis_kind_of_name(variables[0]), expr=expr)


def _sized_axis(text: str, size_at: int, end: int, name: str | None) -> AxisType:
    """``D:80`` or ``D:n_head`` (a size expression); ``name`` None for ``_:...`` (an axis of any kind)."""
    kind = AxisKind.Any if name is None else axis_kind_of_name(name)
    if _INT.fullmatch(text, size_at, end):
        return AxisType(kind, int(text[size_at:end]), name=name)
    if size_at >= end:
        raise AxesSyntaxError(text, size_at, "a size (digits or an expression such as C//h)")
    expr = _ExprParser(text, size_at, end).parse()
    if not expr.variables():
        return AxisType(kind, _evaluate_constant(text, size_at, expr), name=name)
    return AxisType(kind, name=name, expr=expr)


def _evaluate_constant(text: str, start: int, expr: DimExpr) -> int:
    try:
        value = expr.evaluate({})
    except ZeroDivisionError:
        raise AxesSyntaxError(text, start, "a size that does not divide by zero") from None
    if value < 0:
        raise AxesSyntaxError(text, start, f"a non-negative size (this one is {value})")
    return value


def _expect_whole_name(text: str, start: int, end: int, expected: str) -> str:
    match = _NAME.fullmatch(text, start, end)
    if match is None:
        raise AxesSyntaxError(text, _first_mismatch(text, start, end, _NAME), expected)
    return match.group()


def _first_mismatch(text: str, start: int, end: int, pattern: re.Pattern[str]) -> int:
    match = pattern.match(text, start, end)
    return start if match is None else match.end()


class _ExprParser:
    """Recursive descent over one token: expr := term (('+'|'-') term)*; term := atom (('*'|'//') atom)*."""

    def __init__(self, text: str, start: int, end: int) -> None:
        self.text = text
        self.pos = start
        self.end = end

    def parse(self) -> DimExpr:
        expr = self._expr()
        if self.pos != self.end:
            raise AxesSyntaxError(self.text, self.pos, "an operator (+ - * //) or the end of the axis")
        return expr

    def _expr(self) -> DimExpr:
        left = self._term()
        while self.pos < self.end and self.text[self.pos] in "+-":
            op = self.text[self.pos]
            self.pos += 1
            left = BinOp(op, left, self._term())
        return left

    def _term(self) -> DimExpr:
        left = self._atom()
        while self.pos < self.end:
            if self.text.startswith("//", self.pos):
                op, width = "//", 2
            elif self.text[self.pos] == "*":
                op, width = "*", 1
            else:
                break
            self.pos += width
            left = BinOp(op, left, self._atom())
        return left

    def _atom(self) -> DimExpr:
        if self.pos < self.end and self.text[self.pos] == "(":
            self.pos += 1
            inner = self._expr()
            if self.pos >= self.end or self.text[self.pos] != ")":
                raise AxesSyntaxError(self.text, self.pos, "')'")
            self.pos += 1
            return inner
        for pattern, build in ((_INT, lambda s: Const(int(s))), (_NAME, Var)):
            match = pattern.match(self.text, self.pos, self.end)
            if match:
                self.pos = match.end()
                return build(match.group())
        raise AxesSyntaxError(self.text, self.pos, "a name, an integer or '('")
