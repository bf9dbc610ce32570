"""mypy's wall time with and without the neuraltypes plugin, on a generated project of typed model code.

Run: ``python benchmarks/mypy_overhead.py`` (about 4 minutes on 2 cores; ``--quick`` for one round).
``--instructions`` counts the instructions each warm run executes, under valgrind's cachegrind (about 5
minutes; ``--cold`` adds the cold run, about 20 minutes more): the same figures on a busy machine as on a
quiet one, where wall times on a shared 2-core machine move by a tenth from run to run.

Baseline: the same mypy, the same project, without the plugin (where ``NT[...]`` is plain ``Tensor``),
measured interleaved with the plugin runs in the same session. Four situations:

- cold: empty cache: torch and the project are checked from scratch;
- warm, project edited: torch comes from the cache, every project module changed and is re-checked (the
  worst case for the plugin: all of its work, none of torch's);
- warm, one module edited: as a pull request in CI with a restored cache, one module is re-checked;
- warm, unchanged: everything comes from the cache.

Prints each median, the ratio of the medians plugin / baseline, and the ratio of the best runs (the figure
least disturbed by other processes on a shared machine). Targets: cold <= 1.15x, warm <= 1.05x.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MODULES = 20
BLOCKS_PER_MODULE = 5

HEADER = """\
from __future__ import annotations

import torch
from torch import Tensor, nn

from neuraltypes.core import NT, EncodedRepresentation, LengthsType, LogitsType, ProbsType
{previous_import}
Features = NT[Tensor, "B T D", EncodedRepresentation]
Lengths = NT[Tensor, "B", LengthsType]
"""

BLOCK = """

