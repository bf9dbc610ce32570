"""Save and restore of a large model: neuraltypes archives against safetensors and NeMo's .nemo pattern.

Run:  python benchmarks/archive_bench.py [--size-mib 512] [--repeats 3] [--dir PATH]

Every operation runs in a fresh child process (its own timer and peak RSS), interleaved across methods and
repeats, with files warm in the page cache; the parent samples the disk used under the work folder (temp
folders included, TMPDIR points there) to report the peak extra disk of each operation. Printed: the median
time of each method, our time as a ratio of each baseline, peak RSS growth and peak extra disk as multiples
of the weights' size.

Baselines:
  safetensors      save_file(state_dict) / load_file (mmap: lazy, reads pages on first touch)
  safetensors-read load_file(backend="pread"): every byte read into RAM, as our restore does (no checksum)
  nemo             torch.save + tar of config and checkpoint / extract the whole tar + torch.load
Ours (save_to / restore_from) also fsyncs, hashes every member with sha256 and builds the model. restore_from
maps the weights (copy-on-write) and hashes them in place; ours-copy is restore_from(mmap=False), which reads
them into private memory instead.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import torch

from neuraltypes.archive import Archivable
from neuraltypes.config import Serialization

SAVES = ("save:safetensors", "save:nemo", "save:ours")
RESTORES = ("restore:safetensors", "restore:safetensors-read", "restore:nemo", "restore:ours", "restore:ours-copy")


class BenchModel(Archivable, Serialization, torch.nn.Module):
    """``layers`` square linear layers of width ``width``."""

    def __init__(self, layers: int, width: int) -> None:
        super().__init__()
        self.layers = torch.nn.ModuleList(torch.nn.Linear(width, width) for _ in range(layers))


def _shape(size_mib: int, layers: int) -> tuple[int, int]:
    width = int(math.sqrt(size_mib * (1 << 20) / layers / 4))
    return layers, width


def _build(layers: int, width: int) -> BenchModel:
    with torch.device("meta"):
        model = BenchModel(layers, width)
    model.to_empty(device="cpu")
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.normal_(generator=generator)
    return model


def _status(key: str) -> int:
    """A memory figure from /proc/self/status, in bytes (``VmRSS:`` now, ``VmHWM:`` its peak)."""
    with open("/proc/self/status") as file:
        return next(int(line.split()[1]) * 1024 for line in file if line.startswith(key))


def _reset_peak_rss() -> None:
    """Make VmHWM start again from the current RSS (imports and model building peak higher)."""
    with open("/proc/self/clear_refs", "w") as file:
        file.write("5")


def _child(operation: str, folder: Path, layers: int, width: int) -> dict[str, float]:
    """Run one operation, timed, in this (fresh) process."""
    paths = {name: folder / f"model.{name}" for name in ("safetensors", "nemo", "nta")}
    model = _build(layers, width) if operation.startswith("save") else None
    _reset_peak_rss()
    before = _status("VmRSS:")
    started = time.perf_counter()
    result: Any = None
    if operation == "save:safetensors":
        from safetensors.torch import save_file

        assert model is not None
        save_file(model.state_dict(), paths["safetensors"])
    elif operation == "save:nemo":
        assert model is not None
        _nemo_save(model, paths["nemo"], folder)
    elif operation == "save:ours":
        assert model is not None
        model.save_to(paths["nta"])
    elif operation == "restore:safetensors":
        from safetensors.torch import load_file

        result = load_file(paths["safetensors"])
    elif operation == "restore:safetensors-read":
        from safetensors.torch import load_file

        result = load_file(paths["safetensors"], backend="pread")
    elif operation == "restore:nemo":
        result = _nemo_restore(paths["nemo"], folder)
    elif operation == "restore:ours":
        result = BenchModel.restore_from(paths["nta"])
    elif operation == "restore:ours-copy":
        result = BenchModel.restore_from(paths["nta"], mmap=False)
    else:
        raise ValueError(operation)
    seconds = time.perf_counter() - started
    peak = _status("VmHWM:")
    del result
    return {"seconds": seconds, "rss_growth": peak - before}


def _nemo_save(model: torch.nn.Module, path: Path, folder: Path) -> None:
    """NeMo 1.x's save_to: write config and checkpoint to a temp folder, then tar them into place."""
    temp = Path(tempfile.mkdtemp(dir=folder))
    try:
        (temp / "model_config.yaml").write_text("layers: 32\n")
        torch.save(model.state_dict(), temp / "model_weights.ckpt")
        with tarfile.open(path, "w:") as tar:
            tar.add(temp, arcname=".")
    finally:
        shutil.rmtree(temp)


