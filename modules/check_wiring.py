"""Show mypy, with the neuraltypes plugin, catching a wiring mistake in a model file before anything runs.

``python -m neuraltypes_modules.check_wiring`` type-checks two versions of one model
(``examples/wired_classifier.py`` and ``examples/miswired_classifier.py``, whose classifier head is fed mel
features instead of encodings) and prints what mypy says about each. Exits 0 when the right one passes and
the wrong one is reported with a ``[neural-type]`` error.
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

__all__ = ["EXAMPLES_DIR", "main", "run_mypy"]

#: The folder of the two model files.
EXAMPLES_DIR = Path(__file__).parent / "examples"

_CONFIG = "[mypy]\nplugins = neuraltypes_mypy_plugin\nstrict = True\n"


def run_mypy(*files: Path) -> tuple[int, str]:
    """mypy's exit status and report for ``files``, strict and with the neuraltypes plugin."""
    try:
        from mypy import api
    except ImportError:  # pragma: no cover - depends on the installed extras
        raise SystemExit("this script needs mypy: pip install 'neuraltypes[mypy]'") from None
    # A fixed config path and a cache of its own: mypy's cache is keyed on its options (the config file's path
    # included), and a cache shared with differently configured runs would re-analyse torch every time (a
    # minute, instead of seconds warm).
    home = Path(tempfile.gettempdir()) / "neuraltypes-check-wiring"
    home.mkdir(exist_ok=True)
    config = home / "mypy.ini"
    if not config.is_file() or config.read_text() != _CONFIG:
        config.write_text(_CONFIG)
    arguments = ["--config-file", str(config), "--cache-dir", str(home / "cache"), *map(str, files)]
    stdout, stderr, status = api.run(arguments)
    return status, stdout + stderr


def main(argv: list[str] | None = None) -> int:
    description = (__doc__ or "").split("\n\n")[0]
    argparse.ArgumentParser(prog="python -m neuraltypes_modules.check_wiring", description=description).parse_args(argv)
    results = {}
    for name in ("wired_classifier.py", "miswired_classifier.py"):
        started = time.perf_counter()
        status, report = run_mypy(EXAMPLES_DIR / name)
        results[name] = (status, report)
        print(f"$ mypy --strict (with plugins = neuraltypes_mypy_plugin) examples/{name}")
        print(report.rstrip())
        print(f"(exit status {status}, {time.perf_counter() - started:.1f} s)\n")
    wired_ok = results["wired_classifier.py"][0] == 0
    status, report = results["miswired_classifier.py"]
    caught = status == 1 and "[neural-type-argument]" in report
    print("the right wiring passes:", "yes" if wired_ok else "NO")
    print("the mistake is reported:", "yes" if caught else "NO")
    return 0 if wired_ok and caught else 1


if __name__ == "__main__":
    sys.exit(main())
