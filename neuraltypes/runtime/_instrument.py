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
import __future__

import ast
import copy
import functools
import inspect
import linecache
import operator
import re
import textwrap
import types
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

from ._codegen import RESERVED, CheckLines, check_lines, switch_lines
from ._emitter import BUILTINS, has_tags
from ._plan import Plan

__all__ = ["instrument"]

_FUTURE_FLAGS = functools.reduce(
    operator.or_, (getattr(__future__, name).compiler_flag for name in __future__.all_feature_names), 0
)
_NOT_PLAIN = inspect.CO_GENERATOR | inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR | inspect.CO_ITERABLE_COROUTINE
_CO_NESTED = inspect.CO_NESTED
_FACTORY = "_ntq_factory"
_SWITCH = "_ntq_level"  # a closure cell of its own: read on every call, checks on or off
_CONSTANTS = "_ntq_k"
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
_BLOCKS = ("body", "orelse", "finalbody", "handlers", "cases")  # the fields of a statement that hold statements
_TRY_OR_WITH = (ast.Try, ast.With, ast.AsyncWith, *((ast.TryStar,) if hasattr(ast, "TryStar") else ()))


def instrument(plan: Plan) -> Callable[..., Any] | None:
    """``plan.function`` recompiled with its checks in it, or None where that cannot be done safely."""
    function = plan.function
    if type(function) is not types.FunctionType or hasattr(function, "__wrapped__"):
        return None
    code = function.__code__
    if code.co_flags & _NOT_PLAIN or _uses_reserved(code) or any(p in code.co_qualname for p in RESERVED):
        return None
    found = _definition(code)
    if found is None:
        return None
    definition = found.function
    if plan.returns is not None and _returns_inside_try_or_with(definition.body):
        return None
    if _keeps_the_callers_dict(plan) or _reads_its_locals(definition):
        return None
    parts = code.co_qualname.split(".")
    owner = parts[-2] if len(parts) >= 2 and parts[-2] != "<locals>" else None
    original_cells = dict(zip(code.co_freevars, function.__closure__ or (), strict=True))
    if _compile(definition, owner, found.imported, sorted(original_cells), code) != code:
        return None  # the file is not what was compiled (edited since), or this Python compiles it differently

    rebound = _rebound(definition, list(plan.signature.parameters)) if plan.returns is not None else set()
    originals = {name: f"_ntq_a_{name}" for name in sorted(rebound)}
    names: dict[str, object] = {}
    checks = check_lines(plan, names, originals)
    builtins = {alias: function.__name__ for alias, function in BUILTINS.items()}
    for alias in builtins:
        del names[alias]
    lines = "\n".join(checks.arguments + (checks.returns or []))
    called = {builtins[alias] for alias in re.findall(r"\b_ntq_\w+", lines) if alias in builtins}
    if called & _rebound_anywhere(code, definition, function.__globals__, found.module_bound):
        return None  # a builtin the checks call has another meaning in here: the wrapper's lines do not see it
    ours = {_SWITCH: names.pop(_SWITCH), _CONSTANTS: _constants(names)}
    checked = _with_checks(definition, checks, plan, originals, _references(set(names), builtins))
    instrumented = _compile(checked, owner, found.imported, sorted(set(original_cells) | set(ours)), code)
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


def _constants(names: dict[str, object]) -> object:
    """The objects the checks refer to, as the slots of one object: one closure cell instead of one per object.

    (Python copies every closure cell into the frame on each call and releases it on return; with the cells
    spread over memory that costs a cache miss each in a model's forward.)
    """
    holder = type("constants", (), {"__slots__": tuple(names)})()
    for name, value in names.items():
        setattr(holder, name, value)
    return holder


def _references(names: set[str], builtins: dict[str, str]) -> Callable[[str], str]:
    """Rewrite our lines' references to the constants as attributes of the holder (``_ntq_cls0`` ->
    ``_ntq_k._ntq_cls0``) and to the builtins by their own names (``_ntq_len`` -> ``len``: a global read is
    faster than a method call on the holder). (The lines' string literals are messages that name no such thing:
    parameters and the function's qualified name may not use the reserved prefixes.)"""
    replacements = {name: f"{_CONSTANTS}.{name}" for name in names} | builtins
    pattern = re.compile(r"\b(?:" + "|".join(sorted(map(re.escape, replacements), key=len, reverse=True)) + r")\b")
    return lambda text: pattern.sub(lambda match: replacements[match.group(0)], text)


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


