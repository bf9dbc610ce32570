"""The wording of the plugin's diagnostics, in one place (their codes are in ``_codes``)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from neuraltypes.core import Misordered, Size, spell_type, surprising_kinds

from ._carrier import TensorView


def describe(view: TensorView) -> str:
    """A tensor type as the user wrote it: ``NT[Tensor, "B T C", EncodedRepresentation, "float"]``, spelt by
    the core, as run-time errors spell it."""
    return spell_type(view.axes, None if view.element is None else view.element.type.name, view.dtype)


#: The reasons of a mismatch that the axes' kinds decide, where a name's surprising kind is worth showing.
_KIND_REASONS = frozenset({"axes differ", "axes transposed"})


def reason(why: str, declared: TensorView, found: TensorView) -> str:
    """``axes differ; axis kinds: N (Batch)``: the reason, with the kinds of names whose kind is not obvious
    (``N`` is Batch, ``H`` Height) where the axes' kinds decided it."""
    if why not in _KIND_REASONS:
        return why
    note = surprising_kinds(*(view.axes for view in (found, declared) if view.axes is not None))
    return f"{why}; axis kinds: {note}" if note else why


def kinds_differ(*tokens: str) -> str:
    """``their kinds differ``, for axes facing each other, with the surprising kinds of their names."""
    note = surprising_kinds(*tokens)
    return f"their kinds differ; axis kinds: {note}" if note else "their kinds differ"


# Annotations -----------------------------------------------------------------------------------------------

_USAGE = 'write NT[Tensor, "B T C", ElementType, "dtype"] (element type and dtype optional)'
TOO_FEW_ARGUMENTS = f"NT needs at least a tensor type and an axes string: {_USAGE}"
NOT_A_TENSOR = f"NT's first argument must be torch.Tensor: {_USAGE}"
NOT_AN_AXES_STRING = f"NT's second argument must be an axes string: {_USAGE}"
NOT_AN_EXTRA = f"NT's extra arguments are an ElementType subclass and a dtype string: {_USAGE}"


def unreadable_annotation(why: str) -> str:
    return f"Cannot read neural type annotation: {why}"


def erased_call(callee: str) -> str:
    """Why ``NT[Tensor, "B T", AudioSignal(16000)]`` cannot be read: mypy keeps no call in a type."""
    return (
        f"{callee}(...) is a call, which mypy erases: write the class, {callee}; its parameters are checked at run time"
    )


def two_dtypes(first: str, second: str) -> str:
    return f'NT got two dtypes: "{first}" and "{second}"'


def two_element_types(first: str, second: str) -> str:
    return f"NT got two element types: {first} and {second}"


# Calls -----------------------------------------------------------------------------------------------------


def argument_mismatch(callee: str, argument: str, declared: TensorView, found: TensorView, why: str) -> str:
    return (
        f'Argument "{argument}" to {callee} has incompatible neural type {describe(found)}; '
        f"expected {describe(declared)} ({reason(why, declared, found)})"
    )


def size_clash(callee: str, argument: str, axis: str, found: str, earlier_argument: str, earlier: str) -> str:
    return (
        f'Argument "{argument}" to {callee} has incompatible size for axis "{axis}": '
        f'"{found}", but argument "{earlier_argument}" gave it "{earlier}"'
    )


def sequential_item(index: int, label: str) -> str:
    """Where in an ``nn.Sequential`` a checked call happens: ``item 2 of "net"``."""
    return f'item {index} of "{label}"'


def naming_the_item(message: str, where: str) -> str:
    """A call's message, naming the item of the ``nn.Sequential`` called: ``"forward" of "Block" (item 2 of "net")
    has incompatible ...``."""
    return message.replace(" has incompatible ", f" ({where}) has incompatible ", 1)


# Overrides -------------------------------------------------------------------------------------------------


def narrowed_input(argument: str | None, parent: str, child: TensorView, parent_view: TensorView, why: str) -> str:
    return (
        f'Argument "{argument}" of "forward" is incompatible with supertype "{parent}": '
        f"it accepts {describe(child)}, the supertype accepts {describe(parent_view)} "
        f"({reason(why, child, parent_view)})"
    )


