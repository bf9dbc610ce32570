"""NeMo's optimizer and scheduler names, mapped to classes: fixed, read-only tables (no registration at run time).

A name outside the tables is refused with the closest names; NeMo optimizer names that have no torch class of
the same semantics are refused with the reason and what to use instead.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

from torch import optim
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

from . import _policies as policies
from . import _schedulers as schedules

__all__ = [
    "EPOCH_SCHEDULERS",
    "OPTIMIZERS",
    "SCHEDULERS",
    "UNSUPPORTED_OPTIMIZERS",
    "keyword_arguments",
    "optimizer_class",
    "scheduler_class",
]

#: NeMo's ``AVAILABLE_SCHEDULERS``: ``optim.sched.name`` to scheduler class.
SCHEDULERS: Mapping[str, type[LRScheduler]] = MappingProxyType(
    {
        "WarmupPolicy": policies.WarmupPolicy,
        "WarmupHoldPolicy": policies.WarmupHoldPolicy,
        "SquareAnnealing": schedules.SquareAnnealing,
        "CosineAnnealing": schedules.CosineAnnealing,
        "NoamAnnealing": schedules.NoamAnnealing,
        "NoamHoldAnnealing": schedules.NoamHoldAnnealing,
        "WarmupHoldAnnealOneMinusSquareRoot": schedules.WarmupHoldAnnealOneMinusSquareRoot,
        "WarmupHoldAnnealLinear": schedules.WarmupHoldAnnealLinear,
        "WarmupAnnealing": schedules.WarmupAnnealing,
        "WarmupAnnealHoldPolicy": policies.WarmupAnnealHoldPolicy,
        "InverseSquareRootAnnealing": schedules.InverseSquareRootAnnealing,
        "T5InverseSquareRootAnnealing": schedules.T5InverseSquareRootAnnealing,
        "SquareRootAnnealing": schedules.SquareRootAnnealing,
        "PolynomialDecayAnnealing": schedules.PolynomialDecayAnnealing,
        "PolynomialHoldDecayAnnealing": schedules.PolynomialHoldDecayAnnealing,
        "StepLR": optim.lr_scheduler.StepLR,
        "ExponentialLR": optim.lr_scheduler.ExponentialLR,
        "ReduceLROnPlateau": optim.lr_scheduler.ReduceLROnPlateau,
        "CyclicLR": optim.lr_scheduler.CyclicLR,
    }
)

#: Schedulers NeMo steps once per epoch rather than once per optimizer step.
EPOCH_SCHEDULERS: frozenset[str] = frozenset({"ExponentialLR", "ReduceLROnPlateau"})

#: NeMo's ``AVAILABLE_OPTIMIZERS`` that are torch's own classes: ``optim.name`` to optimizer class.
OPTIMIZERS: Mapping[str, type[Optimizer]] = MappingProxyType(
    {
        "sgd": optim.SGD,
        "adam": optim.Adam,
        "adamw": optim.AdamW,
        "adadelta": optim.Adadelta,
        "adamax": optim.Adamax,
        "adagrad": optim.Adagrad,
        "rmsprop": optim.RMSprop,
        "rprop": optim.Rprop,
    }
)

_FUSED_ADAM = "fused_adam"

#: NeMo optimizer names refused, with the reason and the alternative.
UNSUPPORTED_OPTIMIZERS: Mapping[str, str] = MappingProxyType(
    {
        "novograd": "NeMo's own NovoGrad (layer-wise second moments) has no torch equivalent; use 'adamw', or "
        "name your implementation by '_target_'",
        "adan": "NeMo's own Adan has no torch equivalent; use 'adamw', or name your implementation by '_target_'",
        "adafactor": "NeMo's Adafactor (relative_step, scale_parameter, warmup_init) is not torch.optim.Adafactor; "
        "for torch's, whose arguments differ, write '_target_: torch.optim.Adafactor'",
        "lamb": "apex's FusedLAMB has no torch equivalent; use 'adamw', or name a LAMB implementation by '_target_'",
        "distributed_fused_adam": "it shards the optimizer state across data-parallel ranks (apex/Megatron); use "
        "'fused_adam' or 'adamw' (unsharded), with Lightning's FSDP strategy to shard",
        "megatron_fused_adam": "it is Megatron's wrapper of apex's FusedAdam for its own parameter buffers; use "
        "'fused_adam' (torch.optim.AdamW, fused)",
        "mcore_distributed_optim": "it is Megatron-core's distributed optimizer; use 'fused_adam' or 'adamw', with "
        "Lightning's FSDP strategy to shard",
    }
)

# apex's FusedAdam arguments torch's Adam/AdamW cannot honour, with the only value they accept.
_FUSED_ADAM_FIXED: Mapping[str, tuple[object, str]] = MappingProxyType(
    {
        "bias_correction": (True, "torch's Adam always corrects the moments' bias"),
        "amsgrad": (False, "apex's FusedAdam refuses it too; use 'adamw' with amsgrad: true"),
        "master_weights": (False, "keep fp32 weights with Lightning's mixed precision (precision: bf16-mixed)"),
    }
)


def _choices(names: Iterable[str]) -> str:
    return ", ".join(sorted(names, key=str.lower))


def _did_you_mean(name: str, names: Iterable[str]) -> str:
    by_lower = {known.lower(): known for known in names}
    if name.lower() in by_lower:  # only the case is wrong
        return f" (did you mean {by_lower[name.lower()]!r}?)"
    close = difflib.get_close_matches(name.lower(), list(by_lower), n=3, cutoff=0.6)
    if not close:
        return ""
    return f" (did you mean {' or '.join(repr(by_lower[match]) for match in close)}?)"


def scheduler_class(name: str) -> type[LRScheduler]:
    """The scheduler class NeMo's ``optim.sched.name`` names (exactly as NeMo spells it).

    Raises:
        ValueError: an unknown name, with the closest names and all of them.
    """
    found = SCHEDULERS.get(name)
    if found is None:
        raise ValueError(
            f"{name!r} is not a scheduler name{_did_you_mean(name, SCHEDULERS)}; the names are "
            f"{_choices(SCHEDULERS)} (or give the class by '_target_')"
        )
    return found


def optimizer_class(name: str, arguments: Mapping[str, Any]) -> tuple[type[Optimizer], dict[str, Any]]:
    """The optimizer class NeMo's ``optim.name`` names (in any case), and its arguments in torch's terms.

    Only ``fused_adam`` changes its arguments: apex's ``FusedAdam`` is AdamW unless ``adam_w_mode: false``,
    with no weight decay unless set, and becomes torch's ``AdamW`` (or ``Adam``) with ``fused=True``.

    Raises:
        ValueError: an unknown or unsupported name (with the reason and the alternative), or a ``fused_adam``
            argument torch cannot honour.
    """
    key = name.lower()
    if key == _FUSED_ADAM:
        return _fused_adam(arguments)
    found = OPTIMIZERS.get(key)
    if found is not None:
        return found, dict(arguments)
    if key in UNSUPPORTED_OPTIMIZERS:
        raise ValueError(f"optimizer {name!r} is not supported: {UNSUPPORTED_OPTIMIZERS[key]}")
    known = [*OPTIMIZERS, _FUSED_ADAM]
    raise ValueError(
        f"{name!r} is not an optimizer name{_did_you_mean(key, known)}; the names are {_choices(known)} "
        "(or give the class by '_target_')"
    )


def _fused_adam(arguments: Mapping[str, Any]) -> tuple[type[Optimizer], dict[str, Any]]:
    torch_arguments = dict(arguments)
    decoupled = torch_arguments.pop("adam_w_mode", True)
    for key, (accepted, alternative) in _FUSED_ADAM_FIXED.items():
        if key in torch_arguments and torch_arguments.pop(key) != accepted:
            raise ValueError(f"fused_adam with {key}: {arguments[key]!r} is not supported: {alternative}")
    torch_arguments.pop("set_grad_none", None)  # torch's zero_grad already sets gradients to None
    torch_arguments.setdefault("weight_decay", 0.0)  # apex's default; torch's AdamW defaults to 0.01
    if torch_arguments.get("foreach") is None:
        torch_arguments.setdefault("fused", True)
    return (optim.AdamW if decoupled else optim.Adam), torch_arguments


def keyword_arguments(cls: type) -> frozenset[str] | None:
    """The arguments a scheduler or optimizer class takes by keyword, after the first (the optimizer or the
    parameters), following ``**kwargs`` up to its bases' constructors.

    Returns None when the chain ends in an open ``**kwargs`` (anything may be passed).
    """
    names: set[str] = set()
    for klass in cls.__mro__:
        if "__init__" not in vars(klass):
            continue
        parameters = list(inspect.signature(vars(klass)["__init__"]).parameters.values())[2:]  # self, first
        names.update(p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))
        if not any(p.kind is p.VAR_KEYWORD for p in parameters):
            return frozenset(names)
    return None
