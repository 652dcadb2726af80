"""BACKWARD compatibility of Avro schemas, by the Avro schema resolution rules.

BACKWARD means consumers on the new schema (the reader) can decode everything written
with the old one (the writer), which is the order in which a deployment rolls out: the
registry gets the new schema, consumers upgrade, producers follow. :func:`check_backward`
is pure; :func:`check_against_ref` compares the working tree with a git revision.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from schemas.catalogue import TOPICS
from schemas.errors import HfosError
from schemas.loader import (
    AVRO_DIR,
    NAMED_KINDS,
    PRIMITIVES,
    AvroSchema,
    SchemaNotFoundError,
    SchemaSet,
    definitions,
    qualify,
)

# Writer type -> reader types that can decode it (Avro spec, "Schema Resolution").
PROMOTIONS: dict[str, frozenset[str]] = {
    "int": frozenset({"long", "float", "double"}),
    "long": frozenset({"float", "double"}),
    "float": frozenset({"double"}),
    "string": frozenset({"bytes"}),
    "bytes": frozenset({"string"}),
}


class IncompatibilityKind(StrEnum):
    """Why a reader cannot decode what a writer wrote."""

    MISSING_DEFAULT = "MISSING_DEFAULT"
    TYPE_MISMATCH = "TYPE_MISMATCH"
    NAME_MISMATCH = "NAME_MISMATCH"
    MISSING_ENUM_SYMBOLS = "MISSING_ENUM_SYMBOLS"
    FIXED_SIZE_MISMATCH = "FIXED_SIZE_MISMATCH"
    MISSING_UNION_BRANCH = "MISSING_UNION_BRANCH"
    LOGICAL_TYPE_MISMATCH = "LOGICAL_TYPE_MISMATCH"


@dataclass(frozen=True)
class Incompatibility:
    """One place where the new schema cannot read data written with the old one."""

    path: str
    """Dotted location, e.g. ``position.updated.quantity``."""
    kind: IncompatibilityKind
    detail: str

    def __str__(self) -> str:
        return f"{self.path}: {self.kind} ({self.detail})"


class GitRefError(HfosError):
    """The git revision to compare against cannot be read."""

    def __init__(self, ref: str, problem: str) -> None:
        super().__init__(f"git ref {ref!r}: {problem}")
        self.ref = ref
        self.problem = problem


@dataclass(frozen=True)
class CompatReport:
    """The outcome of comparing every schema with its version at a git revision."""

    ref: str
    checked: tuple[str, ...]
    """Schemas present at ``ref`` and now, compared."""
    added: tuple[str, ...]
    """Schemas new since ``ref``: nothing to be compatible with."""
    removed: tuple[str, ...]
    """Schemas at ``ref`` that no longer exist."""
    incompatibilities: tuple[Incompatibility, ...]

    @property
    def ok(self) -> bool:
        """True when every checked schema can read data written with its old version."""
        return not self.incompatibilities


def check_against_ref(ref: str = "HEAD", avro_dir: Path = AVRO_DIR) -> CompatReport:
    """Check each schema of ``avro_dir`` for BACKWARD compatibility with its version at
    ``ref`` (read with ``git show``; the directory must be inside a git work tree)."""
    current = SchemaSet.from_directory(avro_dir)
    old = SchemaSet.from_texts(_committed_texts(ref, avro_dir))
    both = sorted(set(current.names()) & set(old.names()))
    issues = [
        issue
        for name in both
        for issue in check_backward(current.standalone(name), old.standalone(name), _root(name))
    ]
    return CompatReport(
        ref=ref,
        checked=tuple(both),
        added=tuple(sorted(set(current.names()) - set(old.names()))),
        removed=tuple(sorted(set(old.names()) - set(current.names()))),
        incompatibilities=tuple(issues),
    )


def _root(name: str) -> str:
    """Report paths from the topic name an operator knows, else the type name."""
    return next((spec.name for spec in TOPICS if spec.value_schema == name), name)


def _committed_texts(ref: str, avro_dir: Path) -> dict[str, str]:
    """File name -> text of every ``.avsc`` in ``avro_dir`` at ``ref``."""
    if ref.startswith("-"):
        raise GitRefError(ref, "a revision cannot start with '-'")
    _git(ref, avro_dir, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    # Run inside avro_dir: ls-tree lists paths relative to it, and "REF:./x" resolves there.
    listing = _git(ref, avro_dir, "ls-tree", "--name-only", ref, "--", ".")
    names = [name for name in listing.splitlines() if name.endswith(".avsc")]
    return {name: _git(ref, avro_dir, "show", f"{ref}:./{name}") for name in names}


def _git(ref: str, cwd: Path, *args: str) -> str:
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GitRefError(ref, f"cannot run git in {cwd}: {exc}") from exc
    if done.returncode != 0:
        problem = done.stderr.strip() or "not a commit (is there a commit yet? is it fetched?)"
        raise GitRefError(ref, f"git {args[0]} failed: {problem}")
    return done.stdout


def check_backward(reader: AvroSchema, writer: AvroSchema, path: str) -> list[Incompatibility]:
    """Every reason the ``reader`` schema cannot decode data written with ``writer``.

    Both are JSON schemas (standalone: named types defined where first used); an empty
    list means compatible. ``path`` names the root in the reported paths.
    """
    reader, writer = qualify(reader), qualify(writer)
    return _Resolver(definitions(reader), definitions(writer)).resolve(reader, writer, path)


def kind_of(schema: AvroSchema) -> str:
    """The Avro type of a resolved node: a primitive, ``union`` or a complex kind."""
    if isinstance(schema, list):
        return "union"
    if isinstance(schema, str):
        return schema
    kind = schema["type"]
    return kind if isinstance(kind, str) else kind_of(kind)


def _short(name: str) -> str:
    """Avro matches named types on their unqualified name."""
    return name.rpartition(".")[2]


class _Resolver:
    """Resolves reader against writer, holding each side's named types."""

    def __init__(self, reader_names: dict[str, Any], writer_names: dict[str, Any]) -> None:
        self._reader_names = reader_names
        self._writer_names = writer_names
        # Named pairs being resolved: a recursive type meets itself again here.
        self._active: set[tuple[str, str]] = set()

    def resolve(self, reader: AvroSchema, writer: AvroSchema, path: str) -> list[Incompatibility]:
        reader = self._deref(reader, self._reader_names)
        writer = self._deref(writer, self._writer_names)
        if isinstance(writer, list):
            # Data may have been written with any branch: each must be readable.
            return [issue for branch in writer for issue in self.resolve(reader, branch, path)]
        if isinstance(reader, list):
            return self._reader_union(reader, writer, path)
        reader_kind, writer_kind = kind_of(reader), kind_of(writer)
        if reader_kind != writer_kind:
            if reader_kind in PROMOTIONS.get(writer_kind, frozenset()):
                return []
            detail = f"reader {reader_kind} cannot read writer {writer_kind}"
            return [Incompatibility(path, IncompatibilityKind.TYPE_MISMATCH, detail)]
        check = _CHECKS.get(reader_kind, _Resolver._logical)
        return check(self, reader, writer, path)

    def _deref(self, schema: AvroSchema, names: dict[str, Any]) -> AvroSchema:
        if isinstance(schema, str) and schema not in PRIMITIVES:
            if schema not in names:
                raise SchemaNotFoundError(schema, tuple(sorted(names)))
            return names[schema]
        if isinstance(schema, dict) and not isinstance(schema["type"], str):
            return self._deref(schema["type"], names)
        if isinstance(schema, dict) and schema["type"] not in NAMED_KINDS | {"array", "map"}:
            # {"type": "string"} is "string"; keep the node only for its logical type.
            return schema if "logicalType" in schema else self._deref(schema["type"], names)
        return schema

    def _reader_union(
        self, reader: list[Any], writer: AvroSchema, path: str
    ) -> list[Incompatibility]:
        """Avro picks the first reader branch matching the writer's type."""
        branches = [self._deref(branch, self._reader_names) for branch in reader]
        same = [b for b in branches if _same_type(b, writer)]
        if same:
            return self.resolve(same[0], writer, path)
        if any(not self.resolve(branch, writer, path) for branch in branches):
            return []
        detail = f"no branch of the reader union can read writer {kind_of(writer)}"
        return [Incompatibility(path, IncompatibilityKind.MISSING_UNION_BRANCH, detail)]

    def _record(self, reader: Any, writer: Any, path: str) -> list[Incompatibility]:
        if not _names_match(reader, writer):
            return [_name_mismatch(path, reader, writer)]
        pair = (reader["name"], writer["name"])
        if pair in self._active:
            return []
        self._active.add(pair)
        try:
            return self._fields(reader, writer, path)
        finally:
            self._active.discard(pair)

    def _fields(self, reader: Any, writer: Any, path: str) -> list[Incompatibility]:
        written = {field["name"]: field for field in writer["fields"]}
        issues: list[Incompatibility] = []
        for field in reader["fields"]:
            field_path = f"{path}.{field['name']}"
            names = [field["name"], *field.get("aliases", ())]
            source = next((written[name] for name in names if name in written), None)
            if source is not None:
                issues += self.resolve(field["type"], source["type"], field_path)
            elif "default" not in field:
                detail = "field added without a default; old records have no value for it"
                kind = IncompatibilityKind.MISSING_DEFAULT
                issues.append(Incompatibility(field_path, kind, detail))
        return issues

    def _enum(self, reader: Any, writer: Any, path: str) -> list[Incompatibility]:
        if not _names_match(reader, writer):
            return [_name_mismatch(path, reader, writer)]
        missing = [s for s in writer["symbols"] if s not in reader["symbols"]]
        if not missing or "default" in reader:
            return []
        detail = f"reader lacks writer symbols {missing} and has no default"
        return [Incompatibility(path, IncompatibilityKind.MISSING_ENUM_SYMBOLS, detail)]

    def _fixed(self, reader: Any, writer: Any, path: str) -> list[Incompatibility]:
        if not _names_match(reader, writer):
            return [_name_mismatch(path, reader, writer)]
        if reader["size"] == writer["size"]:
            return []
        detail = f"reader size {reader['size']} != writer size {writer['size']}"
        return [Incompatibility(path, IncompatibilityKind.FIXED_SIZE_MISMATCH, detail)]

    def _array(self, reader: Any, writer: Any, path: str) -> list[Incompatibility]:
        return self.resolve(reader["items"], writer["items"], f"{path}[]")

    def _map(self, reader: Any, writer: Any, path: str) -> list[Incompatibility]:
        return self.resolve(reader["values"], writer["values"], f"{path}{{}}")

    def _logical(self, reader: Any, writer: Any, path: str) -> list[Incompatibility]:
        """Same primitive; the bytes decode, but a changed logical type changes the meaning
        (millis read as micros is a silent 1000x error), so that is refused too."""
        reader_logical = reader.get("logicalType") if isinstance(reader, dict) else None
        writer_logical = writer.get("logicalType") if isinstance(writer, dict) else None
        if reader_logical == writer_logical or None in (reader_logical, writer_logical):
            return []
        detail = f"logical type {writer_logical} changed to {reader_logical}"
        return [Incompatibility(path, IncompatibilityKind.LOGICAL_TYPE_MISMATCH, detail)]


