"""Axis kinds and axis types: what each dimension of a tensor means (NeMo-compatible)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._dims import DimExpr

__all__ = [
    "AxisKind",
    "AxisKindAbstract",
    "AxisKindLike",
    "AxisType",
    "NamedAxisKind",
    "axis_kind_of_name",
    "surprising_kind",
]


class AxisKindAbstract(enum.Enum):
    """Base of axis-kind enums. Subclass it (as an ``Enum``) to define kinds of your own, as in NeMo."""

    def __str__(self) -> str:
        return self.name.lower()


class AxisKind(AxisKindAbstract):
    """NeMo's axis kinds. ``Channel`` is an alias of ``Dimension`` (same value)."""

    Batch = 0
    Time = 1
    Dimension = 2
    Channel = 2
    Width = 3
    Height = 4
    Any = 5
    Sequence = 6
    FlowGroup = 7
    Singleton = 8

    def t_with_string(self, text: str) -> bool:
        """NeMo's predicate: whether ``text`` is ``t_<kind>_`` for this kind."""
        return text.startswith("t_") and text.endswith("_") and text[2:-1] == str(self)

    @staticmethod
    def from_str(label: str) -> AxisKind:
        """Parse a kind label with NeMo's rules (case-insensitive), plus ``dim``/``dimension``.

        Raises:
            ValueError: the label names no NeMo kind.
        """
        kind = _NEMO_LABELS.get(label.lower().strip())
        if kind is not None:
            return kind
        lowered = label.lower().strip()
        if len(lowered) > 2 and lowered.startswith("t_"):
            return AxisKind.Time
        raise ValueError(f"Can't create AxisKind from {label!r}")


_NEMO_LABELS: dict[str, AxisKind] = {
    "b": AxisKind.Batch,
    "n": AxisKind.Batch,
    "batch": AxisKind.Batch,
    "t": AxisKind.Time,
    "time": AxisKind.Time,
    "d": AxisKind.Dimension,
    "c": AxisKind.Dimension,
    "channel": AxisKind.Dimension,
    "dim": AxisKind.Dimension,
    "dimension": AxisKind.Dimension,
    "w": AxisKind.Width,
    "width": AxisKind.Width,
    "h": AxisKind.Height,
    "height": AxisKind.Height,
    "s": AxisKind.Singleton,
    "singleton": AxisKind.Singleton,
    "seq": AxisKind.Sequence,
    "sequence": AxisKind.Sequence,
    "flowgroup": AxisKind.FlowGroup,
    "any": AxisKind.Any,
}

# Prefixes that make `<prefix>_<suffix>` another axis of the same kind with its own size
# (NeMo has this rule for `t_` only; `n_` and `s_` are left out on purpose: `n_heads` is not a batch).
_KIND_PREFIXES: dict[str, AxisKind] = {
    "t": AxisKind.Time,
    "time": AxisKind.Time,
    "b": AxisKind.Batch,
    "batch": AxisKind.Batch,
    "d": AxisKind.Dimension,
    "c": AxisKind.Dimension,
    "dim": AxisKind.Dimension,
    "channel": AxisKind.Dimension,
    "h": AxisKind.Height,
    "height": AxisKind.Height,
    "w": AxisKind.Width,
    "width": AxisKind.Width,
}


@dataclass(frozen=True, slots=True)
class NamedAxisKind:
    """A user axis kind named in an axes string (``vocab`` in ``"B T vocab"``): equal by name, case-insensitive."""

    name: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", self.name.lower())

    def __str__(self) -> str:
        return self.name


AxisKindLike = AxisKindAbstract | NamedAxisKind


def axis_kind_of_name(name: str) -> AxisKindLike:
    """The kind an axis name denotes: a NeMo kind (``B``, ``T_enc``, ``d_model``) or a kind of its own name."""
    lowered = name.lower()
    kind = _NEMO_LABELS.get(lowered)
    if kind is not None:
        return kind
    prefix, sep, suffix = lowered.partition("_")
    if sep and suffix and prefix in _KIND_PREFIXES:
        return _KIND_PREFIXES[prefix]
    return NamedAxisKind(lowered)


#: One-letter names whose NeMo kind is what the letter means in most ML code: B batch, T time, D and C features.
_USUAL_LETTERS: dict[str, AxisKind] = {
    "b": AxisKind.Batch,
    "t": AxisKind.Time,
    "d": AxisKind.Dimension,
    "c": AxisKind.Dimension,
}


