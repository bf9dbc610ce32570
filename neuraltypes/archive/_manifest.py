"""The manifest: what an archive holds (every member's size and sha256) and what its model consumes.

It is JSON in the archive's header metadata, parsed strictly: duplicate keys, unknown keys, wrong types and
inconsistent records are errors, so two readers can never disagree about what an archive contains. Parsing takes
time linear in the manifest's size (sets and dicts, never a scan per key), and the number of members is capped.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final, Literal

from ._format import (
    ARTIFACT_PREFIX,
    CONFIG_MEMBER,
    FORMAT_NAME,
    FORMAT_VERSION,
    MAX_CONFIG_BYTES,
    RESERVED_PREFIX,
    check_artifact_name,
)
from ._limits import DEFAULT_LIMITS, ArchiveLimits

__all__ = ["DTYPE_SIZES", "Manifest", "ManifestError", "MemberRecord", "Signature", "check_target_name", "sha256_hex"]

MemberKind = Literal["config", "weight", "artifact"]

#: Element sizes of the dtypes an archive may hold (torch's names).
DTYPE_SIZES: Final[Mapping[str, int]] = MappingProxyType(
    {
        "float64": 8, "float32": 4, "float16": 2, "bfloat16": 2,
        "float8_e4m3fn": 1, "float8_e5m2": 1,
        "int64": 8, "int32": 4, "int16": 2, "int8": 1, "uint8": 1,
        "uint16": 2, "uint32": 4, "uint64": 8, "bool": 1,
        "complex64": 8,
    }
)  # fmt: skip

_SHA256 = re.compile(r"[0-9a-f]{64}")
#: A model class's import path, as ``_target_`` holds it (``mypackage.models.Recognizer``).
_IMPORT_PATH = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")
#: Tensors have at most this many dimensions (torch's own limit is 64), each below 2**63.
_MAX_RANK: Final = 64
_MAX_DIM: Final = (1 << 63) - 1

# Upgrades of an older manifest (as parsed JSON) to the next version: version -> function. Version 1 is the
# first, so there is nothing to migrate yet; a future version 2 adds ``1: _v1_to_v2`` here.
_MIGRATIONS: Final[Mapping[int, Callable[[dict[str, Any]], dict[str, Any]]]] = MappingProxyType({})


class ManifestError(ValueError):
    """The manifest is malformed; the reader turns it into an ``ArchiveError`` naming the archive."""


def check_target_name(target: str) -> str | None:
    """Why ``target`` may not be an archive's model class (its ``_target_``), or None when it may."""
    if _IMPORT_PATH.fullmatch(target) is None:
        return f"{target!r} is not an import path (a model class, like 'package.module.Model')"
    return None


def sha256_hex(data: bytes | bytearray | memoryview) -> str:
    """The sha256 of ``data`` as lowercase hex."""
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Signature:
    """A model's typed signature: argument and output names with the ``str()`` of their neural types."""

    inputs: tuple[tuple[str, str], ...] = ()
    outputs: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class MemberRecord:
    """One member: its name, what it is, its byte size and sha256, and for weights their dtype and shape."""

    name: str
    kind: MemberKind
    size: int
    sha256: str
    dtype: str = "uint8"
    shape: tuple[int, ...] = field(default=())


