"""What one function knows of sizes: the symbols it learned to stand for axes, the axes it split, its signature's
axis names, and the returns and conditional branches the plugin compares (see ``_returns``, ``_branches``).
"""

from __future__ import annotations

from mypy.nodes import (
    Expression,
    FuncItem,
    LambdaExpr,
)
from mypy.types import (
    CallableType,
    TupleType,
    Type,
    get_proper_type,
)

from neuraltypes.core import Size

from ._arguments import Arguments
from ._carrier import parse_spelling, tensor_view
from ._sizes import SYMBOL


class FunctionSizes(dict[str, Size]):
    """One function's learned aliases (symbol -> size), and the axes it split into pieces (the total's spelling
    -> the pieces' spellings, in order: ``inner_dim`` -> ``heads``, ``inner_dim//heads`` for ``(h d)``, with
    where the splitting call is, as line and column)."""

    def __init__(self, function: FuncItem | None = None) -> None:
        super().__init__()
        self.function = function
        self.splits: dict[str, tuple[tuple[str, ...], tuple[int, int]]] = {}
        self.independent = frozenset() if function is None else signature_axis_names(function)
        """The axis names of the function's own signature: sizes free of each other (see ``provably_different``)."""
        self.returned: dict[int, tuple[Type, Expression]] | None = None
        """What the function returns, read when first asked (see ``_returns``)."""
        self.branches: dict[int, tuple[Expression, int]] | None = None
        """The branches of its conditional expressions, read when first asked (see ``_branches``)."""
        self.branch_types: dict[int, dict[int, Type]] = {}


def independent_axes(args: Arguments | None) -> frozenset[str]:
    """The axis names of the signature of the function a call is in (see ``FunctionSizes``); none outside one."""
    table = None if args is None else args.aliases
    return table.independent if isinstance(table, FunctionSizes) else frozenset()


class SizeAliases:
    """What the opaque symbols of each function stand for, learned where a layer built with one meets an axis
    (``nn.Linear(n_embd, ...)`` applied to ``"B T C"``: ``n_embd`` is ``C``, or torch would refuse the call).

    Held by the plugin's checker, one table per function being checked, in the order mypy checks it."""

    _LIMIT = 4096

    def __init__(self) -> None:
        self._tables: dict[int, tuple[object, FunctionSizes]] = {}

    def of(self, api: object) -> FunctionSizes:
        scope = getattr(api, "scope", None)
        stack = getattr(scope, "stack", ())
        # A lambda's body is the enclosing function's (`map(lambda t: rearrange(t, ...), qkv)`): one table for both.
        function = next((e for e in reversed(stack) if isinstance(e, FuncItem) and not isinstance(e, LambdaExpr)), None)
        if function is None:
            return FunctionSizes()
        entry = self._tables.get(id(function))
        if entry is None or entry[0] is not function:
            if len(self._tables) >= self._LIMIT:
                self._tables.clear()
            entry = (function, FunctionSizes(function))
            self._tables[id(function)] = entry
        return entry[1]


def signature_axis_names(function: FuncItem) -> frozenset[str]:
    """The names of the axes a function's parameters declare (``B``, ``T``, ``C`` of ``x: NT[Tensor, "B T C"]``).

    A name only the return type declares (``T_out``) is left out: the result sets it, to whatever it is."""
    signature = get_proper_type(function.type) if function.type is not None else None
    if not isinstance(signature, CallableType):
        return frozenset()
    names: set[str] = set()
    for typ in signature.arg_types:
        proper = get_proper_type(typ)
        items = proper.items if isinstance(proper, TupleType) else [typ]
        for item in items:
            view = tensor_view(item)
            if view is None or view.axes is None:
                continue
            try:
                axes = parse_spelling(view.axes)
            except ValueError:
                continue
            names.update(
                axis.name
                for axis in axes
                if axis.name is not None and axis.expr is None and SYMBOL.fullmatch(axis.name)
            )
    return frozenset(names)
