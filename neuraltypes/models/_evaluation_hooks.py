"""ModelPT's evaluation: step outputs collected per dataloader, collated at epoch end, and logged.

A mixin of :class:`~neuraltypes.models._model.ModelPT`, which creates the state it reads (the loaders, the step
outputs) in its constructor.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from torch import Tensor

from ._data import NamedLoader
from ._evaluation import StepOutput, StepOutputs, metric_names, weighted_mean_across_processes

if TYPE_CHECKING:
    import lightning.pytorch as pl

    _Model = pl.LightningModule
else:
    _Model = object

__all__ = ["EvaluationHooks"]

_NEMO_LOG = "log"
"""Key of a step's or an epoch end's result whose entries NeMo logs (and of nothing else, at epoch end)."""


class EvaluationHooks(_Model):
    """Validation and test metrics: NeMo's ``*_step_outputs`` lists and ``multi_*_epoch_end`` hooks, the ``log``
    entries of NeMo-style results, and logging per dataloader (prefixed by its name when there are several)."""

    _loaders: dict[str, list[NamedLoader] | None]
    _step_inbox: dict[str, list[list[Any]]]
    _step_outputs: StepOutputs

    if TYPE_CHECKING:

        def dataloader_names(self, stage: str) -> list[str]: ...  # LoaderSetup's

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        """Log the ``log`` entries of a NeMo-style training step's result (``{"loss": ..., "log": {...}}``)."""
        logged = outputs.get(_NEMO_LOG) if isinstance(outputs, Mapping) else None
        if isinstance(logged, Mapping):
            self.log_dict(dict(logged), on_step=True)

    def on_validation_batch_end(self, outputs: Any, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> None:
        self._collect("validation", outputs, dataloader_idx)

    def on_test_batch_end(self, outputs: Any, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> None:
        self._collect("test", outputs, dataloader_idx)

    @property
    def validation_step_outputs(self) -> list[Any]:
        """NeMo's list that a validation step may append its result to (a list per dataloader when several).

        A step's result is collected once: what the step appended, or else what it returned.
        """
        return self._inbox("validation")

    @property
    def test_step_outputs(self) -> list[Any]:
        """NeMo's list that a test step may append its result to; see :attr:`validation_step_outputs`."""
        return self._inbox("test")

    def _inbox(self, stage: str) -> list[Any]:
        count = max(1, len(self._loaders[stage] or []))
        lists = self._step_inbox.get(stage)
        if lists is None or len(lists) != count:
            lists = self._step_inbox[stage] = [[] for _ in range(count)]
        return lists[0] if count == 1 else lists

    def _collect(self, stage: str, returned: Any, dataloader_idx: int) -> None:
        lists = self._step_inbox.get(stage) or []
        appended = lists[dataloader_idx] if dataloader_idx < len(lists) else []
        for output in appended or [returned]:
            self._step_outputs.add(dataloader_idx, output)
        appended.clear()

    def on_validation_epoch_end(self) -> None:
        self._log_evaluation("validation", self.multi_validation_epoch_end)

    def on_test_epoch_end(self) -> None:
        self._log_evaluation("test", self.multi_test_epoch_end)

    def multi_validation_epoch_end(self, outputs: Sequence[StepOutput], dataloader_idx: int = 0) -> dict[str, Tensor]:
        """Collate one validation dataloader's step outputs into metrics (NeMo's hook).

        The default averages every scalar the steps returned over all samples of all processes, weighting
        each step by its ``num_samples`` entry. Override to compute other metrics; reduce across processes
        (``weighted_mean_across_processes``) so every process logs the same value. Every entry of the result
        is logged, except in NeMo's form ``{"val_loss": ..., "log": {...}}``, where only the ``log`` entries
        are (as in NeMo); None logs nothing.
        """
        return self._mean_metrics(outputs)

    def multi_test_epoch_end(self, outputs: Sequence[StepOutput], dataloader_idx: int = 0) -> dict[str, Tensor]:
        """Collate one test dataloader's step outputs into metrics; the default is as for validation."""
        return self._mean_metrics(outputs)

    def _mean_metrics(self, outputs: Sequence[StepOutput]) -> dict[str, Tensor]:
        return {key: weighted_mean_across_processes(outputs, key, device=self.device) for key in metric_names(outputs)}

    def _log_evaluation(self, stage: str, collate: Any) -> None:
        names = self.dataloader_names(stage)
        for index, outputs in self._step_outputs.drain(len(names)):
            metrics: Mapping[str, Any] | None = collate(outputs, index)
            if metrics is not None and isinstance(metrics.get(_NEMO_LOG), Mapping):
                metrics = metrics[_NEMO_LOG]  # NeMo's result: only its `log` entries are logged
            for key, value in (metrics or {}).items():
                # The values are already reduced across processes; sync_dist's mean of equal values changes
                # nothing and keeps Lightning from warning about unsynchronised epoch-level metrics.
                if len(names) > 1:
                    self.log(f"{names[index]}_{key}", value, add_dataloader_idx=False, sync_dist=True)
                if index == 0:
                    self.log(key, value, add_dataloader_idx=False, sync_dist=True, prog_bar=True)