def surprising_kind(name: str) -> AxisKind | None:
    """The NeMo kind an axis name carries where a reader would not guess it from the name; None where they would.

    The one rule for when messages show a name's kind (``H (Height)``). A name that spells its kind (``time``,
    ``height``, ``t_enc``, ``seq``) or is the kind's usual letter (``B``, ``T``, ``D``, ``C``, either case, also
    as a prefix: ``d_model``) shows none, nor does a name that is a kind of its own (``heads``, ``vocab``). The
    rest are NeMo's one-letter kinds that ML code uses for something else: ``H``/``h`` is Height (not heads),
    ``N``/``n`` Batch (not tokens), ``S``/``s`` Singleton (not sequence length), ``W``/``w`` Width, and the
    prefixes ``h_``, ``w_``.
    """
    kind = axis_kind_of_name(name)
    if not isinstance(kind, AxisKind) or kind is AxisKind.Any:
        return None
    head = name.lower().partition("_")[0]
    if (head in _NEMO_LABELS and len(head) > 1) or _USUAL_LETTERS.get(head) is kind:
        return None
    return kind


@dataclass(frozen=True, slots=True, init=False)
class AxisType:
    """One axis: its kind, a fixed size (or None), NeMo's list flag, and the grammar's extras.

    Args:
        kind: an ``AxisKind`` (or user kind), or a label parsed with NeMo's rules.
        size: the fixed size, or None for any size.
        is_list: NeMo's list dimension (a Python list, not a tensor axis); excludes ``size``.
        name: the axis's spelling in an axes string; also its size variable within one call.
        variadic: stands for zero or more axes (``*batch``, ``...``).
        broadcast: size 1 is accepted wherever the size variable is bound (``#b``).
        expr: a size computed from other size variables (``T-1``).
    """

    kind: AxisKindLike
    size: int | None
    is_list: bool
    name: str | None
    variadic: bool
    broadcast: bool
    expr: DimExpr | None

    def __init__(
        self,
        kind: AxisKindLike | str,
        size: int | None = None,
        is_list: bool = False,
        *,
        name: str | None = None,
        variadic: bool = False,
        broadcast: bool = False,
        expr: DimExpr | None = None,
    ) -> None:
        if size is not None and is_list:
            raise ValueError("The axis can't be list and have a fixed size")
        if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
            raise ValueError(f"axis size must be a non-negative int or None, got {size!r}")
        resolved = AxisKind.from_str(kind) if isinstance(kind, str) else kind
        if not isinstance(resolved, (AxisKindAbstract, NamedAxisKind)):
            raise ValueError(f"axis kind must be an AxisKind or a string, got {kind!r}")
        for field_name, value in (
            ("kind", resolved),
            ("size", size),
            ("is_list", is_list),
            ("name", name),
            ("variadic", variadic),
            ("broadcast", broadcast),
            ("expr", expr),
        ):
            object.__setattr__(self, field_name, value)

    def __str__(self) -> str:
        """The axis as written in an axes string; ``parse_axes`` reads it back to an equal axis."""
        if self.variadic:
            return "..." if self.name is None else f"*{self.name}"
        if self.expr is not None:
            if self.name is not None:
                return f"{self.name}:{self.expr}"
            return f"_:{self.expr}" if self.kind is AxisKind.Any else str(self.expr)
        base = self.name if self.name is not None else ("_" if self.size is None else "")
        if self.broadcast:
            base = f"#{base}"
        if self.size is not None:
            return f"{base}:{self.size}" if base else str(self.size)
        if self.name is None and self.kind is not AxisKind.Any:
            return str(self.kind) + ("[list]" if self.is_list else "")
        return base

    def __repr__(self) -> str:
        parts = [repr(self.kind) if isinstance(self.kind, NamedAxisKind) else f"AxisKind.{self.kind.name}"]
        if self.size is not None:
            parts.append(f"size={self.size}")
        if self.is_list:
            parts.append("is_list=True")
        for flag in ("name", "variadic", "broadcast", "expr"):
            value = getattr(self, flag)
            if value not in (None, False):
                parts.append(f"{flag}={value!r}" if flag != "expr" else f"expr={str(value)!r}")
        return f"AxisType({', '.join(parts)})"
