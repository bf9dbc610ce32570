"""A real two-process DDP run on CPU (gloo), through the training script: metrics reduced, one archive."""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from neuraltypes_modules.data import SyntheticKeywords
from neuraltypes_modules.keyword_classifier import KeywordClassifier
from torch.utils.data import DataLoader, Subset

from neuraltypes.models import ModelPT, weighted_mean_across_processes

pytestmark = pytest.mark.slow

_SAMPLES = 64


def _evaluate(model: KeywordClassifier, dataset: SyntheticKeywords, indices: range) -> tuple[float, float]:
    """Loss and accuracy over the samples at ``indices``, in this one process."""
    loader = DataLoader(Subset(dataset, indices), batch_size=16, collate_fn=dataset.collate_fn)
    total_loss, correct, count = 0.0, 0, 0
    with torch.no_grad():
        for batch in loader:
            logits = model(input_signal=batch.input_signal, input_signal_length=batch.input_signal_length)
            total_loss += float(model.loss(logits=logits, labels=batch.labels)) * len(batch.labels)
            correct += int((logits.argmax(-1) == batch.labels).sum())
            count += len(batch.labels)
    return total_loss / count, correct / count


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    output = tmp_path_factory.mktemp("ddp")
    command = [
        sys.executable, "-m", "neuraltypes_modules.train",
        "model.hidden=16", "trainer.max_epochs=1", "trainer.devices=2", "trainer.enable_progress_bar=false",
        f"model.train_ds.dataset.num_samples={_SAMPLES}",
        f"model.validation_ds.0.dataset.num_samples={_SAMPLES}",
        f"model.validation_ds.1.dataset.num_samples={_SAMPLES}",
        "model.validation_ds.0.batch_size=12",  # uneven batches: means must be per sample, not per batch
        f"output_dir={output}",
    ]  # fmt: skip
    environment = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    done = subprocess.run(command, cwd=output, env=environment, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-4000:]
    return output, done


def test_two_processes_train_and_rank_zero_writes_one_archive(ddp_run: tuple[Path, Any]) -> None:
    output, done = ddp_run
    assert "trained KeywordClassifier on 2 process(es)" in done.stdout
    assert sorted(path.name for path in output.iterdir() if path.is_file()) == ["metrics.json", "model.nta"]
    assert type(ModelPT.restore_from(output / "model.nta")) is KeywordClassifier


def test_validation_metrics_are_reduced_over_both_processes(ddp_run: tuple[Path, Any]) -> None:
    output, _ = ddp_run
    metrics = json.loads((output / "metrics.json").read_text())
    model = ModelPT.restore_from(output / "model.nta")
    assert isinstance(model, KeywordClassifier)
    model.eval()
    for name, seed, noise in (("clean", 1, 0.05), ("noisy", 2, 0.5)):
        dataset = SyntheticKeywords(num_samples=_SAMPLES, num_classes=4, sample_rate=8000, noise=noise, seed=seed)
        loss, accuracy = _evaluate(model, dataset, range(_SAMPLES))
        assert metrics[f"{name}_val_loss"] == pytest.approx(loss, rel=1e-4)
        assert metrics[f"{name}_val_acc"] == pytest.approx(accuracy, abs=1e-6)
        # What rank 0 saw alone (the distributed sampler gives it every other sample) is not what was logged.
        rank_zero_loss, _ = _evaluate(model, dataset, range(0, _SAMPLES, 2))
        assert metrics[f"{name}_val_loss"] != pytest.approx(rank_zero_loss, rel=1e-4)
    assert metrics["val_loss"] == metrics["clean_val_loss"]


def _reduce_on_rank(rank: int, init_file: str, results: str) -> None:
    """One gloo process: rank 0 saw three samples in two steps, rank 1 one sample in one step."""
    torch.distributed.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=2)
    try:
        outputs = [
            [
                {"loss": torch.tensor(1.0), "num_samples": torch.tensor(2)},
                {"loss": torch.tensor(4.0), "num_samples": 1},
            ],
            [{"loss": torch.tensor(10.0), "num_samples": torch.tensor(1)}],
        ][rank]
        mean = weighted_mean_across_processes(outputs, "loss")
        Path(results, f"rank{rank}.txt").write_text(repr(float(mean)))
    finally:
        torch.distributed.destroy_process_group()


def test_means_over_processes_weigh_each_sample_once(tmp_path: Path) -> None:
    torch.multiprocessing.spawn(_reduce_on_rank, args=(str(tmp_path / "init"), str(tmp_path)), nprocs=2)
    expected = (1.0 * 2 + 4.0 * 1 + 10.0 * 1) / 4  # not the mean of the processes' means, (2 + 10) / 2
    for rank in (0, 1):
        assert float((tmp_path / f"rank{rank}.txt").read_text()) == pytest.approx(expected)
