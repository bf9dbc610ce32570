"""``Plan``: what to check in one function, the input of code generation and of the explainer."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from beartype import BeartypeConf

from ._specs import Spec

__all__ = ["CallerValue", "Plan"]

CallerValue = Literal["is", "items", "nested"]


@dataclass
class Plan:
    """What to check in one function: its signature, a spec per parameter, the return spec, the options."""

    function: Callable[..., Any]
    signature: inspect.Signature
    parameters: list[tuple[str, Spec | None]]
    returns: Spec | None
    conf: BeartypeConf
    skip_when_compiling: bool = False
    caller_values: Mapping[str, CallerValue] | None = None
    """Where the caller's tensors are, which are never tagged: per parameter, the value itself ("is"), its items
    ("items"), or the value and, when it is a list, tuple or dict, what it holds at any depth ("nested"). None:
    read from the signature and the specs (see ``_codegen``)."""
    replace_tags: bool = False
    """NeMo's rule for outputs: every returned tensor (but a parameter) gets the declared type, replacing its tag,
    the caller's tensors included (``caller_values`` then has no effect)."""

    @property
    def qualname(self) -> str:
        return getattr(self.function, "__qualname__", repr(self.function))