def widened_output(parent: str, child: TensorView, parent_view: TensorView, why: str) -> str:
    return (
        f'Return type of "forward" is incompatible with supertype "{parent}": '
        f"it returns {describe(child)}, the supertype returns {describe(parent_view)} "
        f"({reason(why, parent_view, child)})"
    )


# Returns and branches --------------------------------------------------------------------------------------


def returned_rank(found: str, declared: str, found_rank: int, declared_rank: int) -> str:
    return f'Returns "{found}" where "{declared}" is declared: {found_rank} axes, not {declared_rank}'


def returned_axis(found: str, declared: str, index: int, token: str, faced: str, why: str) -> str:
    return f'Returns "{found}" where "{declared}" is declared: axis {index} "{token}" faces "{faced}": {why}'


def branches_disagree(first: str, second: str) -> str:
    return (
        f'Conditional expression gives "{first}" in one branch and "{second}" in the other: their axes are of '
        "other kinds, so what follows depends on the condition; one branch takes the wrong axes"
    )


# Operations: a ``Violation`` of a transform, wrong for every size --------------------------------------------


def _spelled(tokens: Sequence[str]) -> str:
    return f'"{" ".join(tokens)}"'


def product_apart(a: Sequence[str], left: str, b: Sequence[str], right: str, why: str, transposable: bool) -> str:
    hint = " (transpose the second operand: .transpose(-2, -1))" if transposable else ""
    return f'Matrix product contracts axis "{left}" of {_spelled(a)} with axis "{right}" of {_spelled(b)}: {why}{hint}'


def unnormalized_sum(tokens: Sequence[str], summed: int, normalized: int) -> str:
    """Softmax weights summed by a product over another axis than the one they sum to one along."""
    return (
        f'Matrix product sums {_spelled(tokens)} over axis {summed - len(tokens)} ("{tokens[summed]}"), but its '
        f'values were normalized over axis {normalized - len(tokens)} ("{tokens[normalized]}"): softmax over the '
        f"axis the product sums over (dim={summed - len(tokens)})"
    )


def query_key_apart(q: Sequence[str], k: Sequence[str], why: str) -> str:
    return (
        f'Attention compares axis "{q[-1]}" of the query {_spelled(q)} with axis "{k[-1]}" of the key '
        f"{_spelled(k)}: {why}"
    )


def key_value_apart(operation: str, k: Sequence[str], a: str, v: Sequence[str], b: str, why: str) -> str:
    return f'{operation} pairs axis "{a}" of the key {_spelled(k)} with axis "{b}" of the value {_spelled(v)}: {why}'


def batch_first_expected(q: Sequence[str]) -> str:
    return (
        f"MultiheadAttention built without batch_first=True takes (T, B, D), sequence first; it got "
        f"{_spelled(q)}: build it with batch_first=True, or pass query.transpose(0, 1)"
    )


def einsum_apart(
    equation: str, letter: str, earlier_tokens: Sequence[str], earlier: str, tokens: Sequence[str], token: str, why: str
) -> str:
    return (
        f'einsum "{equation}" pairs axis "{earlier}" of {_spelled(earlier_tokens)} with axis '
        f'"{token}" of {_spelled(tokens)} (both "{letter}"): {why}'
    )


def lined_up_apart(what: str, a: Sequence[str], x: str, b: Sequence[str], y: str, why: str) -> str:
    """Two tensors broadcast (or a mask applied) with axes that face each other and differ."""
    return (
        f'{what} {_spelled(a)} with {_spelled(b)} lines up axis "{x}" with axis "{y}": {why} (add the missing '
        "axis with [..., None] or .unsqueeze(), or move the axes first)"
    )


def joined_apart(position: int, first: Sequence[str], tokens: Sequence[str], index: int, why: str) -> str:
    return (
        f'cat along axis {position} joins {_spelled(first)} with {_spelled(tokens)}: axis {index} "'
        f'{first[index]}" faces "{tokens[index]}": {why}; only the joined axis may differ'
    )


def wrong_meaning(operation: str, wanted: str, got: str, fix: str) -> str:
    """An operation given elements it cannot take: ``nll_loss`` given logits."""
    return f"{operation} takes {wanted}; it got {got}: {fix}"


CROSS_ENTROPY_OF_PROBABILITIES = (
    "cross_entropy takes logits and applies log_softmax itself; it got probabilities (ProbsType): "
    "pass the logits from before the softmax"
)


