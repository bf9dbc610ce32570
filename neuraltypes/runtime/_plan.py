"""``Plan``: what to check in one function, the input of code generation and of the explainer."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from beartype import BeartypeConf

from ._specs import Spec

__all__ = ["Plan"]


@dataclass
class Plan:
    """What to check in one function: its signature, a spec per parameter, the return spec, the options."""

    function: Callable[..., Any]
    signature: inspect.Signature
    parameters: list[tuple[str, Spec | None]]
    returns: Spec | None
    conf: BeartypeConf
    skip_when_compiling: bool = False
    caller_values: tuple[str, ...] | None = None
    """The parameters that hold what the caller passed (None: all of them); a tensor found there is not tagged."""

    @property
    def qualname(self) -> str:
        return getattr(self.function, "__qualname__", repr(self.function))
