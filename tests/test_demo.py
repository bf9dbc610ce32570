"""The README's demo runs end to end, and mypy with the plugin passes the examples and catches the mis-wiring."""

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from neuraltypes_modules.check_wiring import EXAMPLES_DIR, run_mypy

pytestmark = pytest.mark.slow

MODULES_DIR = EXAMPLES_DIR.parent


def test_the_demo_trains_saves_restores_in_a_fresh_process_and_reports(tmp_path: Path) -> None:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "neuraltypes_modules.demo", "--epochs", "2", "--output-dir", str(tmp_path)],
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        timeout=240,
    )
    elapsed = time.perf_counter() - started
    assert done.returncode == 0, done.stderr[-4000:]
    report = done.stdout
    assert "Epoch 1: 100%" in report  # Lightning's progress bar was shown
    assert "Restored in a fresh process, outputs identical: yes" in report
    assert "run-time checks on" in report
    losses = re.search(r"Training: (\d+) steps, loss ([\d.]+) -> ([\d.]+)", report)
    assert losses is not None and int(losses[1]) == 24 and float(losses[3]) < float(losses[2])
    for name in ("clean", "noisy"):
        assert re.search(rf"^  {name} +\d\.\d{{3}} +\d+\.\d%$", report, re.MULTILINE), report
    assert "ClassificationDecoder.forward() parameter 'encoder_output'" in report
    assert "KeywordClassifier      " in report and "out processed_signal     B D T      MelSpectrogramType" in report
    assert (tmp_path / "keyword_classifier.nta").is_file()
    assert elapsed < 120


def test_the_modules_and_example_models_pass_mypy_with_the_plugin() -> None:
    files = [*sorted(MODULES_DIR.glob("*.py")), EXAMPLES_DIR / "wired_classifier.py"]
    status, report = run_mypy(*files)
    assert status == 0, report
    assert report.startswith("Success: no issues found")


def test_mypy_with_the_plugin_reports_the_miswired_model_at_its_line() -> None:
    status, report = run_mypy(EXAMPLES_DIR / "miswired_classifier.py")
    assert status == 1
    lines = report.splitlines()
    assert lines[0].endswith(
        'miswired_classifier.py:34: error: Argument "encoder_output" to "forward" of "ClassificationDecoder" has '
        'incompatible neural type NT[Tensor, "B D T", MelSpectrogramType, "float"]; expected '
        'NT[Tensor, "B D T", EncodedRepresentation, "float"] (elements are MelSpectrogramType, not '
        "EncodedRepresentation)  [neural-type-argument]"
    )
    assert lines[1] == "Found 1 error in 1 file (checked 1 source file)"


def test_the_wiring_script_shows_both_results() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "neuraltypes_modules.check_wiring"], capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "the right wiring passes: yes\nthe mistake is reported: yes" in done.stdout
