"""Per-call overhead of the run-time check, as ratios to the plain call, measured interleaved in one run.

    python benchmarks/runtime_overhead.py             # about a minute on a quiet 2-core machine
    python benchmarks/runtime_overhead.py --rounds 50 # quicker, noisier

Cases (issue 3): (a) ``f(x, y) -> x + y`` on three ``"b t c"`` tensors of 2x3x4; (b) a ``Linear(32,32)+ReLU``
module forward on 8x16x32; (c) the same with checks switched off. Each against the plain call, jaxtyping +
beartype, and a NeMo-style class (types in ``input_types``/``output_types`` properties, keyword calls, checked
by our ``@typecheck`` in its NeMo mode: NeMo itself is not a dependency; ``../shared/reference/peers.md`` has
NeMo's own figures). Both forms of ``@typecheck`` are timed, each named explicitly so that the figures do not
depend on the default: "instrumented" is ``@typecheck(instrument=True)``, the function recompiled with its checks
in it; "wrapper" is ``@typecheck(instrument=False)``, a generated wrapper around the function (the default, and
what runs when the source is not available, for a ``return`` inside ``try``/``with``, and for generators). In
(b), "output tagged" declares an element type on the output as well, so every call also writes the output's tag.
"hand-written checks" is the same checks of classes, shapes and dtypes (not of element types) written by hand
as ``if ...: raise`` statements in the function, the fastest way we know: the floor for checking them in Python.
In (c), checks are switched off with ``disable_checks()`` (per thread) and, for jaxtyping, with its
process-wide ``jaxtyping_disable``; ``NEURALTYPES_DISABLE=1`` is not timed: with it ``@typecheck`` returns the
function itself, which is the plain call.

After the cases, "instrumented vs wrapper" sets the two forms side by side: per case, the median over rounds of
the instrumented time over the wrapper's in the same round, with its 95% interval (below 1: the instrumented form
is faster). Run it more than once: the run-to-run spread of that median is the noise a difference must exceed.

Many short rounds (a fraction of a millisecond per variant), each timing every variant once in a shuffled
order, so that a burst of load from other processes falls on a few rounds and on both sides of their ratios.
For each variant:

* ``ratio``: the median over rounds of its time over the plain call's time in the same round, with a 95%
  confidence interval of that median (from the order statistics of the per-round ratios);
* ``added``: the median over rounds of its time minus the plain call's, in microseconds per call;
* ``best``: its best round over the plain call's best round, the figure least disturbed by other processes.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, NamedTuple

os.environ.setdefault("OMP_NUM_THREADS", "1")

import jaxtyping
import torch
from beartype import beartype
from jaxtyping import Float, jaxtyped
from torch import Tensor, nn

from neuraltypes import NT, EncodedRepresentation, NeuralType, Typing
from neuraltypes.runtime import disable_checks, disable_semantic_checks, typecheck

Call = Callable[[], Any]
INSTRUMENTED, WRAPPER = "neuraltypes, instrumented", "neuraltypes, wrapper"  # the two forms, set side by side
_FLOATS = (torch.float32, torch.float16, torch.bfloat16, torch.float64)  # what "float" means, most common first


# -- (a) a small function --------------------------------------------------------------------------------------
def add_plain(x: Tensor, y: Tensor) -> Tensor:
    return x + y


@typecheck(instrument=True)
def add_checked(x: NT[Tensor, "b t c"], y: NT[Tensor, "b t c"]) -> NT[Tensor, "b t c"]:
    return x + y


@typecheck(instrument=False)
def add_wrapped(x: NT[Tensor, "b t c"], y: NT[Tensor, "b t c"]) -> NT[Tensor, "b t c"]:
    return x + y


def add_by_hand(x: Tensor, y: Tensor) -> Tensor:
    """The checks of ``add_checked`` but the tag reads, written by hand the fastest way we know."""
    if not isinstance(x, Tensor):
        raise TypeError("x")
    shape = x.shape
    if len(shape) != 3 or not isinstance(y, Tensor) or y.shape != shape:
        raise TypeError("x, y")
    result = x + y
    if not isinstance(result, Tensor) or result.shape != shape:
        raise TypeError("result")
    return result


@jaxtyped(typechecker=beartype)
def add_jaxtyping(x: Float[Tensor, "b t c"], y: Float[Tensor, "b t c"]) -> Float[Tensor, "b t c"]:
    return x + y


class AddNemo(Typing):
    """NeMo's style: unannotated method, types in properties, keyword calls."""

    @property
    def input_types(self) -> dict[str, NeuralType]:
        return {"x": NeuralType(("B", "T", "C")), "y": NeuralType(("B", "T", "C"))}

    @property
    def output_types(self) -> dict[str, NeuralType]:
        return {"out": NeuralType(("B", "T", "C"))}

    @typecheck()
    def __call__(self, x, y):  # type: ignore[no-untyped-def]
        return x + y