_Check = Callable[[_Resolver, Any, Any, str], list[Incompatibility]]
_CHECKS: dict[str, _Check] = {
    "record": _Resolver._record,
    "error": _Resolver._record,
    "enum": _Resolver._enum,
    "fixed": _Resolver._fixed,
    "array": _Resolver._array,
    "map": _Resolver._map,
}


def _same_type(reader: AvroSchema, writer: AvroSchema) -> bool:
    """Whether a reader union branch is the writer's type (named types by name)."""
    if kind_of(reader) != kind_of(writer):
        return False
    if isinstance(reader, dict) and reader.get("type") in NAMED_KINDS:
        return _short(reader["name"]) == _short(writer["name"])
    return True


def _names_match(reader: dict[str, Any], writer: dict[str, Any]) -> bool:
    """Same unqualified name, or the reader lists the writer's name among its aliases."""
    name, aliases = writer["name"], reader.get("aliases", ())
    return _short(reader["name"]) == _short(name) or name in aliases or _short(name) in aliases


def _name_mismatch(path: str, reader: dict[str, Any], writer: dict[str, Any]) -> Incompatibility:
    detail = f"reader type {reader['name']} does not match writer type {writer['name']}"
    return Incompatibility(path, IncompatibilityKind.NAME_MISMATCH, detail)
