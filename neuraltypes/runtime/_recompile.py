"""Recompiling a function from its source as its module compiled it: the ``def`` statement found in its file, and
compiled in the same setting (its class, its closure, its module's imports and ``__future__`` flags), so that the
unmodified statement gives a code object equal to the function's own. ``_instrument`` compiles its checked copy
the same way.
"""

from __future__ import annotations
import __future__

import ast
import functools
import inspect
import linecache
import operator
import types
from collections.abc import Iterator
from typing import Any, NamedTuple

from ._codegen import FACTORY, class_source, factory_source, imports_source

__all__ = ["SCOPES", "STATEMENT_BLOCKS", "Definition", "compile_as_module", "find_definition", "own_statements"]

_FUTURE_FLAGS = functools.reduce(
    operator.or_, (getattr(__future__, name).compiler_flag for name in __future__.all_feature_names), 0
)
_CO_NESTED = inspect.CO_NESTED
SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
STATEMENT_BLOCKS = ("body", "orelse", "finalbody", "handlers", "cases")
"""The fields of a statement that hold statements."""


class Definition(NamedTuple):
    function: ast.FunctionDef  # parsed from the file, with its line and column numbers
    imported: tuple[str, ...]  # the names its module binds with import statements
    module_bound: frozenset[str]  # every name its module binds at top level


class _ModuleIndex(NamedTuple):
    blocks: dict[int, int]  # the first line of each function (its first decorator's, or its def's) -> its last
    imported: tuple[str, ...]
    module_bound: frozenset[str]


def find_definition(code: types.CodeType) -> Definition | None:
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
    return Definition(definition, index.imported, index.module_bound)


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
        for statement in own_statements(tree.body)
        if isinstance(statement, (ast.Import, ast.ImportFrom))
        for alias in statement.names
        if alias.name != "*"
    }
    statements = list(own_statements(tree.body))
    module_bound = {
        node.id
        for statement in statements
        if not isinstance(statement, SCOPES)
        for node in ast.walk(statement)
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del))
    }
    definitions = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    module_bound |= {statement.name for statement in statements if isinstance(statement, definitions)}
    return _ModuleIndex(blocks, tuple(sorted(imported)), frozenset(module_bound | imported))


def compile_as_module(
    definition: ast.FunctionDef, owner: str | None, imported: tuple[str, ...], free: list[str], code: types.CodeType
) -> types.CodeType:
    """Compile ``definition`` as its module would: nested in a factory whose parameters are ``free``, inside
    ``class owner`` when the function is a method (private names are mangled by the class they are written in),
    after the module's imports (CPython calls methods of imported names differently); its code object is
    returned as the original's (``co_qualname``, not nested)."""
    factory = ast.parse(factory_source(free)).body[0]
    assert isinstance(factory, ast.FunctionDef)
    factory.body = [definition]
    if definition.name not in free:
        # The ``def`` binds its name in the module (or its class), not in a function: a recursive call reads it
        # as a global, as in the original.
        factory.body.insert(0, ast.copy_location(ast.Global(names=[definition.name]), definition))
    outer: ast.stmt = factory
    if owner is not None:
        holder = ast.parse(class_source(owner)).body[0]
        assert isinstance(holder, ast.ClassDef)
        holder.body = [factory]
        outer = holder
    imports = ast.parse(imports_source(imported)).body
    module = ast.Module(body=[*imports, outer], type_ignores=[])
    compiled = compile(module, code.co_filename, "exec", flags=code.co_flags & _FUTURE_FLAGS, dont_inherit=True)
    inner = _find(compiled, definition.name)
    flags = (inner.co_flags & ~_CO_NESTED) | (code.co_flags & _CO_NESTED)
    return _renamed(inner, inner.co_qualname, code.co_qualname).replace(co_flags=flags)


def _find(compiled: types.CodeType, name: str) -> types.CodeType:
    for const in _codes(compiled):
        if const.co_name == FACTORY:
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


def own_statements(statements: list[ast.stmt]) -> Iterator[ast.stmt]:
    """The statements of a function body at any depth, not those of nested functions and classes."""
    for statement in statements:
        yield statement
        if not isinstance(statement, SCOPES):
            for field in STATEMENT_BLOCKS:
                inner = getattr(statement, field, None)
                if isinstance(inner, list):
                    yield from own_statements(_flat(inner))


def _flat(items: list[Any]) -> list[ast.stmt]:
    """Statements, with except handlers and match cases replaced by their bodies."""
    flat: list[ast.stmt] = []
    for item in items:
        flat.extend(item.body if isinstance(item, (ast.ExceptHandler, ast.match_case)) else [item])
    return flat