@dataclass(frozen=True)
class Manifest:
    """Everything an archive declares about itself. ``aliases`` maps a weight name to the one it shares."""

    target: str
    members: tuple[MemberRecord, ...]
    signature: Signature = Signature()
    aliases: tuple[tuple[str, str], ...] = ()
    created_by: str = ""
    format_version: int = FORMAT_VERSION
    _by_name: Mapping[str, MemberRecord] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_name: dict[str, MemberRecord] = {}
        for record in self.members:
            by_name.setdefault(record.name, record)
        object.__setattr__(self, "_by_name", MappingProxyType(by_name))

    def member(self, name: str) -> MemberRecord | None:
        """The record of member ``name``, or None."""
        return self._by_name.get(name)

    @property
    def weights(self) -> tuple[MemberRecord, ...]:
        """The weight members, in archive order."""
        return tuple(record for record in self.members if record.kind == "weight")

    @property
    def artifacts(self) -> tuple[MemberRecord, ...]:
        """The artifact members, in archive order."""
        return tuple(record for record in self.members if record.kind == "artifact")

    def to_json(self) -> str:
        """The manifest as canonical JSON (sorted keys, no whitespace), as stored in the archive."""
        data = {
            "format": FORMAT_NAME,
            "format_version": self.format_version,
            "target": self.target,
            "created_by": self.created_by,
            "signature": {"inputs": dict(self.signature.inputs), "outputs": dict(self.signature.outputs)},
            "aliases": dict(self.aliases),
            "members": [
                {
                    "name": r.name, "kind": r.kind, "size": r.size, "sha256": r.sha256,
                    "dtype": r.dtype, "shape": list(r.shape),
                }
                for r in self.members
            ],
        }  # fmt: skip
        return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)

    @classmethod
    def from_json(cls, text: str, limits: ArchiveLimits = DEFAULT_LIMITS) -> Manifest:
        """Parse and check a stored manifest, migrating an older format version.

        Raises:
            ManifestError: naming what is wrong (an unknown version says which versions this library reads,
                too many members names ``limits.max_members``).
        """
        try:
            parsed = json.loads(text, object_pairs_hook=_no_duplicate_keys)
        except RecursionError:
            raise ManifestError("the manifest nests too deeply to be a manifest") from None
        data = _expect(parsed, dict, "the manifest")
        if data.get("format") != FORMAT_NAME:
            raise ManifestError(f"the manifest's format is {data.get('format')!r}, expected {FORMAT_NAME!r}")
        version = data.get("format_version")
        if type(version) is not int or version < 1:
            raise ManifestError(f"format_version {version!r} is not a known archive format version")
        if version > FORMAT_VERSION:
            raise ManifestError(
                f"archive format version {version} is newer than this library reads (up to {FORMAT_VERSION}); "
                "upgrade neuraltypes to restore it"
            )
        while version < FORMAT_VERSION:
            data = _MIGRATIONS[version](data)
            version += 1
        return _parse_current(data, limits)


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``json``'s object hook: the object as a dict, refusing a key that appears twice (in linear time)."""
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise ManifestError(f"duplicate key {key!r} in the manifest")
            seen.add(key)
    return result


def _expect(value: object, kind: type, what: str) -> Any:
    if type(value) is not kind:
        raise ManifestError(f"{what} must be a {kind.__name__}, not {type(value).__name__}")
    return value


