"""``python -m neuraltypes.archive``: inspect an archive (members, sizes, checksums, signature, config), verify it,
or export the model it holds to ONNX."""

from __future__ import annotations

import argparse
import importlib
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
    export = commands.add_parser(
        "export", help="restore the model and write it as ONNX, names and dynamic axes from its types"
    )
    export.add_argument("path")
    export.add_argument("output", help="the .onnx file to write")
    export.add_argument(
        "--size",
        action="append",
        default=[],
        metavar="NAME=N",
        help="a size of the example (repeatable): one the types leave open but the weights fix, such as D=64",
    )
    export.add_argument(
        "--import",
        dest="imports",
        action="append",
        default=[],
        metavar="MODULE",
        help="import this module first (repeatable): the package of the model's class, which an archive alone may "
        "not make Python import",
    )
    export.add_argument("--max-batch", type=int, help="the example's batch size (default 2)")
    export.add_argument("--max-dim", type=int, help="the example's time size (default 256)")
    export.add_argument(
        "--static", action="append", default=[], metavar="NAME", help="export this size variable static (repeatable)"
    )
    export.add_argument(
        "--no-check", action="store_true", help="do not run the file under onnxruntime against torch on the example"
    )
    return parser


def _sizes(values: Sequence[str], parser: argparse.ArgumentParser) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for value in values:
        name, _, number = value.partition("=")
        if not name or not number.isdigit():
            parser.error(f"--size takes NAME=N (such as D=64), not {value!r}")
        sizes[name] = int(number)
    return sizes


def _hint(message: str) -> str:
    """The command line's way to do what an export error asks for."""
    if "input_example(sizes=" in message:
        return "\n(on this command line: --size NAME=N)"
    if "which this program has not imported" in message:
        return "\n(on this command line: --import PACKAGE, once you trust the archive's class)"
    return ""


def _export(arguments: argparse.Namespace, sizes: dict[str, int], out: TextIO, err: TextIO) -> int:
    # The exporter sits above this layer (it builds the model, through nn); this command is the one caller here
    # that needs it, so it is imported when the command runs, as are torch.onnx and onnx behind it.
    from neuraltypes.export import ExportError, export_archive
    from neuraltypes.runtime import NeuralTypeError

    for name in arguments.imports:  # the user's own consent to import the model's package
        importlib.import_module(name)
    try:
        done = export_archive(
            arguments.path,
            arguments.output,
            sizes=sizes,
            max_batch=arguments.max_batch,
            max_dim=arguments.max_dim,
            static=tuple(arguments.static),
            check_trace=not arguments.no_check,
        )
    except (ArchiveError, ExportError, NeuralTypeError, ImportError) as error:
        print(f"error: {error}{_hint(str(error))}", file=err)
        return 1
    print(f"wrote {done.path}", file=out)
    print(done.signature.describe(), file=out)
    return 0


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
    parser = _parser()
    arguments = parser.parse_args(argv)
    sizes = _sizes(arguments.size, parser) if arguments.command == "export" else {}
    try:
        if arguments.command == "export":
            return _export(arguments, sizes, out, err)
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
