"""Per-call overhead of the run-time check, as ratios to the plain call, measured interleaved in one run.

    python benchmarks/runtime_overhead.py            # about a minute on a quiet 2-core machine
    python benchmarks/runtime_overhead.py --rounds 5 # quicker, noisier

Cases (issue 3): (a) ``f(x, y) -> x + y`` on three ``"b t c"`` tensors of 2x3x4; (b) a ``Linear(32,32)+ReLU``
module forward on 8x16x32; (c) the same with checks switched off. Each against the plain call, jaxtyping +
beartype, and a NeMo-style class (types in ``input_types``/``output_types`` properties, keyword calls).

Every round times each variant once, in a shuffled order; a variant's ratio is the median over rounds of its
time divided by the plain call's time in the same round, so machine load affects both sides of each ratio
alike. The "best" column divides the best round of the variant by the best round of the plain call, the
figure least disturbed by other processes on a shared machine.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch
from beartype import beartype
from jaxtyping import Float, jaxtyped
from torch import Tensor, nn

from neuraltypes import NT, EncodedRepresentation, NeuralType
from neuraltypes.runtime import disable_checks, typecheck

Call = Callable[[], Any]


# -- (a) a small function --------------------------------------------------------------------------------------
def add_plain(x: Tensor, y: Tensor) -> Tensor:
    return x + y


@typecheck
def add_checked(x: NT[Tensor, "b t c"], y: NT[Tensor, "b t c"]) -> NT[Tensor, "b t c"]:
    return x + y


@jaxtyped(typechecker=beartype)
def add_jaxtyping(x: Float[Tensor, "b t c"], y: Float[Tensor, "b t c"]) -> Float[Tensor, "b t c"]:
    return x + y


class AddNemo:
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
    @typecheck
    def forward(self, x: NT[Tensor, "b t 32", EncodedRepresentation, "float"]) -> NT[Tensor, "b t 32"]:
        return torch.relu(self.linear(x))


class BlockJaxtyping(BlockPlain):
    @jaxtyped(typechecker=beartype)
    def forward(self, x: Float[Tensor, "b t 32"]) -> Float[Tensor, "b t 32"]:
        return torch.relu(self.linear(x))


class BlockNemo(BlockPlain):
    @property
    def input_types(self) -> dict[str, NeuralType]:
        return {"x": NeuralType(("B", "T", "D"), EncodedRepresentation())}

    @property
    def output_types(self) -> dict[str, NeuralType]:
        return {"y": NeuralType(("B", "T", "D"))}

    @typecheck()
    def forward(self, x):  # type: ignore[no-untyped-def]
        return torch.relu(self.linear(x))


def _variants() -> dict[str, dict[str, Call]]:
    x, y = torch.ones(2, 3, 4), torch.ones(2, 3, 4)
    nemo_add = AddNemo()
    features = torch.randn(8, 16, 32)
    plain, checked, jax, nemo = BlockPlain(), BlockChecked(), BlockJaxtyping(), BlockNemo()
    for module in (checked, jax, nemo):
        module.load_state_dict(plain.state_dict())
    return {
        "(a) f(x, y) -> x + y, 2x3x4": {
            "plain": lambda: add_plain(x, y),
            "neuraltypes": lambda: add_checked(x, y),
            "neuraltypes, keyword call": lambda: add_checked(x=x, y=y),
            "neuraltypes, NeMo-style class": lambda: nemo_add(x=x, y=y),
            "jaxtyping + beartype": lambda: add_jaxtyping(x, y),
        },
        "(b) Linear(32,32)+ReLU forward, 8x16x32": {
            "plain": lambda: plain(features),
            "neuraltypes": lambda: checked(features),
            "neuraltypes, NeMo-style class": lambda: nemo(x=features),
            "jaxtyping + beartype": lambda: jax(features),
        },
    }


def _disabled(variants: dict[str, Call]) -> dict[str, Call]:
    """The checked call inside ``disable_checks()``; the block is entered per timing loop, not per call."""
    return {"plain": variants["plain"], "neuraltypes, checks disabled": _Disabled(variants["neuraltypes"])}


class _Disabled:
    def __init__(self, call: Call) -> None:
        self.call = call

    def __call__(self) -> Any:
        return self.call()


def _time(call: Call, number: int) -> float:
    if isinstance(call, _Disabled):
        with disable_checks():
            return _time(call.call, number)
    start = time.perf_counter()
    for _ in range(number):
        call()
    return (time.perf_counter() - start) / number


def _measure(variants: dict[str, Call], rounds: int, number: int) -> dict[str, tuple[float, float, float]]:
    """name -> (best seconds per call, median of the per-round ratios to plain, best over best plain)."""
    for call in variants.values():
        call()  # warm up: first-call work, caches
    order = list(variants)
    shuffle = random.Random(0).shuffle
    seconds: dict[str, list[float]] = {name: [] for name in variants}
    ratios: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        shuffle(order)  # no variant always runs right after another
        this_round = {name: _time(variants[name], number) for name in order}
        for name, value in this_round.items():
            seconds[name].append(value)
            ratios[name].append(value / this_round["plain"])
    best_plain = min(seconds["plain"])
    return {
        name: (min(seconds[name]), statistics.median(ratios[name]), min(seconds[name]) / best_plain)
        for name in variants
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--calls", type=int, default=1000, help="calls per variant per round (case a)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    cases = _variants()
    (name_a, case_a), (name_b, case_b) = cases.items()
    runs = [
        (name_a, case_a, args.calls),
        (name_b, case_b, max(args.calls // 20, 20)),
        ("(c) checks disabled: " + name_a[4:], _disabled(case_a), args.calls),
        ("(c) checks disabled: " + name_b[4:], _disabled(case_b), max(args.calls // 20, 20)),
    ]
    print(
        f"torch {torch.__version__}, 1 thread, {args.rounds} interleaved rounds in shuffled order;\n"
        "ratio: median over rounds of (variant / plain in the same round); best: best variant / best plain"
    )
    for title, variants, number in runs:
        print(f"\n{title}")
        print(f"  {'variant':34} {'best':>10} {'ratio':>8} {'best':>8}")
        for name, (seconds, ratio, best) in _measure(variants, args.rounds, number).items():
            print(f"  {name:34} {seconds * 1e6:8.2f}us {ratio:7.2f}x {best:7.2f}x")


if __name__ == "__main__":
    main()
