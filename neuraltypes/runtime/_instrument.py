"""Instrumenting a function: its own code, recompiled with the checks written into it, instead of a wrapper.

A wrapper costs a Python frame per call, checked or not: the part of the cost that remains with the checks
switched off. So where it can be done safely, ``@typecheck`` recompiles the function from its source with the
argument checks at the top of its body and the return checks at each ``return``; the new function runs in the
function's own module globals and closure cells, with the function's line numbers, so tracebacks and
debuggers show the user's lines and no frame of ours. (typeguard instruments functions the same way.)

It is done only when nothing can differ from the function as Python compiled it:

* a plain ``def`` (not a generator or coroutine, not a callable object, not a wrapper with ``__wrapped__``);
* its source is available, and compiling the unmodified source gives a code object equal to the function's
  own (same bytecode, constants, names and line table): a file edited since import, or code built by
  ``exec``, is caught here;
* when the return value is checked, no ``return`` sits inside a ``try`` or ``with`` block (a return check
  raising there could be caught or suppressed by the user's code);
* no name in it starts with the reserved prefixes.

Otherwise the generated wrapper is used, which checks exactly the same things.
"""

from __future__ import annotations

import ast
import copy
import inspect
import textwrap
import types
from collections.abc import Callable
from typing import Any

from ._codegen import RESERVED, CheckLines, check_lines, prologue_lines, return_check_lines, returned_value_lines
from ._lines import BUILTINS, Line, Namespace
from ._plan import Plan
from ._recompile import SCOPES, STATEMENT_BLOCKS, Definition, compile_as_module, find_definition, own_statements
from ._tagging import has_tags

__all__ = ["instrument"]

_NOT_PLAIN = inspect.CO_GENERATOR | inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR | inspect.CO_ITERABLE_COROUTINE
_CONSTANTS = "_ntq_k"
_BUILTIN_NAMES = frozenset(builtin.__name__ for builtin in BUILTINS)
_TRY_OR_WITH = (ast.Try, ast.With, ast.AsyncWith, *((ast.TryStar,) if hasattr(ast, "TryStar") else ()))


def instrument(plan: Plan) -> Callable[..., Any] | None:
    """``plan.function`` recompiled with its checks in it, or None where that cannot be done safely."""
    function = plan.function
    found = _safe_definition(plan)
    if found is None:
        return None
    code = function.__code__
    parts = code.co_qualname.split(".")
    owner = parts[-2] if len(parts) >= 2 and parts[-2] != "<locals>" else None
    original_cells = dict(zip(code.co_freevars, function.__closure__ or (), strict=True))
    if compile_as_module(found.function, owner, found.imported, sorted(original_cells), code) != code:
        return None  # the file is not what was compiled (edited since), or this Python compiles it differently

    rebound = _rebound(found.function, list(plan.signature.parameters)) if plan.returns is not None else set()
    originals = {name: f"_ntq_a_{name}" for name in sorted(rebound)}
    namespace = Namespace({}, holder=_CONSTANTS)
    checks = check_lines(plan, namespace, originals)
    called = {name for line in checks.checks() for name in line.constants} & _BUILTIN_NAMES
    if called & _rebound_anywhere(code, found.function, function.__globals__, found.module_bound):
        return None  # a builtin the checks call has another meaning in here: the wrapper's lines do not see it
    ours = {**namespace.cells, _CONSTANTS: _constants(namespace.names)}
    checked = _with_checks(found.function, checks, originals)
    instrumented = compile_as_module(checked, owner, found.imported, sorted(set(original_cells) | set(ours)), code)
    cells = []
    for name in instrumented.co_freevars:
        if name in original_cells:
            cells.append(original_cells[name])
        elif name in ours:
            cells.append(types.CellType(ours[name]))
        else:  # pragma: no cover - every free name is the function's or ours
            return None
    return types.FunctionType(
        instrumented, function.__globals__, function.__name__, function.__defaults__, tuple(cells)
    )


def _safe_definition(plan: Plan) -> Definition | None:
    """The parsed ``def`` of ``plan.function`` where instrumenting it is safe (see the module's docstring)."""
    function = plan.function
    if type(function) is not types.FunctionType or hasattr(function, "__wrapped__"):
        return None
    code = function.__code__
    if code.co_flags & _NOT_PLAIN or _uses_reserved(code) or any(p in code.co_qualname for p in RESERVED):
        return None
    found = find_definition(code)
    if found is None:
        return None
    if plan.returns is not None and _returns_inside_try_or_with(found.function.body):
        return None
    if _keeps_the_callers_dict(plan) or _reads_its_locals(found.function):
        return None
    return found


def _constants(names: dict[str, object]) -> object:
    """The objects the checks refer to, as the slots of one object: one closure cell instead of one per object.

    (Python copies every closure cell into the frame on each call and releases it on return; with the cells
    spread over memory that costs a cache miss each in a model's forward.)
    """
    holder = type("constants", (), {"__slots__": tuple(names)})()
    for name, value in names.items():
        setattr(holder, name, value)
    return holder


def _rebound_anywhere(
    code: types.CodeType, definition: ast.FunctionDef, module: dict[str, Any], module_bound: frozenset[str]
) -> set[str]:
    """The names that, in ``code``, may not mean the builtins: its locals, cells and free variables, its
    ``global`` declarations, and the names its module binds (now, or further down its source)."""
    declared = {name for node in ast.walk(definition) if isinstance(node, ast.Global) for name in node.names}
    return {*code.co_varnames, *code.co_cellvars, *code.co_freevars, *declared, *module, *module_bound}


