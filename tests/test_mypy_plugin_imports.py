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


def test_the_checker_loads_only_when_mypy_first_asks_for_a_hook() -> None:
    """A run served entirely from mypy's cache asks for no hook: it pays for neither the core nor the rules."""
    code = (
        "import sys, mypy.options, neuraltypes_mypy_plugin as p\n"
        "plugin = p.NeuralTypesPlugin(mypy.options.Options())\n"
        "plugin.set_modules({})\n"
        "print('neuraltypes.core' in sys.modules)\n"
        "plugin.get_method_hook('torch._tensor.Tensor.transpose')\n"
        "print('neuraltypes.core' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "True"]
