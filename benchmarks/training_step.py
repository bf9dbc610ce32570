"""What run-time checks cost inside a real training step: checks on vs off, interleaved, in one Lightning run.

``python benchmarks/training_step.py [--steps 480] [--model keyword_classifier|text_classifier|both]``

A Lightning ``Trainer`` trains an example model; a callback times each step from ``on_train_batch_start`` to
``on_train_batch_end`` (forward with every typed module checked, loss, backward, optimizer step) and
switches the checks off (``disable_checks()``) in an on-off-off-on pattern, step by step, so both sides see
the same machine load. All batches have one shape (clips of equal length), so steps differ only by the
switch. It prints the ratio of the median step times (checks on / off; the target is <= 1.03x) and, as a
second estimate less disturbed by load spikes, the ratio of their lower quartiles. One thread, as in CI.
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
from neuraltypes.runtime import checks_enabled, disable_checks

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
        if checks_enabled() is not self._checks_on:
            raise RuntimeError("the run-time check switch did not take effect")
        self._started = time.perf_counter()

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: Any, outputs: Any, batch: Any, idx: int) -> None:
        elapsed = time.perf_counter() - self._started
        self._exit.close()
        if trainer.global_step > _WARMUP:
            self.times.append((self._checks_on, elapsed))

    def seconds(self, checks_on: bool) -> list[float]:
        """The timed steps with the checks on, or off."""
        return [seconds for checked, seconds in self.times if checked is checks_on]


def _equal_length_keywords() -> dict[str, Any]:
    config = keyword_classifier_config()
    config["train_ds"]["dataset"].update(min_seconds=0.5, max_seconds=0.5)
    return config


def _equal_length_text() -> dict[str, Any]:
    config = text_classifier_config()
    config["train_ds"]["dataset"].update(min_length=24, max_length=24)
    return config


def measure(config: dict[str, Any], steps: int) -> tuple[list[float], list[float]]:
    """Step seconds with checks on, and with checks off, interleaved in one run."""
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
    return timer.seconds(True), timer.seconds(False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=480)
    parser.add_argument("--model", choices=["keyword_classifier", "text_classifier", "both"], default="both")
    args = parser.parse_args()
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    models = {"keyword_classifier": _equal_length_keywords, "text_classifier": _equal_length_text}
    chosen = list(models) if args.model == "both" else [args.model]
    header = f"{'model':<20}{'steps/side':>11}{'median on':>12}{'median off':>12}{'ratio':>8}{'ratio of quartiles':>20}"
    print(header)
    for name in chosen:
        on, off = measure(models[name](), args.steps)
        ratio = statistics.median(on) / statistics.median(off)
        quartiles = statistics.quantiles(on, n=4)[0] / statistics.quantiles(off, n=4)[0]
        print(
            f"{name:<20}{min(len(on), len(off)):>11}{statistics.median(on) * 1e3:>10.2f}ms"
            f"{statistics.median(off) * 1e3:>10.2f}ms{ratio:>7.3f}x{quartiles:>19.3f}x"
        )


if __name__ == "__main__":
    main()
