"""The fully qualified names the plugin recognises, in a module that imports nothing.

The plugin's entry point compares mypy's names with these before it imports its checker (and with it the
neuraltypes core), which it does the first time mypy analyses or checks code: a run whose modules all come
from mypy's cache never pays for it.
"""

from __future__ import annotations

TENSOR_FULLNAME = "torch._tensor.Tensor"
MODULE_FULLNAME = "torch.nn.modules.module.Module"
NT_FULLNAME = "neuraltypes.core._nt.NT"
REVEAL_FULLNAME = "neuraltypes.core._nt.reveal_neural_type"
