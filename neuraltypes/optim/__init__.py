"""Optimisation: NeMo's learning-rate schedules and optimizer names, on torch alone.

The schedules are ``torch.optim.lr_scheduler.LRScheduler`` subclasses with NeMo's names, arguments and curves;
:data:`SCHEDULERS` and :data:`OPTIMIZERS` map the names NeMo configs use (``optim.sched.name: CosineAnnealing``,
``optim.name: adamw``) to classes. The model layer builds ``cfg.optim`` from them.
"""

from ._names import EPOCH_SCHEDULERS as EPOCH_SCHEDULERS
from ._names import OPTIMIZERS as OPTIMIZERS
from ._names import SCHEDULERS as SCHEDULERS
from ._names import UNSUPPORTED_OPTIMIZERS as UNSUPPORTED_OPTIMIZERS
from ._names import keyword_arguments as keyword_arguments
from ._names import optimizer_class as optimizer_class
from ._names import scheduler_class as scheduler_class
from ._policies import SquareRootConstantPolicy as SquareRootConstantPolicy
from ._policies import WarmupAnnealHoldPolicy as WarmupAnnealHoldPolicy
from ._policies import WarmupHoldPolicy as WarmupHoldPolicy
from ._policies import WarmupPolicy as WarmupPolicy
from ._schedulers import CosineAnnealing as CosineAnnealing
from ._schedulers import InverseSquareRootAnnealing as InverseSquareRootAnnealing
from ._schedulers import NoamAnnealing as NoamAnnealing
from ._schedulers import NoamHoldAnnealing as NoamHoldAnnealing
from ._schedulers import PolynomialDecayAnnealing as PolynomialDecayAnnealing
from ._schedulers import PolynomialHoldDecayAnnealing as PolynomialHoldDecayAnnealing
from ._schedulers import SquareAnnealing as SquareAnnealing
from ._schedulers import SquareRootAnnealing as SquareRootAnnealing
from ._schedulers import T5InverseSquareRootAnnealing as T5InverseSquareRootAnnealing
from ._schedulers import WarmupAnnealing as WarmupAnnealing
from ._schedulers import WarmupHoldAnnealLinear as WarmupHoldAnnealLinear
from ._schedulers import WarmupHoldAnnealOneMinusSquareRoot as WarmupHoldAnnealOneMinusSquareRoot

__all__ = [
    "EPOCH_SCHEDULERS",
    "OPTIMIZERS",
    "SCHEDULERS",
    "UNSUPPORTED_OPTIMIZERS",
    "CosineAnnealing",
    "InverseSquareRootAnnealing",
    "NoamAnnealing",
    "NoamHoldAnnealing",
    "PolynomialDecayAnnealing",
    "PolynomialHoldDecayAnnealing",
    "SquareAnnealing",
    "SquareRootAnnealing",
    "SquareRootConstantPolicy",
    "T5InverseSquareRootAnnealing",
    "WarmupAnnealHoldPolicy",
    "WarmupAnnealing",
    "WarmupHoldAnnealLinear",
    "WarmupHoldAnnealOneMinusSquareRoot",
    "WarmupHoldPolicy",
    "WarmupPolicy",
    "keyword_arguments",
    "optimizer_class",
    "scheduler_class",
]