class _Definition(NamedTuple):
    function: ast.FunctionDef  # parsed from the file, with its line and column numbers
    imported: tuple[str, ...]  # the names its module binds with import statements
    module_bound: frozenset[str]  # every name its module binds at top level


class _ModuleIndex(NamedTuple):
    blocks: dict[int, int]  # the first line of each function (its first decorator's, or its def's) -> its last
    imported: tuple[str, ...]
    module_bound: frozenset[str]


def _definition(code: types.CodeType) -> _Definition | None:
    """The ``def`` statement of ``code``, parsed from its file, and what compiling it needs to know of its module."""
    lines = linecache.getlines(code.co_filename)
    try:
        index = _index(code.co_filename, hash("".join(lines)))
    except (SyntaxError, ValueError):
        return None
    first = code.co_firstlineno
    last = index.blocks.get(first)
    if last is None:
        return None
    block = "".join(lines[first - 1 : last])
    indented = block[:1].isspace()
    # An indented method parses inside ``if 1:``, which keeps its column offsets as they are in the file.
    try:
        tree = ast.parse("if 1:\n" + block if indented else block)
    except SyntaxError:  # the code's first line is inside its decorator (``@(\n typecheck\n)``)
        return None
    statements = tree.body[0].body if indented and isinstance(tree.body[0], ast.If) else tree.body
    definition = statements[0] if len(statements) == 1 else None
    if not isinstance(definition, ast.FunctionDef) or definition.name != code.co_name:
        return None
    ast.increment_lineno(definition, first - 2 if indented else first - 1)
    return _Definition(definition, index.imported, index.module_bound)


@functools.lru_cache(maxsize=64)
def _index(filename: str, digest: int) -> _ModuleIndex:
    """Where a module's functions are, and the names it imports (cached per module source: ``digest`` is its
    hash; only line numbers and names are kept, not the tree)."""
    tree = ast.parse("".join(linecache.getlines(filename)), filename)
    blocks = {
        min([node.lineno, *(decorator.lineno for decorator in node.decorator_list)]): node.end_lineno or node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef)
    }
    imported = {
        (alias.asname or alias.name).split(".")[0]
        for statement in _own_statements(tree.body)
        if isinstance(statement, (ast.Import, ast.ImportFrom))
        for alias in statement.names
        if alias.name != "*"
    }
    statements = list(_own_statements(tree.body))
    module_bound = {
        node.id
        for statement in statements
        if not isinstance(statement, _SCOPES)
        for node in ast.walk(statement)
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del))
    }
    definitions = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    module_bound |= {statement.name for statement in statements if isinstance(statement, definitions)}
    return _ModuleIndex(blocks, tuple(sorted(imported)), frozenset(module_bound | imported))


def _compile(
    definition: ast.FunctionDef, owner: str | None, imported: tuple[str, ...], free: list[str], code: types.CodeType
) -> types.CodeType:
    """Compile ``definition`` as its module would: nested in a factory whose parameters are ``free``, inside
    ``class owner`` when the function is a method (private names are mangled by the class they are written in),
    after the module's imports (CPython calls methods of imported names differently); its code object is
    returned as the original's (``co_qualname``, not nested)."""
    factory = ast.parse(f"def {_FACTORY}({', '.join(free)}):\n    pass\n").body[0]
    assert isinstance(factory, ast.FunctionDef)
    factory.body = [definition]
    if definition.name not in free:
        # The ``def`` binds its name in the module (or its class), not in a function: a recursive call reads it
        # as a global, as in the original.
        factory.body.insert(0, ast.copy_location(ast.Global(names=[definition.name]), definition))
    outer: ast.stmt = factory
    if owner is not None:
        holder = ast.parse(f"class {owner}:\n    pass\n").body[0]
        assert isinstance(holder, ast.ClassDef)
        holder.body = [factory]
        outer = holder
    imports = ast.parse("".join(f"import {name}\n" for name in imported)).body
    module = ast.Module(body=[*imports, outer], type_ignores=[])
    compiled = compile(module, code.co_filename, "exec", flags=code.co_flags & _FUTURE_FLAGS, dont_inherit=True)
    inner = _find(compiled, definition.name)
    flags = (inner.co_flags & ~_CO_NESTED) | (code.co_flags & _CO_NESTED)
    return _renamed(inner, inner.co_qualname, code.co_qualname).replace(co_flags=flags)


