"""Restore an archive in this (fresh) process and run it on saved inputs: the demo's proof of a faithful archive.

``python -m neuraltypes_modules.restore_check MODEL.nta INPUTS.safetensors OUTPUTS.safetensors`` rebuilds the
model from the archive alone (its class comes from the archived config, through the allowlist), runs
``forward`` on the inputs in eval mode and writes the outputs. The model classes it may restore are imported
here, as a program that restores models imports their code: an archive's config imports nothing.
"""

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
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    seconds = run_restored(*args)
    print(f"restored {Path(args[0]).name} in {seconds:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