def _parse_current(data: dict[str, Any], limits: ArchiveLimits) -> Manifest:
    known = {"format", "format_version", "target", "created_by", "signature", "aliases", "members"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ManifestError(f"unknown manifest key {unknown[0]!r}")
    signature = _expect(data.get("signature"), dict, "'signature'")
    items = _expect(data.get("members"), list, "'members'")
    count = len(items) + len(_expect(data.get("aliases"), dict, "'aliases'"))
    if count > limits.max_members:
        raise ManifestError(
            limits.refusal(
                f"the manifest lists {count} members and aliases, more than {limits.max_members}", "max_members"
            )
        )
    members = tuple(_parse_member(_expect(item, dict, "each entry of 'members'")) for item in items)
    target = _expect(data.get("target"), str, "'target'")
    reason = check_target_name(target)
    if reason is not None:
        raise ManifestError(f"'target' {reason}")
    manifest = Manifest(
        target=target,
        created_by=_expect(data.get("created_by"), str, "'created_by'"),
        signature=Signature(
            inputs=_string_pairs(signature.get("inputs"), "'signature.inputs'"),
            outputs=_string_pairs(signature.get("outputs"), "'signature.outputs'"),
        ),
        aliases=_string_pairs(data.get("aliases"), "'aliases'"),
        members=members,
    )
    _check_consistent(manifest)
    return manifest


def _string_pairs(value: object, what: str) -> tuple[tuple[str, str], ...]:
    mapping = _expect(value, dict, what)
    for key, item in mapping.items():
        _expect(item, str, f"{what}[{key!r}]")
    return tuple(mapping.items())


def _parse_member(item: dict[str, Any]) -> MemberRecord:
    name = _expect(item.get("name"), str, "a member's 'name'")
    if set(item) != {"name", "kind", "size", "sha256", "dtype", "shape"}:
        raise ManifestError(f"member {name!r}: keys must be name, kind, size, sha256, dtype and shape")
    kind = item["kind"]
    if kind not in ("config", "weight", "artifact"):
        raise ManifestError(f"member {name!r}: unknown kind {kind!r}")
    size = item["size"]
    if type(size) is not int or size < 0:
        raise ManifestError(f"member {name!r}: size {size!r} is not a non-negative integer")
    sha = _expect(item["sha256"], str, f"member {name!r}: 'sha256'")
    if _SHA256.fullmatch(sha) is None:
        raise ManifestError(f"member {name!r}: sha256 {sha!r} is not 64 lowercase hex digits")
    dtype = _expect(item["dtype"], str, f"member {name!r}: 'dtype'")
    if dtype not in DTYPE_SIZES:
        raise ManifestError(f"member {name!r}: unsupported dtype {dtype!r}")
    shape = _expect(item["shape"], list, f"member {name!r}: 'shape'")
    if len(shape) > _MAX_RANK:
        raise ManifestError(f"member {name!r}: its shape has {len(shape)} dimensions, more than a tensor's {_MAX_RANK}")
    if not all(type(dim) is int and 0 <= dim <= _MAX_DIM for dim in shape):
        raise ManifestError(f"member {name!r}: shape {shape!r} is not a list of non-negative 64-bit integers")
    return MemberRecord(name=name, kind=kind, size=size, sha256=sha, dtype=dtype, shape=tuple(shape))


def _check_consistent(manifest: Manifest) -> None:
    seen: set[str] = set()
    for record in manifest.members:
        if record.name in seen:
            raise ManifestError(f"member {record.name!r} is listed twice")
        seen.add(record.name)
    configs = [record for record in manifest.members if record.kind == "config"]
    if [record.name for record in configs] != [CONFIG_MEMBER]:
        raise ManifestError(f"the manifest must list exactly one config member, {CONFIG_MEMBER!r}")
    if configs[0].size > MAX_CONFIG_BYTES:
        raise ManifestError(f"member {CONFIG_MEMBER!r}: {configs[0].size} bytes exceeds the {MAX_CONFIG_BYTES} cap")
    for record in manifest.members:
        _check_member(record)
    weights = {record.name for record in manifest.weights}
    for alias, original in manifest.aliases:
        if original not in weights or alias in weights:
            raise ManifestError(f"alias {alias!r} -> {original!r} must name a stored weight and a new name")


def _check_member(record: MemberRecord) -> None:
    count = 1
    for dim in record.shape:
        count *= dim
    if record.kind == "weight":
        if record.name.startswith(RESERVED_PREFIX) or not record.name:
            raise ManifestError(
                f"member {record.name!r}: weight names may not be empty or start with {RESERVED_PREFIX!r}"
            )
        expected = count * DTYPE_SIZES[record.dtype]
    else:
        if record.dtype != "uint8" or len(record.shape) != 1:
            raise ManifestError(f"member {record.name!r}: {record.kind} members are 1-d uint8")
        expected = count
    if record.size != expected:
        raise ManifestError(f"member {record.name!r}: size {record.size} does not match dtype and shape ({expected})")
    if record.kind == "artifact":
        if not record.name.startswith(ARTIFACT_PREFIX):
            raise ManifestError(f"member {record.name!r}: artifact members live under {ARTIFACT_PREFIX!r}")
        reason = check_artifact_name(record.name.removeprefix(ARTIFACT_PREFIX))
        if reason is not None:
            raise ManifestError(f"member {record.name!r}: {reason}")