def _find(compiled: types.CodeType, name: str) -> types.CodeType:
    for const in _codes(compiled):
        if const.co_name == _FACTORY:
            return next(inner for inner in _codes(const) if inner.co_name == name)
    raise AssertionError("the factory compiled without its function")  # pragma: no cover


def _codes(code: types.CodeType) -> Iterator[types.CodeType]:
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield const
            yield from _codes(const)


def _renamed(code: types.CodeType, old: str, new: str) -> types.CodeType:
    """``code`` and the code nested in it, with the qualified-name prefix ``old`` replaced by ``new``."""
    consts = tuple(_renamed(c, old, new) if isinstance(c, types.CodeType) else c for c in code.co_consts)
    return code.replace(co_qualname=new + code.co_qualname.removeprefix(old), co_consts=consts)


def _own_statements(statements: list[ast.stmt]) -> Iterator[ast.stmt]:
    """The statements of a function body at any depth, not those of nested functions and classes."""
    for statement in statements:
        yield statement
        if not isinstance(statement, _SCOPES):
            for field in _BLOCKS:
                inner = getattr(statement, field, None)
                if isinstance(inner, list):
                    yield from _own_statements(_flat(inner))


def _flat(items: list[Any]) -> list[ast.stmt]:
    """Statements, with except handlers and match cases replaced by their bodies."""
    flat: list[ast.stmt] = []
    for item in items:
        flat.extend(item.body if isinstance(item, (ast.ExceptHandler, ast.match_case)) else [item])
    return flat


def _returns_inside_try_or_with(body: list[ast.stmt]) -> bool:
    return any(
        isinstance(node, _TRY_OR_WITH) and any(isinstance(inner, ast.Return) for inner in _own_statements([node]))
        for node in _own_statements(body)
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

    def __init__(self, lines: list[str], references: Callable[[str], str]) -> None:
        self.text = references(textwrap.dedent("\n".join(lines)))

    def at(self, anchor: ast.stmt) -> list[ast.stmt]:
        body = ast.parse(self.text).body
        for node in ast.walk(ast.Module(body=body, type_ignores=[])):
            if isinstance(node, (ast.stmt, ast.expr, ast.excepthandler, ast.arg, ast.keyword)):
                node.lineno = node.end_lineno = anchor.lineno
                node.col_offset = node.end_col_offset = anchor.col_offset
        return body


def _with_checks(
    definition: ast.FunctionDef,
    checks: CheckLines,
    plan: Plan,
    originals: dict[str, str],
    references: Callable[[str], str],
) -> ast.FunctionDef:
    """A copy of ``definition`` with the switch read and the argument checks at the top of its body and the
    return checks at each ``return`` (the statements on the way to a ``return`` are copied, the rest shared)."""
    saves = [f"    {local} = {name}" for name, local in originals.items()]
    guarded = saves + checks.init + checks.arguments
    prologue = switch_lines(plan)
    if guarded:
        prologue += ["    if _ntq_on:", *textwrap.indent("\n".join(guarded), "    ").split("\n")]
    body = list(definition.body)
    first = body[0] if body else None
    docstring = int(
        isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str)
    )
    if checks.returns is not None:
        returns = _Returns(checks.returns, references)
        body = returns.block(body)
        last = body[-1]
        if not isinstance(last, ast.Return):  # falling off the end returns None, which is checked too
            end = ast.copy_location(ast.Return(value=None), last)
            end.lineno = end.end_lineno = last.end_lineno or last.lineno
            body += returns.checked(end)
    checked = copy.copy(definition)
    checked.body = body[:docstring] + _Template(prologue, references).at(definition) + body[docstring:]
    return checked


class _Returns:
    """``return value`` -> ``_ntq_r = value``, the return checks when checks are on, ``return _ntq_r``."""

    def __init__(self, lines: list[str], references: Callable[[str], str]) -> None:
        self.head = _Template(["    _ntq_r = None"], references)
        checks = textwrap.indent("\n".join(lines), "    ").split("\n")
        self.tail = _Template(["    if _ntq_on:", *checks, "    return _ntq_r"], references)

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
            elif isinstance(statement, _SCOPES) or not any(
                isinstance(inner, ast.Return) for inner in _own_statements([statement])
            ):
                result.append(statement)
            else:
                result.append(self._copy_with_checked_returns(statement))
        return result

    def _copy_with_checked_returns(self, statement: ast.stmt) -> ast.stmt:
        copied = copy.copy(statement)
        for field in _BLOCKS:
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
