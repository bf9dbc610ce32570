"""The neuraltypes mypy plugin: enable it with ``plugins = ["neuraltypes_mypy_plugin"]`` in mypy's config.

It imports mypy and the torch-free ``neuraltypes.core`` only, never torch.
"""

from mypy.plugin import Plugin

from ._plugin import NeuralTypesPlugin as NeuralTypesPlugin
from ._version import __version__ as __version__


def plugin(version: str) -> type[Plugin]:
    """mypy's entry point: the plugin class for any mypy version this package supports."""
    return NeuralTypesPlugin