def _nemo_restore(path: Path, folder: Path) -> dict[str, torch.Tensor]:
    """NeMo 1.x's restore_from: extract the whole tar to a temp folder, then torch.load the checkpoint."""
    temp = Path(tempfile.mkdtemp(dir=folder))
    try:
        with tarfile.open(path, "r:") as tar:
            tar.extractall(temp, filter="data")
        state: dict[str, torch.Tensor] = torch.load(temp / "model_weights.ckpt", map_location="cpu")
        return state
    finally:
        shutil.rmtree(temp)


def _disk_used(folder: Path) -> int:
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(OSError):  # removed while we looked
                total += os.lstat(os.path.join(root, name)).st_blocks * 512
    return total


def _run(operation: str, folder: Path, layers: int, width: int) -> dict[str, float]:
    """Run ``operation`` in a child process while sampling the disk used under ``folder``."""
    baseline = _disk_used(folder)
    peak = [baseline]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _disk_used(folder))
            time.sleep(0.002)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    env = dict(os.environ, TMPDIR=str(folder / "tmp"))
    try:
        output = subprocess.run(
            [sys.executable, __file__, "--child", operation, "--dir", str(folder), "--layers", str(layers),
             "--width", str(width)],
            capture_output=True, text=True, check=True, env=env,
        ).stdout  # fmt: skip
    finally:
        done.set()
        sampler.join()
    result: dict[str, float] = json.loads(output.splitlines()[-1])
    after = _disk_used(folder)
    # A save replaces its file: count what exceeded both the state before and the state after.
    result["extra_disk"] = max(0, peak[0] - max(baseline, after))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mib", type=int, default=512, help="weights' size (default 512)")
    parser.add_argument("--layers", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=None, help="work folder (default: a new temp folder)")
    parser.add_argument("--width", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(_child(args.child, args.dir, args.layers, args.width)))
        return
    layers, width = _shape(args.size_mib, args.layers)
    weights = layers * (width * width + width) * 4
    folder = Path(tempfile.mkdtemp(prefix="archive-bench-", dir=args.dir))
    (folder / "tmp").mkdir()
    print(f"model: {layers} x Linear({width}, {width}), {weights / (1 << 20):.0f} MiB of float32 weights")
    print(f"cpus: {os.cpu_count()}, torch {torch.__version__}, work folder {folder}")
    samples: dict[str, list[dict[str, float]]] = {name: [] for name in (*SAVES, *RESTORES)}
    try:
        for repeat in range(args.repeats):
            for group in (SAVES, RESTORES):
                shift = repeat % len(group)
                for operation in group[shift:] + group[:shift]:
                    samples[operation].append(_run(operation, folder, layers, width))
        _report(samples, weights)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _report(samples: dict[str, list[dict[str, float]]], weights: int) -> None:
    def median(name: str, key: str) -> float:
        return statistics.median(sample[key] for sample in samples[name])

    print(f"\n{'operation':<26}{'median s':>10}{'peak RSS growth':>18}{'peak extra disk':>18}")
    for name in samples:
        print(
            f"{name:<26}{median(name, 'seconds'):>10.3f}{median(name, 'rss_growth') / weights:>17.2f}x"
            f"{median(name, 'extra_disk') / weights:>17.2f}x"
        )
    print("\nratios (ours / baseline, time):")
    for ours, baselines in (
        ("save:ours", SAVES[:-1]),
        ("restore:ours", RESTORES[:3]),
        ("restore:ours-copy", RESTORES[:3]),
    ):
        for baseline in baselines:
            ratio = median(ours, "seconds") / median(baseline, "seconds")
            print(f"  {ours} / {baseline:<26} {ratio:6.2f}x")


if __name__ == "__main__":
    main()
