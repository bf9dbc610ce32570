"""The build backend: setuptools', with an editable install that type checkers can follow.

For this project's layout (``modules/`` installs as ``neuraltypes_modules``, ``stubs/neuraltypes_rules`` as
``neuraltypes_mypy_plugin.rules``), setuptools implements ``pip install -e .`` with an import hook. Python
follows the hook; mypy, pyright and Pylance look for packages only in the folders on ``sys.path``, so from any
other folder they report ``Cannot find implementation or library stub for module named "neuraltypes"``.

This backend builds setuptools' editable wheel and adds one ``.pth`` file to it. Its first line puts
``build/__editable__.neuraltypes/`` on ``sys.path``: a folder that holds, for each top-level package, a
symbolic link to its source folder (``neuraltypes -> ../../neuraltypes``, ``neuraltypes_modules ->
../../modules`` ...), so every checker finds every package, and edits (new files included) show at once. Its
second line tells Python's own path finder to import nothing from that folder: imports keep going through
setuptools' hook, from the source folders themselves (tracebacks, debuggers and ``__file__`` show the real
paths, as before). The plugin finds its rules in the source tree (``stubs/neuraltypes_rules``).

Where links cannot be made (Windows without the privilege), or when ``editable_mode`` is given in
``--config-settings``, the editable wheel is setuptools' unchanged; wheels, sdists and metadata always are.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import sys
import tomllib
import warnings
import zipfile
from pathlib import Path
from typing import Any

from setuptools import build_meta as _setuptools
from setuptools.build_meta import *  # noqa: F403  (every other hook is setuptools' own)

#: The folder of links, under the project root; ``build/`` is where setuptools keeps its own editable files.
LINKS = Path("build", "__editable__.neuraltypes")
#: The ``.pth`` file added to the editable wheel.
PTH_NAME = "__editable__.neuraltypes.paths.pth"


def build_editable(
    wheel_directory: str, config_settings: dict[str, Any] | None = None, metadata_directory: str | None = None
) -> str:
    with warnings.catch_warnings():
        # setuptools' note on every editable install ("be careful with folders in your working directory with the
        # same name as your package"), which recent pip shows even with -q: noise in ./quickstart.sh's output.
        warnings.filterwarnings("ignore", message="Editable installation")
        name: str = _setuptools.build_editable(wheel_directory, config_settings, metadata_directory)
    if config_settings and {"editable_mode", "editable-mode", "--editable-mode"} & set(config_settings):
        return name  # the user chose setuptools' mode: leave it alone
    folder = link_packages(Path.cwd())
    if folder is not None:
        add_pth(Path(wheel_directory, name), PTH_NAME, pth_text(str(folder)))
    return name


def pth_text(folder: str) -> str:
    """The folder, for the checkers; then a finder that finds nothing cached for it, so that Python skips it.

    A finder object rather than ``None``: ``importlib.invalidate_caches()`` drops ``None`` entries.
    """
    skip = "types.SimpleNamespace(find_spec=lambda *args, **kwargs: None, invalidate_caches=lambda: None)"
    return f"{folder}\nimport sys, types; sys.path_importer_cache[{folder!r}] = {skip}\n"


def top_level_packages(root: Path) -> dict[str, Path]:
    """The top-level packages pyproject.toml lists, each with its source folder."""
    setuptools_config = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    package_dir: dict[str, str] = setuptools_config.get("package-dir", {})
    return {
        package: root / package_dir.get(package, package)
        for package in setuptools_config["packages"]
        if "." not in package
    }


def link_packages(root: Path) -> Path | None:
    """Make ``root/LINKS`` hold one link per top-level package (and nothing else); None if links cannot be made."""
    folder = root / LINKS
    packages = top_level_packages(root)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for entry in folder.iterdir():
            if entry.name in packages:
                continue
            if entry.is_symlink() or not entry.is_dir():
                entry.unlink()
            else:
                shutil.rmtree(entry)
        for package, source in packages.items():
            link, staged = folder / package, folder / f".{package}.new"
            staged.unlink(missing_ok=True)
            staged.symlink_to(os.path.relpath(source, folder), target_is_directory=True)
            os.replace(staged, link)
    except OSError as error:
        print(f"neuraltypes build backend: no static editable path ({error}); using setuptools' hook", file=sys.stderr)
        return None
    return folder.resolve()


def add_pth(wheel: Path, name: str, text: str) -> None:
    """Add the top-level file ``name`` to ``wheel``, recorded in its RECORD."""
    data = text.encode()
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    staged = wheel.with_name(f".{wheel.name}.new")
    with zipfile.ZipFile(wheel) as source, zipfile.ZipFile(staged, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename.endswith(".dist-info/RECORD"):
                content = content.rstrip(b"\n") + f"\n{name},sha256={digest},{len(data)}\n".encode()
                target.writestr(name, data)
            target.writestr(info, content)
    os.replace(staged, wheel)
