"""Transforms that read what their input means: losses, sampling, ``topk`` and ``sort``.

``cross_entropy`` takes logits, ``nll_loss`` and ``ctc_loss`` log-probabilities, ``multinomial`` probabilities;
a loss reads the classes on one axis, and labels have the logits' axes without it.
"""

from __future__ import annotations

from mypy.nodes import StrExpr
from mypy.types import Instance

from ._carrier import TensorView
from ._contractions import kind_of, why_apart
from ._messages import (
    CROSS_ENTROPY_OF_PROBABILITIES,
    classes_not_on_axis_1,
    labels_do_not_fit,
    normalized_elsewhere,
    time_first_expected,
    wrong_meaning,
)
from ._tokens import is_unknown_kind, kind_name, render
from ._transforms import Call, Violation, known_tokens, with_tokens

_ELEMENTS = "neuraltypes.core._elements."


def _is(element: Instance | None, name: str) -> bool:
    return element is not None and element.type.has_base(_ELEMENTS + name)


def _refuse(operation: str, element: Instance | None, refused: tuple[str, ...], wanted: str, fix: str) -> None:
    """A ``Violation`` when ``element`` is one an operation cannot take: ``nll_loss`` given logits."""
    if element is not None and any(_is(element, name) for name in refused):
        raise Violation(wrong_meaning(operation, wanted, element.type.name, fix))


def cross_entropy(rule: object, call: Call) -> TensorView | None:
    """``F.cross_entropy(input, target)``: logits ``(N, C)`` or ``(N, C, d...)``, class labels ``(N, d...)``."""
    if _is(call.source.element, "ProbsType"):
        raise Violation(CROSS_ENTROPY_OF_PROBABILITIES)
    return _classification_loss("cross_entropy", call)


def nll_loss(rule: object, call: Call) -> TensorView | None:
    """``F.nll_loss(input, target)``: log-probabilities, as from ``log_softmax``."""
    refused = ("ProbsType", "LogitsType")
    _refuse("nll_loss", call.source.element, refused, "log-probabilities (LogprobsType)", "apply log_softmax first")
    tokens = known_tokens(call.source)
    if tokens is not None and len(tokens) >= 2:
        _refuse_normalized_elsewhere("nll_loss", call.source, tokens, 1)
    return _classification_loss("nll_loss", call)


def _refuse_normalized_elsewhere(name: str, source: TensorView, tokens: list[str], classes: int) -> None:
    """A loss reads the classes on one axis: log-probabilities normalized over another are not a distribution."""
    if source.normalized is None or source.normalized == classes or source.normalized >= len(tokens):
        return
    raise Violation(normalized_elsewhere(name, tokens, classes, source.normalized))


def _classification_loss(name: str, call: Call) -> TensorView | None:
    target = None if call.args is None else call.args.tensor(0, "target")
    logits = known_tokens(call.source)
    labels = None if target is None else known_tokens(target)
    if logits is not None and labels is not None and len(logits) >= 2 and len(labels) == len(logits) - 1:
        _check_labels(name, logits, labels)
    reduction = None if call.args is None else call.args.get(None, "reduction")
    if reduction is None and not call.is_module:
        return TensorView(call.source.info, "", None, None)
    if reduction is not None and isinstance(reduction.expression, StrExpr):
        if reduction.expression.value in ("mean", "sum"):
            return TensorView(call.source.info, "", None, None)
        if reduction.expression.value == "none" and labels is not None:
            return TensorView(call.source.info, " ".join(labels), None, None)
    return TensorView(call.source.info, None, None, None)


def _check_labels(name: str, logits: list[str], labels: list[str]) -> None:
    expected = [logits[0], *logits[2:]]
    problems = [(a, b) for a, b in zip(expected, labels, strict=True) if why_apart(a, b) is not None]
    # `(B, T, V)` logits with `(B, T)` labels, even where the class axis is unknown (`(B, T, ?)` from a head):
    # the labels are the logits' axes up to the last, which puts the classes last, not on axis 1.
    classes_last = len(logits) >= 3 and labels == logits[:-1] and not any(map(is_unknown_kind, labels))
    if not problems and not classes_last:
        return
    if classes_last or all(why_apart(a, b) is None for a, b in zip(logits[:-1], labels, strict=True)):
        raise Violation(classes_not_on_axis_1(name, logits, labels))
    a, b = problems[0]
    raise Violation(labels_do_not_fit(name, labels, b, logits, a))


def ctc_loss(rule: object, call: Call) -> TensorView | None:
    """``F.ctc_loss(log_probs, targets, input_lengths, target_lengths)``: log-probabilities, time first."""
    refused = ("ProbsType", "LogitsType")
    _refuse("ctc_loss", call.source.element, refused, "log-probabilities (LogprobsType)", "apply log_softmax first")
    tokens = known_tokens(call.source)
    if tokens is not None and len(tokens) == 3 and kind_of(tokens[0]) == "batch" and kind_of(tokens[1]) == "time":
        raise Violation(time_first_expected(tokens))
    if tokens is not None and len(tokens) == 3:
        _refuse_normalized_elsewhere("ctc_loss", call.source, tokens, 2)
    reduction = None if call.args is None else call.args.get(None, "reduction")
    if reduction is None and not call.is_module:
        return TensorView(call.source.info, "", None, None)
    return TensorView(call.source.info, None, None, None)


def top_k(rule: object, call: Call) -> tuple[TensorView, ...] | None:
    """``topk(k, dim=-1)``: values (meaning kept) and indices, ``k`` long on ``dim``."""
    tokens = known_tokens(call.source)
    if tokens is None or call.args is None:
        return None
    k = call.args.size(0, "k")
    dim = call.args.integer(1, "dim", -1)
    if dim is None or not -len(tokens) <= dim < len(tokens):
        return None
    dim %= len(tokens)
    resized = [*tokens[:dim], render(kind_name(tokens[dim]), k), *tokens[dim + 1 :]]
    values = with_tokens(call.source, resized)
    return values, TensorView(call.source.info, " ".join(resized), call.element, "int64")


def sort(rule: object, call: Call) -> tuple[TensorView, ...] | None:
    if call.source.axes is None and call.source.element is None:
        return None
    return call.source, TensorView(call.source.info, call.source.axes, call.element, "int64")


def sample(rule: object, call: Call) -> TensorView | None:
    """``torch.multinomial(probs, n)``: draws from probabilities; ``(N, C) -> (N, n)`` labels."""
    refused = ("LogitsType", "LogprobsType")
    _refuse("multinomial", call.source.element, refused, "probabilities (ProbsType)", "apply softmax first")
    tokens = known_tokens(call.source)
    count = None if call.args is None else call.args.size(0, "num_samples")
    if tokens is None or not 1 <= len(tokens) <= 2:
        return TensorView(call.source.info, None, call.element, "int64")
    return TensorView(call.source.info, " ".join([*tokens[:-1], render(None, count)]), call.element, "int64")
