"""What run-time checks cost inside a real training step: checks on vs off, interleaved, in one Lightning run.

``python benchmarks/training_step.py [--steps 240] [--model keyword_classifier|text_classifier|both]``

A Lightning ``Trainer`` trains an example model; a callback times each step from ``on_train_batch_start`` to
``on_train_batch_end`` (forward with every typed module checked, loss, backward, optimizer step) and
switches the checks off (``disable_checks()``) in an on-off-off-on pattern, step by step. Each group of four
steps gives one ratio, (on + on) / (off + off), so drift in machine load cancels within the group; the
figure printed is the median of those ratios (the target is <= 1.03x). All batches have one shape (clips
of equal length), so steps differ only by the switch. One thread, as in the project's CI.
"""

import argparse
import contextlib
import statistics
import time
import warnings
from typing import Any

import lightning.pytorch as pl
import torch
from neuraltypes_modules.configs import keyword_classifier_config, text_classifier_config

from neuraltypes.models import ModelPT
from neuraltypes.runtime import disable_checks

_PATTERN = (True, False, False, True)  # checks on or off, by step, repeating
_WARMUP = 8


class CheckSwitchTimer(pl.Callback):
    """Times each training step, with the run-time checks on or off by block."""

    def __init__(self) -> None:
        self.times: list[tuple[bool, float]] = []
        self._exit = contextlib.ExitStack()
        self._started = 0.0
        self._checks_on = True

    @staticmethod
    def checks_on_for(step: int) -> bool:
        return _PATTERN[step % len(_PATTERN)]

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: Any, batch: Any, batch_idx: int) -> None:
        self._checks_on = self.checks_on_for(trainer.global_step)
        if not self._checks_on:
            self._exit.enter_context(disable_checks())
        self._started = time.perf_counter()

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: Any, outputs: Any, batch: Any, idx: int) -> None:
        elapsed = time.perf_counter() - self._started
        self._exit.close()
        if trainer.global_step > _WARMUP:
            self.times.append((self._checks_on, elapsed))

    def ratios(self) -> list[float]:
        """(on + on) / (off + off) for each complete group of four steps."""
        groups = [self.times[start : start + 4] for start in range(0, len(self.times) - 3, 4)]
        ratios = []
        for group in groups:
            on = sum(seconds for checked, seconds in group if checked)
            off = sum(seconds for checked, seconds in group if not checked)
            if sum(checked for checked, _ in group) == 2:
                ratios.append(on / off)
        return ratios


def _equal_length_keywords() -> dict[str, Any]:
    config = keyword_classifier_config()
    config["train_ds"]["dataset"].update(min_seconds=0.5, max_seconds=0.5)
    return config


def _equal_length_text() -> dict[str, Any]:
    config = text_classifier_config()
    config["train_ds"]["dataset"].update(min_length=24, max_length=24)
    return config


def measure(config: dict[str, Any], steps: int) -> tuple[float, float, float, int]:
    """Median step seconds with checks on and off, the median paired ratio, and how many groups gave it."""
    torch.manual_seed(0)
    config["validation_ds"] = None
    config["train_ds"]["shuffle"] = False
    config["optim"].pop("sched", None)
    timer = CheckSwitchTimer()
    trainer = pl.Trainer(
        max_steps=steps,
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[timer],
    )
    trainer.fit(ModelPT.from_config_dict(config))
    on = statistics.median(seconds for checked, seconds in timer.times if checked)
    off = statistics.median(seconds for checked, seconds in timer.times if not checked)
    ratios = timer.ratios()
    return on, off, statistics.median(ratios), len(ratios)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=240)
    parser.add_argument("--model", choices=["keyword_classifier", "text_classifier", "both"], default="both")
    args = parser.parse_args()
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    models = {"keyword_classifier": _equal_length_keywords, "text_classifier": _equal_length_text}
    chosen = list(models) if args.model == "both" else [args.model]
    print(f"{'model':<20}{'groups':>7}{'checks on':>12}{'checks off':>12}{'ratio (median of groups)':>26}")
    for name in chosen:
        on, off, ratio, groups = measure(models[name](), args.steps)
        print(f"{name:<20}{groups:>7}{on * 1e3:>10.2f}ms{off * 1e3:>10.2f}ms{ratio:>25.3f}x")


if __name__ == "__main__":
    main()
