"""``python -m neuraltypes.archive``: inspect an archive (members, sizes, checksums, signature, config) or verify it."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TextIO

from ._errors import ArchiveError
from ._inspect import describe_manifest, verify_archive
from ._limits import DEFAULT_LIMITS
from ._nemo import NEMO_CONFIG, looks_like_tar, read_nemo_index
from ._reader import ArchiveReader
from ._tar import open_tar

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m neuraltypes.archive", description="Inspect or verify a neuraltypes model archive."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    inspect = commands.add_parser("inspect", help="show members, sizes, checksums, typed signature and config")
    inspect.add_argument("path")
    inspect.add_argument("--no-config", action="store_true", help="do not print the config")
    inspect.add_argument("--full-hashes", action="store_true", help="print whole sha256 digests")
    verify = commands.add_parser("verify", help="check every member against its sha256")
    verify.add_argument("path")
    verify.add_argument("--progress", action="store_true", help="show a progress bar")
    return parser


def _inspect_nemo(path: str, out: TextIO) -> None:
    bounded = open_tar(path, DEFAULT_LIMITS)
    try:
        members = read_nemo_index(bounded, path, DEFAULT_LIMITS)
        print("NeMo 1.x archive (no checksums, no typed signature; restore it to migrate)", file=out)
        for name, info in members.items():
            print(f"  {name}  {info.size} B", file=out)
        config = bounded.tar.extractfile(members[NEMO_CONFIG])
        if config is not None:
            print("config:", file=out)
            print(config.read().decode("utf-8", "replace"), file=out)
    finally:
        bounded.close()


def _inspect(path: str, show_config: bool, full_hashes: bool, out: TextIO) -> None:
    if looks_like_tar(path):
        _inspect_nemo(path, out)
        return
    with ArchiveReader(path) as reader:
        for line in describe_manifest(reader.manifest, full_hashes=full_hashes):
            print(line, file=out)
        if show_config:
            print("config:", file=out)
            print(reader.read_config_text(), file=out, end="")


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """Run the command line; returns the exit status (0 fine, 1 a bad archive, 2 a usage error)."""
    arguments = _parser().parse_args(argv)
    try:
        if arguments.command == "inspect":
            _inspect(arguments.path, not arguments.no_config, arguments.full_hashes, out)
        else:
            manifest = verify_archive(arguments.path, progress=arguments.progress or None)
            total = sum(record.size for record in manifest.members)
            print(f"OK: {arguments.path}: {len(manifest.members)} members, {total} bytes, all sha256 match", file=out)
    except (ArchiveError, OSError) as error:
        print(f"error: {error}", file=err)
        return 1
    return 0
