"""Export of the demo model (the keyword classifier), and its inference under onnxruntime, as ratios in one run.

    python benchmarks/export_bench.py                                   # about two minutes on 2 cores
    python benchmarks/export_bench.py --export-rounds 2 --rounds 20     # quicker, noisier

(a) Export time. Baselines: ``torch.export.export`` with ``dynamic_shapes`` written by hand (the ``Dim``s and the
``min=80`` the preprocessor needs, known in advance: the best a user can do), and that plus ``torch.onnx.export``
with input and output names by hand. Against them: ``export_program`` (shapes derived from the types, refined
by what the module needs, which costs a second trace here, then checked against the ports) and ``export_onnx``
(the same, then ONNX with axes named after the sizes, the typed signature in the metadata, the file checked
against the ports, and the program's run-time asserts checked for every size).

(b) Inference latency at two sizes, neither the export's example: onnxruntime (CPU, one thread) against eager
torch (one thread, ``no_grad``), and the exported program.

Rounds are interleaved in a shuffled order, so that a burst of load falls on both sides of a ratio; each ratio is
the median over rounds of (variant / baseline in the same round), with a 95% interval of that median.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import random
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import onnxruntime  # type: ignore[import-untyped]
import torch
from neuraltypes_modules.configs import keyword_classifier_config
from neuraltypes_modules.keyword_classifier import KeywordClassifier
from torch.export import Dim

from neuraltypes.export import export_onnx, export_program

Call = Callable[[], Any]


def _median_interval(values: list[float]) -> tuple[float, float, float]:
    """The median and a distribution-free 95% confidence interval for it (binomial order statistics)."""
    ordered = sorted(values)
    n = len(ordered)
    half_width = 0.98 * math.sqrt(n)
    low = max(math.floor(n / 2 - half_width), 0)
    high = min(math.ceil(n / 2 + half_width), n - 1)
    return statistics.median(ordered), ordered[low], ordered[high]


def _rounds(variants: dict[str, Call], rounds: int, number: int) -> dict[str, list[float]]:
    """Seconds per call of each variant, per round, the variants in a shuffled order each round."""
    order = list(variants)
    shuffle = random.Random(0).shuffle
    seconds: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        shuffle(order)
        for name in order:
            start = time.perf_counter()
            for _ in range(number):
                variants[name]()
            seconds[name].append((time.perf_counter() - start) / number)
    return seconds


def _report(seconds: dict[str, list[float]], baselines: dict[str, list[str]]) -> None:
    print(f"  {'variant':50} {'median':>9} {'ratio':>8} {'[95% interval]':>18}  against")
    for name, values in seconds.items():
        against = baselines.get(name)
        median = statistics.median(values)
        if against is None:
            print(f"  {name:50} {_shown(median):>9} {'':>8} {'':>18}  (baseline)")
            continue
        ratios = [value / sum(seconds[b][i] for b in against) for i, value in enumerate(values)]
        ratio, low, high = _median_interval(ratios)
        print(f"  {name:50} {_shown(median):>9} {ratio:7.2f}x [{low:6.2f}, {high:6.2f}]x  {' + '.join(against)}")


def _shown(seconds: float) -> str:
    return f"{seconds:.2f} s" if seconds >= 0.1 else f"{seconds * 1e3:.2f} ms"


def _export_variants(model: KeywordClassifier, example: tuple[torch.Tensor, ...], folder: Path) -> dict[str, Call]:
    by_hand = {"input_signal": {0: Dim("B"), 1: Dim("T_audio", min=80)}, "input_signal_length": {0: Dim("B")}}
    inputs, outputs = ["input_signal", "input_signal_length"], ["logits"]

    def hand_export() -> torch.export.ExportedProgram:
        return torch.export.export(model, example, dynamic_shapes=by_hand)

    program = hand_export()

    def hand_onnx() -> None:
        torch.onnx.export(
            program, (), str(folder / "hand.onnx"), dynamo=True, verbose=False, input_names=inputs, output_names=outputs
        )

    return {
        "torch.export, Dims by hand": hand_export,
        "torch.onnx.export of that program, names by hand": hand_onnx,
        "export_program: derived, refined, checked": lambda: export_program(model, example),
        "export_onnx: derived, named, typed, checked": lambda: export_onnx(model, folder / "ours.onnx", example),
    }


def _inference_variants(model: KeywordClassifier, path: Path, batch: int, samples: int) -> dict[str, Call]:
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    x, lengths = torch.randn(batch, samples), torch.full((batch,), samples)
    lengths[0] = samples // 2
    feed = {"input_signal": x.numpy(), "input_signal_length": lengths.numpy()}
    program = export_program(model, model.input_example(2, 256)).module()

    def eager() -> torch.Tensor:
        with torch.no_grad():
            return model(x, lengths)  # type: ignore[no-any-return]

    def exported() -> torch.Tensor:
        with torch.no_grad():
            return program(x, lengths)  # type: ignore[no-any-return]

    got = torch.from_numpy(session.run(None, feed)[0])
    torch.testing.assert_close(got, eager(), atol=1e-4, rtol=1e-4)  # timing a wrong answer would mean nothing
    return {
        "eager torch": eager,
        "exported program (torch)": exported,
        "onnxruntime": lambda: session.run(None, feed),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--export-rounds", type=int, default=5, help="rounds of case (a), each variant once")
    parser.add_argument("--rounds", type=int, default=200, help="rounds of case (b)")
    parser.add_argument("--calls", type=int, default=5, help="calls per variant per round in case (b)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")  # torch's exporter's deprecation notices: not what is measured
    logging.getLogger("torch.onnx._internal.exporter._registration").setLevel(logging.ERROR)  # torchvision absent
    model = KeywordClassifier(keyword_classifier_config()).eval()
    example = model.input_example(2, 256)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"torch {torch.__version__}, onnxruntime {onnxruntime.__version__}, 1 thread each, load average {load:.2f} "
        f"at the start;\nthe demo model: {type(model).__name__} ({model.num_weights} weights), exported with "
        f"batch 2 and 256 samples"
    )
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        variants = _export_variants(model, example, folder)
        for call in variants.values():
            call()  # warm up: torch's first export compiles and caches much
        print(f"\n(a) export time ({args.export_rounds} interleaved rounds)")
        _report(
            _rounds(variants, args.export_rounds, 1),
            {
                "export_program: derived, refined, checked": ["torch.export, Dims by hand"],
                "export_onnx: derived, named, typed, checked": [
                    "torch.export, Dims by hand",
                    "torch.onnx.export of that program, names by hand",
                ],
            },
        )
        for batch, samples in ((1, 8000), (8, 16000)):
            inference = _inference_variants(model, folder / "ours.onnx", batch, samples)
            for call in inference.values():
                call()
            print(f"\n(b) inference, batch {batch}, {samples} samples ({args.rounds} rounds of {args.calls} calls)")
            _report(
                _rounds(inference, args.rounds, args.calls),
                {"exported program (torch)": ["eager torch"], "onnxruntime": ["eager torch"]},
            )
    if hasattr(os, "getloadavg"):
        print(f"\nload average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