class Block{i}x{j}(nn.Module):
    \"\"\"Layer {j} of stage {i}: norm, projection, residual, an inner block of the previous stage.\"\"\"

    def __init__(self, dim: int, vocab: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.proj = nn.Linear(dim, dim)
        self.head = nn.Linear(dim, vocab)
        self.dropout = nn.Dropout(0.1){inner_init}

    def forward(self, x: Features, lengths: Lengths) -> Features:
        y = self.norm(x)
        z = self.dropout(self.proj(y).relu())
        h = x + z{inner_call}
        return h

    def logits(self, x: Features) -> NT[Tensor, "B T vocab", LogitsType]:
        return self.head(x)

    def probabilities(self, x: Features) -> NT[Tensor, "B T vocab", ProbsType]:
        return self.logits(x).softmax(-1)

    def pooled(self, x: Features, lengths: Lengths) -> NT[Tensor, "B D", EncodedRepresentation]:
        mask = torch.arange(x.size(1))[None, :] < lengths[:, None]
        return (x * mask.unsqueeze(-1)).sum(1) / lengths[:, None]


def transposed_{i}_{j}(x: Features) -> NT[Tensor, "B D T", EncodedRepresentation]:
    return x.transpose(1, 2)


def run_{i}_{j}(block: Block{i}x{j}, x: Features, lengths: Lengths) -> Tensor:
    h = block(x, lengths)
    back = transposed_{i}_{j}(h).transpose(1, 2)
    probs = block.probabilities(back)
    labels = probs.argmax(-1)
    return labels.float().mean() + block.pooled(h, lengths).sum()
"""


def generate(folder: Path) -> int:
    """Write the project under ``folder/bench_models``; return its number of lines."""
    package = folder / "bench_models"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    lines = 0
    for i in range(MODULES):
        previous = f"from bench_models.stage{i - 1} import Block{i - 1}x0\n" if i else ""
        parts = [HEADER.format(previous_import=previous)]
        for j in range(BLOCKS_PER_MODULE):
            inner_init = f"\n        self.inner = Block{i - 1}x0(dim, vocab)" if i else ""
            inner_call = "\n        h = self.inner(h, lengths)" if i else ""
            parts.append(BLOCK.format(i=i, j=j, inner_init=inner_init, inner_call=inner_call))
        text = "".join(parts)
        (package / f"stage{i}.py").write_text(text)
        lines += text.count("\n")
    return lines


def write_configs(folder: Path) -> dict[str, Path]:
    configs = {}
    for name, plugins in (("baseline", ""), ("plugin", "plugins = neuraltypes_mypy_plugin\n")):
        path = folder / f"{name}.ini"
        # Without the plugin, module calls return Any: `warn_return_any` would flag every one of them.
        # neuraltypes is found through MYPYPATH (a source checkout): follow it silently, report the project.
        silent = "[mypy-neuraltypes.*]\nfollow_imports = silent\n"
        path.write_text(f"[mypy]\nstrict = True\nwarn_return_any = False\n{plugins}\n{silent}")
        configs[name] = path
    return configs


CACHEGRIND = ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null"]


def run_mypy(config: Path, cache: Path, folder: Path, count_instructions: bool = False) -> tuple[float, str]:
    """mypy's wall time in seconds, or with ``count_instructions`` the instructions it executed (under
    cachegrind: about 20 times slower, and the same count on a busy machine as on a quiet one)."""
    command = [sys.executable, "-m", "mypy", "--config-file", str(config), "--cache-dir", str(cache), "bench_models"]
    started = time.perf_counter()
    done = subprocess.run(
        CACHEGRIND + command if count_instructions else command,
        cwd=folder,
        capture_output=True,
        text=True,
        env={"MYPYPATH": str(REPO), "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"},
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"mypy reported errors with {config.name}:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    if count_instructions:
        counted = re.search(r"I\s+refs:\s+([\d,]+)", done.stderr)
        if counted is None:
            raise RuntimeError(f"cachegrind printed no instruction count:\n{done.stderr[-3000:]}")
        return float(counted.group(1).replace(",", "")), done.stdout.strip()
    return elapsed, done.stdout.strip()


def edit_project(folder: Path, round_number: int, modules: str = "stage*.py") -> None:
    for path in (folder / "bench_models").glob(modules):
        path.write_text(path.read_text() + f"# edit {round_number}\n")


SITUATIONS = ("cold", "warm, project edited", "warm, one module edited", "warm, unchanged")
WARM_REPEATS = 3  # warm runs take seconds, cold ones tens of seconds: more samples of the short, noisier ones


def measure(rounds: int) -> None:
    with tempfile.TemporaryDirectory(prefix="neuraltypes-mypy-bench-") as name:
        folder = Path(name)
        lines = generate(folder)
        configs = list(write_configs(folder).items())
        print(f"project: {MODULES} modules, {lines} lines of typed model code; {rounds} round(s), interleaved")
        times: dict[tuple[str, str], list[float]] = {}

        def run_pair(situation: str, flip: bool) -> None:
            for variant, config in reversed(configs) if flip else configs:
                elapsed = run_mypy(config, folder / f"cache-{variant}", folder)[0]
                times.setdefault((situation, variant), []).append(elapsed)

        edits = 0
        for round_number in range(rounds):
            for variant, _ in configs:
                shutil.rmtree(folder / f"cache-{variant}", ignore_errors=True)
            run_pair("cold", flip=round_number % 2 == 1)
            for repeat in range(WARM_REPEATS):
                flip = (round_number + repeat) % 2 == 1
                edits += 1
                edit_project(folder, edits)
                run_pair("warm, project edited", flip)
                run_pair("warm, unchanged", flip)
                edits += 1
                edit_project(folder, edits, f"stage{MODULES // 2}.py")
                run_pair("warm, one module edited", flip)
        for situation in SITUATIONS:
            base, plugin = times[(situation, "baseline")], times[(situation, "plugin")]
            median = statistics.median(plugin) / statistics.median(base)
            best = min(plugin) / min(base)
            print(
                f"{situation:>24}: baseline {statistics.median(base):6.2f} s, "
                f"plugin {statistics.median(plugin):6.2f} s, ratio {median:.3f}x "
                f"(best runs: {best:.3f}x; {len(base)} runs each)"
            )


def count_instructions(cold: bool) -> None:
    """The instruction counts, plugin / baseline, of the warm situations (and with ``cold`` of a cold run):
    figures that machine load does not move."""
    if shutil.which("valgrind") is None:
        raise SystemExit("--instructions needs valgrind (cachegrind) on PATH")
    with tempfile.TemporaryDirectory(prefix="neuraltypes-mypy-bench-") as name:
        folder = Path(name)
        lines = generate(folder)
        configs = list(write_configs(folder).items())
        print(f"project: {MODULES} modules, {lines} lines of typed model code; instructions executed, under cachegrind")
        counts: dict[tuple[str, str], float] = {}
        for variant, config in configs:  # fills the cache; counted only with `cold` (20 times slower)
            counts[("cold", variant)] = run_mypy(config, folder / f"cache-{variant}", folder, cold)[0]
        steps = (
            ("warm, project edited", "stage*.py"),
            ("warm, unchanged", None),
            ("warm, one module edited", f"stage{MODULES // 2}.py"),
        )
        for number, (situation, modules) in enumerate(steps):
            if modules is not None:
                edit_project(folder, number, modules)
            for variant, config in configs:
                counts[(situation, variant)] = run_mypy(config, folder / f"cache-{variant}", folder, True)[0]
        for situation in (["cold"] if cold else []) + [situation for situation, _ in steps]:
            base, plugin = counts[(situation, "baseline")], counts[(situation, "plugin")]
            ratio = plugin / base
            print(f"{situation:>24}: baseline {base / 1e9:6.2f} G, plugin {plugin / 1e9:6.2f} G, ratio {ratio:.3f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one round instead of three")
    parser.add_argument(
        "--instructions", action="store_true", help="count instructions under cachegrind instead (warm runs)"
    )
    parser.add_argument("--cold", action="store_true", help="with --instructions: count a cold run too (+20 min)")
    arguments = parser.parse_args()
    if arguments.instructions:
        count_instructions(arguments.cold)
    else:
        measure(1 if arguments.quick else 3)


if __name__ == "__main__":
    main()
