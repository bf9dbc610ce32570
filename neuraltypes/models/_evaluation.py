"""Evaluation epochs over several dataloaders: collect step outputs, reduce them across processes, prefix names.

Lightning 2 no longer hands ``validation_epoch_end`` the step outputs; :class:`StepOutputs` keeps them per
dataloader so the model's ``multi_validation_epoch_end(outputs, dataloader_idx)`` can collate them (NeMo's
contract). Means are weighted by sample counts and summed over all processes before dividing, so a metric
is the mean over the whole dataset, not a mean of per-process means.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
import torch.distributed as dist
from torch import Tensor

__all__ = ["NUM_SAMPLES", "StepOutputs", "metric_names", "weighted_mean_across_processes"]

#: Key of a step output holding the number of samples the step saw (the weight of its metrics).
NUM_SAMPLES = "num_samples"

StepOutput = Mapping[str, Tensor | float | int]


class StepOutputs:
    """The outputs of one evaluation epoch's steps, kept per dataloader index."""

    def __init__(self) -> None:
        self._by_dataloader: dict[int, list[StepOutput]] = {}

    def add(self, dataloader_idx: int, output: StepOutput | None) -> None:
        """Keep one step's output (steps that return None keep nothing but still mark the loader as seen)."""
        outputs = self._by_dataloader.setdefault(dataloader_idx, [])
        if output is not None:
            outputs.append(output)

    def drain(self, num_dataloaders: int) -> list[tuple[int, list[StepOutput]]]:
        """Every dataloader's outputs in index order, and forget them (ready for the next epoch).

        Loaders that produced no step on this process still appear, with an empty list: under DDP every
        process must take part in the reductions, whatever its share of the data.
        """
        drained = [(index, self._by_dataloader.get(index, [])) for index in range(num_dataloaders)]
        self._by_dataloader.clear()
        return drained


def _as_float(value: Tensor | float | int) -> Tensor:
    tensor = value.detach() if isinstance(value, Tensor) else torch.tensor(value)
    if tensor.numel() != 1:
        raise ValueError(f"a step output to average must be a scalar, got a tensor of shape {tuple(tensor.shape)}")
    return tensor.reshape(()).to(torch.float64)


def weighted_mean_across_processes(
    outputs: Sequence[StepOutput], key: str, *, device: torch.device | None = None
) -> Tensor:
    """The mean of ``key`` over every sample seen by every process.

    Each step's value is weighted by its ``num_samples`` entry (1 when absent). Sums and counts are reduced
    with one ``all_reduce`` when a process group is initialized; every process gets the same result.

    Raises:
        KeyError: a step output lacks ``key``.
        ValueError: the value is not a scalar, or no process saw any sample.
    """
    totals = torch.zeros(2, dtype=torch.float64, device=device)
    for output in outputs:
        weight = _as_float(output.get(NUM_SAMPLES, 1))
        totals[0] += (_as_float(output[key]) * weight).to(totals.device)
        totals[1] += weight.to(totals.device)
    if dist.is_available() and dist.is_initialized():
        dist.all_reduce(totals, op=dist.ReduceOp.SUM)
    if totals[1] <= 0:
        raise ValueError(f"cannot average {key!r}: no samples were seen by any process")
    return (totals[0] / totals[1]).to(torch.float32)


def metric_names(outputs: Sequence[StepOutput]) -> list[str]:
    """The keys to average: every key of the first output but ``num_samples``, in a fixed (sorted) order.

    The order is sorted so that all processes issue their reductions in the same sequence.
    """
    if not outputs:
        return []
    return sorted(key for key in outputs[0] if key != NUM_SAMPLES)
