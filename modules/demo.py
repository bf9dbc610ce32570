"""The demo: train a typed keyword classifier with run-time checks on, archive it, restore it elsewhere.

``python -m neuraltypes_modules.demo`` trains on built-in synthetic audio with Lightning (progress bar
shown), evaluates on a clean and a noisy validation set, shows a wiring mistake caught at run time, saves
an archive, restores it in a fresh Python process, checks that the restored model's outputs are identical,
and prints a summary. About a minute on two CPU cores.
"""

import argparse
import logging
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from safetensors.torch import load_file, save_file

from neuraltypes.runtime import NeuralTypeError, checks_enabled

from .configs import keyword_classifier_config
from .data import AudioBatch
from .keyword_classifier import KeywordClassifier

__all__ = ["hide_lightning_tips", "main", "run_demo"]


@dataclass
class Timings:
    """Wall-clock seconds of each phase."""

    phases: dict[str, float] = field(default_factory=dict)

    def record(self, name: str, started: float) -> float:
        self.phases[name] = time.perf_counter() - started
        return time.perf_counter()


class LossHistory(pl.Callback):
    """Keeps each training step's loss, to show that it drops."""

    def __init__(self) -> None:
        self.losses: list[float] = []

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        if isinstance(outputs, dict) and isinstance(outputs.get("loss"), torch.Tensor):
            self.losses.append(float(outputs["loss"]))


class _NoTips(logging.Filter):
    """Drops Lightning's advertising ("💡 Tip: ... try installing litlogger"), an info record like the useful ones."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("💡 Tip:")


_LIGHTNING_INFO = ("lightning.pytorch.utilities.rank_zero", "lightning.fabric.utilities.rank_zero")


def hide_lightning_tips() -> None:
    """Keep Lightning's product tips out of the demo's output; its warnings and other notices still show.

    Lightning prints them with ``rank_zero_info`` on every ``Trainer`` (a ``logger=False`` trainer included),
    through the logger of its ``rank_zero`` module, which this filters.
    """
    for name in _LIGHTNING_INFO:
        logger = logging.getLogger(name)
        if not any(isinstance(known, _NoTips) for known in logger.filters):
            logger.addFilter(_NoTips())


def _show_wiring_mistake(model: KeywordClassifier, batch: AudioBatch) -> str:
    """Feed the decoder mel features instead of encodings: the run-time check names the port and both types."""
    features = model.preprocessor(input_signal=batch.input_signal, length=batch.input_signal_length)
    try:
        # Deliberate, and mypy with the plugin reports it too; here the run-time check is on show.
        model.decoder(encoder_output=features.processed_signal, length=features.processed_length)  # type: ignore[neural-type-argument]
    except NeuralTypeError as error:
        return str(error)
    raise AssertionError("the run-time check let mel features into the classifier head")


def _restore_in_fresh_process(archive: Path, inputs: Path, outputs: Path) -> str:
    command = [sys.executable, "-m", f"{__package__}.restore_check", str(archive), str(inputs), str(outputs)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"restoring in a fresh process failed:\n{done.stderr}")
    return done.stdout.strip()


def _metric_rows(metrics: dict[str, float], names: list[str]) -> list[str]:
    rows = [f"  {'validation set':<16}{'loss':>8}{'accuracy':>10}"]
    for name in names:
        rows.append(f"  {name:<16}{metrics[f'{name}_val_loss']:>8.3f}{metrics[f'{name}_val_acc']:>10.1%}")
    return rows


def run_demo(output_dir: Path, epochs: int, progress: bool = True) -> dict[str, Any]:
    """Train, evaluate, archive, restore in a fresh process and compare; returns what the summary prints."""
    timings = Timings()
    started = time.perf_counter()
    # One thread: small kernels gain little from more, and the restoring process must sum in the same order.
    torch.set_num_threads(1)
    pl.seed_everything(0, verbose=False)
    model = KeywordClassifier(keyword_classifier_config())
    history = LossHistory()
    trainer = pl.Trainer(
        max_epochs=epochs,
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_model_summary=False,
        enable_progress_bar=progress,
        num_sanity_val_steps=0,
        log_every_n_steps=4,
        callbacks=[history],
        default_root_dir=output_dir,
    )
    started = timings.record("build", started)
    trainer.fit(model)
    started = timings.record("train", started)
    trainer.validate(model, verbose=False)
    metrics = {key: float(value) for key, value in trainer.callback_metrics.items()}
    started = timings.record("validate", started)

    model.eval()
    batch = next(iter(model.val_dataloader()[0]))
    mistake = _show_wiring_mistake(model, batch)
    archive = output_dir / "keyword_classifier.nta"
    model.save_to(archive)
    started = timings.record("save", started)

    inputs_path, outputs_path = output_dir / "inputs.safetensors", output_dir / "restored_outputs.safetensors"
    inputs = {"input_signal": batch.input_signal, "input_signal_length": batch.input_signal_length}
    save_file(inputs, inputs_path)
    with torch.no_grad():
        expected = model(**inputs)
    child = _restore_in_fresh_process(archive, inputs_path, outputs_path)
    restored = load_file(outputs_path)["output"]
    timings.record("restore (fresh process)", started)
    return {
        "model": model,
        "metrics": metrics,
        "losses": history.losses,
        "mistake": mistake,
        "archive": archive,
        "identical": torch.equal(expected, restored),
        "child": child,
        "timings": timings.phases,
    }


def _summary(result: dict[str, Any]) -> str:
    model: KeywordClassifier = result["model"]
    losses: list[float] = result["losses"]
    names = model.dataloader_names("validation")
    archive: Path = result["archive"]
    lines = [
        "",
        "== neuraltypes demo: summary",
        "Typed signature (every forward below was checked on every call while training):",
        *("  " + line for line in model.ports_summary().splitlines()),
        "",
        f"Training: {len(losses)} steps, loss {losses[0]:.3f} -> {losses[-1]:.3f}; run-time checks "
        f"{'on' if checks_enabled() else 'off'}",
        *_metric_rows(result["metrics"], names),
        "",
        "A wiring mistake caught at run time (mel features fed to the classifier head):",
        *("  " + line for line in result["mistake"].splitlines()),
        "",
        f"Archive: {archive} ({archive.stat().st_size / 1024:.0f} KiB); {result['child']}",
        f"Restored in a fresh process, outputs identical: {'yes' if result['identical'] else 'NO'}",
        "Timings: " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in result["timings"].items()),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m neuraltypes_modules.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--output-dir", type=Path, help="keep the archive here (default: a temporary folder)")
    parser.add_argument("--epochs", type=int, default=3, help="training epochs (default: 3)")
    parser.add_argument("--no-progress", action="store_true", help="hide Lightning's progress bar")
    args = parser.parse_args(argv)
    # Lightning's own deprecation notice about torch's pytree API: noise for a reader of the demo.
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)")
    hide_lightning_tips()
    total = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="neuraltypes-demo-") as scratch:
        output_dir = args.output_dir or Path(scratch)
        output_dir.mkdir(parents=True, exist_ok=True)
        result = run_demo(output_dir, args.epochs, progress=not args.no_progress)
        result["timings"]["total"] = time.perf_counter() - total
        print(_summary(result), flush=True)
    return 0 if result["identical"] else 1


if __name__ == "__main__":
    sys.exit(main())
