"""Restore an archive in this (fresh) process and run it on saved inputs: the demo's proof of a faithful archive.

``python -m neuraltypes_modules.restore_check MODEL.nta INPUTS.safetensors OUTPUTS.safetensors`` rebuilds the
model from the archive alone (its class comes from the archived config, through the allowlist), runs
``forward`` on the inputs in eval mode and writes the outputs. The model classes it may restore are imported
here, as a program that restores models imports their code: an archive's config imports nothing.
"""

import argparse
import sys
import time
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from neuraltypes.models import ModelPT

from . import keyword_classifier as keyword_classifier
from . import text_classifier as text_classifier

__all__ = ["main", "run_restored"]


def run_restored(archive: str, inputs_path: str, outputs_path: str) -> float:
    """Restore ``archive``, run it on the inputs, write the outputs; returns the restore time in seconds."""
    torch.set_num_threads(1)
    started = time.perf_counter()
    model = ModelPT.restore_from(archive)
    restored = time.perf_counter() - started
    model.eval()
    with torch.no_grad():
        outputs = model(**load_file(inputs_path))
    save_file({"output": outputs.contiguous()}, outputs_path)
    return restored


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m neuraltypes_modules.restore_check", description=(__doc__ or "").split("\n\n")[0]
    )
    parser.add_argument("archive", help="the model archive (.nta)")
    parser.add_argument("inputs", help="safetensors file of forward's keyword arguments")
    parser.add_argument("outputs", help="where to write forward's output (safetensors)")
    args = parser.parse_args(argv)
    seconds = run_restored(args.archive, args.inputs, args.outputs)
    print(f"restored {Path(args.archive).name} in {seconds:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