def normalized_elsewhere(loss: str, tokens: Sequence[str], classes: int, normalized: int) -> str:
    return (
        f'{loss} reads the classes of {_spelled(tokens)} on axis {classes} ("{tokens[classes]}"), but the '
        f'log-probabilities were normalized over axis {normalized} ("{tokens[normalized]}"): '
        "log_softmax over the class axis"
    )


def classes_not_on_axis_1(loss: str, logits: Sequence[str], labels: Sequence[str]) -> str:
    return (
        f"{loss} takes the classes on axis 1: logits {_spelled(logits)} with labels {_spelled(labels)} read "
        f'"{logits[1]}" as the classes; flatten both (logits.view(-1, logits.size(-1)), labels.view(-1)) '
        "or move the class axis (logits.transpose(1, 2))"
    )


def labels_do_not_fit(loss: str, labels: Sequence[str], label: str, logits: Sequence[str], logit: str) -> str:
    return (
        f'{loss}: labels {_spelled(labels)} do not fit logits {_spelled(logits)} (axis "{label}" faces "{logit}"); '
        "labels have the logits' axes without the class axis (axis 1)"
    )


def time_first_expected(tokens: Sequence[str]) -> str:
    return (
        f"ctc_loss takes log-probabilities (T, N, C), time first; it got {_spelled(tokens)}: "
        "pass log_probs.transpose(0, 1)"
    )


def channels_first_expected(layer: str, spatial: int, tokens: Sequence[str]) -> str:
    return (
        f"{layer} takes its channels first, ({'N, C, L' if spatial == 1 else 'N, C, H, W'}); it got "
        f"{_spelled(tokens)}, channels last: move the channels first (e.g. .transpose(1, 2))"
    )


def over_the_batch(operation: str, dim: int, tokens: Sequence[str]) -> str:
    """``softmax`` or ``argmax`` over the batch axis: it mixes the examples of a batch."""
    return (
        f'{operation} over axis {dim} ("{tokens[dim]}") of {_spelled(tokens)} runs across the examples of a batch; '
        "name the axis of the classes (dim=-1)"
    )


def interleaving_merge(names: Sequence[str], order: Sequence[str], total: str, split: Sequence[str]) -> str:
    return (
        f"rearrange merges ({' '.join(names)}) from pieces of sizes ({', '.join(order)}), but this "
        f"function split that axis ({total}) into ({', '.join(split)}): the elements are interleaved; merge "
        "the pieces in the order they were split"
    )


def _shape(target: Sequence[Size | None]) -> str:
    return ", ".join("?" if size is None else str(size) for size in target)


def elements_not_kept(
    what: str, tokens: Sequence[str], target: Sequence[Size | None], before: Size, after: Size
) -> str:
    return (
        f"{what} of {_spelled(tokens)} to ({_shape(target)}) does not keep the number of elements: {before} "
        f"elements become {after}"
    )


def misordered_reshape(what: str, tokens: Sequence[str], target: Sequence[Size | None], misorder: Misordered) -> str:
    """A reshape whose target axes are made of source axes that are not adjacent in that order."""
    made = [
        f"{target[j]} from {' and '.join(f'{tokens[s]!r}' for s in sources)}"
        for j, sources in zip(misorder.target, misorder.sources, strict=True)
        if len(sources) > 1 or any(b < a for a, b in itertools.pairwise(sources))
    ] or [
        f"{target[j]} from {' and '.join(repr(tokens[s]) for s in sources)}"
        for j, sources in zip(misorder.target, misorder.sources, strict=True)
    ]
    return (
        f"{what} of {_spelled(tokens)} to ({_shape(target)}) takes its axes out of order: {'; '.join(made)}, which "
        "are not adjacent in that order, so elements move between axes without an error; move the axes next to "
        "each other first (e.g. .transpose(1, 2).contiguous())"
    )


# reveal_neural_type ----------------------------------------------------------------------------------------

UNKNOWN_TO_MYPY = "Neural type is unknown: mypy sees Any"


def revealed(view: TensorView | None) -> str:
    """The note of ``reveal_neural_type(x)``: what the plugin knows of ``x``, as the user would write it."""
    if view is None:
        return "Neural type is not known: not a tensor"
    return f"Neural type is {describe(view)}" if view.known else "Neural type is unknown"
