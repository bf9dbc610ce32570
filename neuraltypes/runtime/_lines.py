"""Generated lines as records: the text of a line with what it reads, refers to and binds, kept as it is written.

The passes after the emitter (leaving out the bindings nothing reads, instrumenting a function's own code) read
these records instead of searching the text. A ``Namespace`` holds the objects the lines refer to and decides,
before anything is written, how a line spells them: by name in a wrapper's globals, or as the slots of one
constants object (and the builtins by their own names) in an instrumented function.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["BUILTINS", "Code", "Line", "Namespace", "code", "size_variable"]

BUILTINS: tuple[Callable[..., Any], ...] = (isinstance, getattr, len, tuple, type)
"""The builtins the checking lines call."""

_EMPTY: frozenset[str] = frozenset()
_FORMATTER = string.Formatter()


@dataclass(frozen=True, slots=True)
class Code:
    """A piece of generated Python, with the size variables it reads and the namespace's names it refers to."""

    text: str
    reads: frozenset[str] = _EMPTY
    constants: frozenset[str] = _EMPTY

    def __format__(self, spec: str) -> str:
        return format(self.text, spec)


@dataclass(frozen=True, slots=True)
class Line:
    """One generated line at function-body indentation.

    ``reads``: the size variables (``_ntv_b``) it reads; ``constants``: the names of the namespace's objects it
    refers to (a builtin by the name the line calls it by); ``binds``: the size variable it assigns on every path,
    where it is such a binding (``_ntv_b = _ntq_s0[0]``, which cannot fail: the rank was checked before).
    """

    text: str
    reads: frozenset[str] = _EMPTY
    constants: frozenset[str] = _EMPTY
    binds: str | None = None


def code(template: str, /, **fields: object) -> Code:
    """``template`` filled in from ``fields`` as ``str.format`` does; each ``Code`` field the template uses adds
    what it reads and refers to (other fields are local names and literals)."""
    used = [fields[name] for _, name, _, _ in _FORMATTER.parse(template) if name is not None]
    parts = [field for field in used if isinstance(field, Code)]
    return Code(
        template.format(**fields),
        _EMPTY.union(*(part.reads for part in parts)),
        _EMPTY.union(*(part.constants for part in parts)),
    )


def size_variable(name: str) -> Code:
    """The local that holds the size bound to ``name`` (read where it appears in a line)."""
    variable = f"_ntv_{name}"
    return Code(variable, reads=frozenset((variable,)))


class Namespace:
    """The objects generated lines refer to, and how the lines spell them.

    For a wrapper (``holder`` None) every object is a global of the wrapper, in ``names``, and the builtins go
    under names of ours (``_ntq_len``: a parameter may be called ``len``). For an instrumented function the
    constants are the slots of one object, the local ``holder`` (``_ntq_k._ntq_cls0``: one closure cell instead
    of one per object), the ``cells`` are variables of their own, and the builtins are called by their own names
    (a global read is faster than an attribute of the holder; the instrumenter checks nothing rebinds them).
    """

    def __init__(self, names: dict[str, object], holder: str | None = None) -> None:
        self.names = names
        self.cells: dict[str, object] = names if holder is None else {}
        self.holder = holder

    def constant(self, name: str, value: object) -> Code:
        self.names[name] = value
        spelled = name if self.holder is None else f"{self.holder}.{name}"
        return Code(spelled, constants=frozenset((name,)))

    def cell(self, name: str, value: object) -> Code:
        """An object read as a variable of its own: the switch, read on every call, checks on or off."""
        self.cells[name] = value
        return Code(name, constants=frozenset((name,)))

    def builtin(self, function: Callable[..., Any]) -> Code:
        if self.holder is None:
            return self.constant(f"_ntq_{function.__name__}", function)
        return Code(function.__name__, constants=frozenset((function.__name__,)))