def _keeps_the_callers_dict(plan: Plan) -> bool:
    """A tagged return and ``**kwargs``: the body may ``pop`` the caller's tensor out of the dict it was passed
    in. (A wrapper's own ``**kwargs`` dict is a separate one, which the tagging rule searches.)"""
    keywords = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in plan.signature.parameters.values())
    return keywords and plan.returns is not None and has_tags(plan.returns)


def _reads_its_locals(definition: ast.FunctionDef) -> bool:
    """``locals()`` or ``vars()``: the checks' own locals would show (``Config(**locals())``)."""
    return any(
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and (node.func.id == "locals" or (node.func.id == "vars" and not node.args))
        for node in ast.walk(definition)
    )


def _uses_reserved(code: types.CodeType) -> bool:
    used = code.co_varnames + code.co_names + code.co_freevars + code.co_cellvars
    if any(name.startswith(RESERVED) for name in used):
        return True
    return any(_uses_reserved(const) for const in code.co_consts if isinstance(const, types.CodeType))


def _returns_inside_try_or_with(body: list[ast.stmt]) -> bool:
    return any(
        isinstance(node, _TRY_OR_WITH) and any(isinstance(inner, ast.Return) for inner in own_statements([node]))
        for node in own_statements(body)
    )


def _rebound(definition: ast.FunctionDef, parameters: list[str]) -> set[str]:
    """The parameters that the body may rebind or delete (counted generously: in nested scopes too)."""
    bound: set[str] = set()
    for node in ast.walk(ast.Module(body=definition.body, type_ignores=[])):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            bound.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.alias):
            bound.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar)) and node.name is not None:
            bound.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest is not None:
            bound.add(node.rest)
        elif isinstance(node, (ast.Nonlocal, ast.Global)):
            bound.update(node.names)
    return bound & set(parameters)


class _Template:
    """Function-body lines of ours, as statements placed at a statement of the user's (for tracebacks)."""

    def __init__(self, lines: list[str]) -> None:
        self.text = textwrap.dedent("\n".join(lines))

    def at(self, anchor: ast.stmt) -> list[ast.stmt]:
        body = ast.parse(self.text).body
        for node in ast.walk(ast.Module(body=body, type_ignores=[])):
            if isinstance(node, (ast.stmt, ast.expr, ast.excepthandler, ast.arg, ast.keyword)):
                node.lineno = node.end_lineno = anchor.lineno
                node.col_offset = node.end_col_offset = anchor.col_offset
        return body


def _with_checks(definition: ast.FunctionDef, checks: CheckLines, originals: dict[str, str]) -> ast.FunctionDef:
    """A copy of ``definition`` with the switch read and the argument checks at the top of its body and the
    return checks at each ``return`` (the statements on the way to a ``return`` are copied, the rest shared)."""
    body = list(definition.body)
    first = body[0] if body else None
    docstring = int(
        isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str)
    )
    if checks.returns is not None:
        returns = _Returns(checks.returns)
        body = returns.block(body)
        last = body[-1]
        if not isinstance(last, ast.Return):  # falling off the end returns None, which is checked too
            end = ast.copy_location(ast.Return(value=None), last)
            end.lineno = end.end_lineno = last.end_lineno or last.lineno
            body += returns.checked(end)
    checked = copy.copy(definition)
    prologue = _Template(prologue_lines(checks, originals)).at(definition)
    checked.body = body[:docstring] + prologue + body[docstring:]
    return checked


class _Returns:
    """``return value`` -> ``_ntq_r = value``, the return checks when checks are on, ``return _ntq_r``."""

    def __init__(self, lines: list[Line]) -> None:
        self.head = _Template(returned_value_lines())
        self.tail = _Template(return_check_lines(lines))

    def checked(self, node: ast.Return) -> list[ast.stmt]:
        head = self.head.at(node)
        assign = head[0]
        assert isinstance(assign, ast.Assign)
        if node.value is not None:
            assign.value = node.value
        return head + self.tail.at(node)

    def block(self, statements: list[ast.stmt]) -> list[ast.stmt]:
        """``statements`` with every ``return`` of this function checked; unchanged statements are shared."""
        result: list[ast.stmt] = []
        for statement in statements:
            if isinstance(statement, ast.Return):
                result += self.checked(statement)
            elif isinstance(statement, SCOPES) or not any(
                isinstance(inner, ast.Return) for inner in own_statements([statement])
            ):
                result.append(statement)
            else:
                result.append(self._copy_with_checked_returns(statement))
        return result

    def _copy_with_checked_returns(self, statement: ast.stmt) -> ast.stmt:
        copied = copy.copy(statement)
        for field in STATEMENT_BLOCKS:
            inner = getattr(statement, field, None)
            if not isinstance(inner, list):
                continue
            if field in ("handlers", "cases"):
                items = []
                for item in inner:
                    item_copy = copy.copy(item)
                    item_copy.body = self.block(item.body)
                    items.append(item_copy)
                setattr(copied, field, items)
            else:
                setattr(copied, field, self.block(inner))
        return copied