# -- (b) a Linear+ReLU module -----------------------------------------------------------------------------------
class BlockPlain(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(32, 32)

    def forward(self, x: Tensor) -> Tensor:
        return torch.relu(self.linear(x))


class BlockChecked(BlockPlain):
    @typecheck(instrument=True)
    def forward(self, x: NT[Tensor, "b t 32", EncodedRepresentation, "float"]) -> NT[Tensor, "b t 32"]:
        return torch.relu(self.linear(x))


class BlockTagging(BlockPlain):
    """(b) with an element type on the output too: each call also writes the output's tag."""

    @typecheck(instrument=True)
    def forward(
        self, x: NT[Tensor, "b t 32", EncodedRepresentation, "float"]
    ) -> NT[Tensor, "b t 32", EncodedRepresentation]:
        return torch.relu(self.linear(x))


class BlockTaggingWrapped(BlockPlain):
    @typecheck(instrument=False)
    def forward(
        self, x: NT[Tensor, "b t 32", EncodedRepresentation, "float"]
    ) -> NT[Tensor, "b t 32", EncodedRepresentation]:
        return torch.relu(self.linear(x))


class BlockWrapped(BlockPlain):
    @typecheck(instrument=False)
    def forward(self, x: NT[Tensor, "b t 32", EncodedRepresentation, "float"]) -> NT[Tensor, "b t 32"]:
        return torch.relu(self.linear(x))


class BlockByHand(BlockPlain):
    """The checks of ``BlockChecked`` but the tag reads, written by hand the fastest way we know."""

    def forward(self, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor):
            raise TypeError("x")
        shape = x.shape
        if len(shape) != 3 or shape[2] != 32 or x.dtype not in _FLOATS:
            raise TypeError("x")
        result = torch.relu(self.linear(x))
        if not isinstance(result, Tensor) or result.shape != shape:
            raise TypeError("result")
        return result


class BlockJaxtyping(BlockPlain):
    @jaxtyped(typechecker=beartype)
    def forward(self, x: Float[Tensor, "b t 32"]) -> Float[Tensor, "b t 32"]:
        return torch.relu(self.linear(x))


class BlockNemo(Typing, BlockPlain):
    @property
    def input_types(self) -> dict[str, NeuralType]:
        return {"x": NeuralType(("B", "T", "D"), EncodedRepresentation())}

    @property
    def output_types(self) -> dict[str, NeuralType]:
        return {"y": NeuralType(("B", "T", "D"))}

    @typecheck()
    def forward(self, x):  # type: ignore[no-untyped-def]
        return torch.relu(self.linear(x))


def add_passthrough(x: Tensor, y: Tensor) -> Tensor:
    """What any wrapper costs before it reads a switch: a Python function that passes its arguments on."""
    return add_plain(x, y)


class BlockPassthrough(BlockPlain):
    def forward(self, x: Tensor) -> Tensor:
        return BlockPlain.forward(self, x)


def _cases() -> dict[str, dict[str, Call]]:
    """Each case's variants; "plain" is the baseline of its case."""
    x, y = torch.ones(2, 3, 4), torch.ones(2, 3, 4)
    nemo_add = AddNemo()
    features = torch.randn(8, 16, 32)
    plain, checked, jax, nemo = BlockPlain(), BlockChecked(), BlockJaxtyping(), BlockNemo()
    passthrough, wrapped, by_hand = BlockPassthrough(), BlockWrapped(), BlockByHand()
    tagging, tagging_wrapped = BlockTagging(), BlockTaggingWrapped()
    for module in (checked, jax, nemo, passthrough, wrapped, tagging, tagging_wrapped, by_hand):
        # One Linear, the same weight tensors: a copy's memory placement alone moves the forward by up to 0.5 us.
        module.linear = plain.linear
    name_a, name_b = "f(x, y) -> x + y, 2x3x4", "Linear(32,32)+ReLU forward, 8x16x32"
    return {
        f"(a) {name_a}": {
            "plain": lambda: add_plain(x, y),
            INSTRUMENTED: lambda: add_checked(x, y),
            WRAPPER: lambda: add_wrapped(x, y),
            "neuraltypes, instrumented, keyword call": lambda: add_checked(x=x, y=y),
            "neuraltypes, wrapper, keyword call": lambda: add_wrapped(x=x, y=y),
            "neuraltypes, NeMo-style class": lambda: nemo_add(x=x, y=y),
            "jaxtyping + beartype": lambda: add_jaxtyping(x, y),
            "hand-written checks": lambda: add_by_hand(x, y),
        },
        f"(b) {name_b}": {
            "plain": lambda: plain(features),
            INSTRUMENTED: lambda: checked(features),
            WRAPPER: lambda: wrapped(features),
            "neuraltypes, instrumented, semantic off": _Within(disable_semantic_checks, lambda: checked(features)),
            "neuraltypes, wrapper, semantic off": _Within(disable_semantic_checks, lambda: wrapped(features)),
            "neuraltypes, instrumented, output tagged": lambda: tagging(features),
            "neuraltypes, wrapper, output tagged": lambda: tagging_wrapped(features),
            "neuraltypes, NeMo-style class": lambda: nemo(x=features),
            "jaxtyping + beartype": lambda: jax(features),
            "hand-written checks": lambda: by_hand(features),
        },
        # The checked call inside ``disable_checks()`` (``_Within``: entered per timing loop, not per call); what any
        # Python wrapper costs before it reads a switch (the floor of the wrapper, not of the instrumented code).
        f"(c)(a) checks disabled: {name_a}": {
            "plain": lambda: add_plain(x, y),
            INSTRUMENTED: _Within(disable_checks, lambda: add_checked(x, y)),
            WRAPPER: _Within(disable_checks, lambda: add_wrapped(x, y)),
            "neuraltypes, NeMo-style class": _Within(disable_checks, lambda: nemo_add(x=x, y=y)),
            "jaxtyping + beartype": _Within(_jaxtyping_disabled, lambda: add_jaxtyping(x, y)),
            "pass-through wrapper": lambda: add_passthrough(x, y),
        },
        f"(c)(b) checks disabled: {name_b}": {
            "plain": lambda: plain(features),
            INSTRUMENTED: _Within(disable_checks, lambda: checked(features)),
            WRAPPER: _Within(disable_checks, lambda: wrapped(features)),
            "neuraltypes, NeMo-style class": _Within(disable_checks, lambda: nemo(x=features)),
            "jaxtyping + beartype": _Within(_jaxtyping_disabled, lambda: jax(features)),
            "pass-through wrapper": lambda: passthrough(features),
        },
    }


@contextmanager
def _jaxtyping_disabled() -> Iterator[None]:
    """jaxtyping's own switch (``JAXTYPING_DISABLE``), read on every call; process-wide."""
    jaxtyping.config.update("jaxtyping_disable", True)
    try:
        yield
    finally:
        jaxtyping.config.update("jaxtyping_disable", False)


class _Within:
    """A call timed inside a switch's ``with`` block (entered once per timing loop)."""

    def __init__(self, switch: Callable[[], AbstractContextManager[None]], call: Call) -> None:
        self.switch = switch
        self.call = call

    def __call__(self) -> Any:
        with self.switch():
            return self.call()


def _time(call: Call, number: int) -> float:
    if isinstance(call, _Within):
        with call.switch():
            return _time(call.call, number)
    start = time.perf_counter()
    for _ in range(number):
        call()
    return (time.perf_counter() - start) / number


class Result(NamedTuple):
    seconds: float  # best round, per call
    ratio: float  # median over rounds of variant / plain
    low: float  # 95% confidence interval of that median
    high: float
    added: float  # median over rounds of variant - plain, seconds per call
    best: float  # best round / best plain round


def _median_interval(values: list[float]) -> tuple[float, float, float]:
    """The median and a distribution-free 95% confidence interval for it (binomial order statistics)."""
    ordered = sorted(values)
    n = len(ordered)
    half_width = 0.98 * math.sqrt(n)  # 1.96 * sqrt(n) / 2 ranks either side of the middle
    low = max(math.floor(n / 2 - half_width), 0)
    high = min(math.ceil(n / 2 + half_width), n - 1)
    return statistics.median(ordered), ordered[low], ordered[high]


def _measure(variants: dict[str, Call], rounds: int, number: int) -> dict[str, list[float]]:
    """Each variant's time per call in each round; every round times every variant once, in a shuffled order."""
    for call in variants.values():
        for _ in range(number):
            call()  # warm up: first-call work, caches
    order = list(variants)
    shuffle = random.Random(0).shuffle
    seconds: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        shuffle(order)  # no variant always runs right after another
        for name in order:
            seconds[name].append(_time(variants[name], number))
    return seconds


def _against(seconds: dict[str, list[float]], baseline: str) -> dict[str, Result]:
    """Each variant against ``baseline``, round by round (see the module's docstring)."""
    base = seconds[baseline]
    results = {}
    for name, times in seconds.items():
        ratio, low, high = _median_interval([t / b for t, b in zip(times, base, strict=True)])
        added = statistics.median(t - b for t, b in zip(times, base, strict=True))
        results[name] = Result(min(times), ratio, low, high, added, min(times) / min(base))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1000)
    parser.add_argument("--calls", type=int, default=200, help="calls per variant per round (case a)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    calls_b = max(args.calls // 4, 5)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"torch {torch.__version__}, 1 thread, {args.rounds} interleaved rounds in shuffled order, "
        f"load average {load:.2f} at the start;\n"
        "ratio: median over rounds of (variant / plain in the same round) [95% interval of that median];\n"
        "added: median over rounds of (variant - plain) per call; best: best variant round / best plain round"
    )
    side_by_side: dict[str, Result] = {}
    for title, variants in _cases().items():
        number = calls_b if "Linear" in title else args.calls
        print(f"\n{title} ({number} calls per variant per round)")
        print(f"  {'variant':41} {'best':>9} {'ratio':>7} {'[95% interval]':>16} {'added':>9} {'best':>7}")
        seconds = _measure(variants, args.rounds, number)
        for name, r in _against(seconds, "plain").items():
            print(
                f"  {name:41} {r.seconds * 1e6:7.2f}us {r.ratio:6.3f}x [{r.low:6.3f}, {r.high:6.3f}] "
                f"{r.added * 1e6:+7.2f}us {r.best:6.3f}x"
            )
        for name in variants:
            if "instrumented" in name:  # against the wrapper variant of the same name, round by round
                pair = _against(seconds, name.replace("instrumented", "wrapper"))[name]
                variant = name.removeprefix(INSTRUMENTED).removeprefix(", ")  # "", "keyword call" ...
                side_by_side[f"{title.split()[0]} {variant}".strip()] = pair  # "(b) output tagged"
    print("\ninstrumented vs wrapper: median over rounds of (instrumented / wrapper in the same round)")
    print(f"  {'case, variant':41} {'ratio':>7} {'[95% interval]':>16} {'added':>9}")
    for label, r in side_by_side.items():
        print(f"  {label:41} {r.ratio:6.3f}x [{r.low:6.3f}, {r.high:6.3f}] {r.added * 1e6:+7.2f}us")
    if hasattr(os, "getloadavg"):
        print(f"\nload average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
