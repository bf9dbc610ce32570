"""The plugin stays cheap to load: importing it never imports torch (that alone costs seconds per mypy run)."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_plugin_does_not_import_torch() -> None:
    code = "import sys, neuraltypes_mypy_plugin; print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_the_entry_point_returns_the_plugin_class() -> None:
    import neuraltypes_mypy_plugin

    assert neuraltypes_mypy_plugin.plugin("2.4.1") is neuraltypes_mypy_plugin.NeuralTypesPlugin
