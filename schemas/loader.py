"""Load the Avro contracts of ``schemas/avro``: one named type per ``.avsc`` file.

Files refer to each other's named types by full name (``"hfos.Envelope"``), so they are
parsed in dependency order into one shared fastavro ``named_schemas`` dict. For a schema
registry, which knows nothing of our files, :meth:`SchemaSet.standalone` inlines every
referenced named type at its first use.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, TypeAlias

from fastavro.schema import SchemaParseException, UnknownType, parse_schema

from schemas.errors import HfosError

AVRO_DIR = Path(__file__).parent / "avro"

# A schema node as JSON: a type name, a union (list) or a complex type (dict).
AvroSchema: TypeAlias = Any

PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})
NAMED_KINDS = frozenset({"record", "error", "enum", "fixed"})
_COMPLEX_KINDS = NAMED_KINDS | {"array", "map"}


class SchemaError(HfosError):
    """Base of the errors about Avro contracts."""


class SchemaNotFoundError(SchemaError):
    """A schema name that no ``.avsc`` file defines."""

    def __init__(self, name: str, known: tuple[str, ...]) -> None:
        super().__init__(f"no Avro schema named {name!r}; known: {', '.join(known)}")
        self.name = name
        self.known = known


class SchemaLoadError(SchemaError):
    """An ``.avsc`` file that cannot be loaded; ``source`` names the file to fix."""

    def __init__(self, source: str, problem: str) -> None:
        super().__init__(f"{source}: {problem}")
        self.source = source
        self.problem = problem


def fullname(name: str, namespace: str) -> str:
    """Avro name resolution: a dotted name is already full, others join the namespace."""
    if "." in name or not namespace:
        return name
    return f"{namespace}.{name}"


def qualify(schema: AvroSchema, namespace: str = "") -> AvroSchema:
    """Return ``schema`` with every name and reference spelled as a full name.

    Namespaces are then irrelevant, which makes comparing and inlining simple.
    """
    if isinstance(schema, str):
        return schema if schema in PRIMITIVES else fullname(schema, namespace)
    if isinstance(schema, list):
        return [qualify(branch, namespace) for branch in schema]
    node = dict(schema)
    if node.get("type") in NAMED_KINDS and "name" in node:
        node["name"] = fullname(str(node["name"]), str(node.pop("namespace", namespace) or ""))
        namespace = node["name"].rpartition(".")[0]
    return map_children(node, lambda child: qualify(child, namespace))


def map_children(node: dict[str, Any], fn: Callable[[AvroSchema], AvroSchema]) -> dict[str, Any]:
    """Copy of the complex-type node with ``fn`` applied to each schema nested in it."""
    result = dict(node)
    for key in ("items", "values"):
        if key in result:
            result[key] = fn(result[key])
    if _wraps_type(result):
        result["type"] = fn(result["type"])
    if isinstance(result.get("fields"), list):
        result["fields"] = [_map_field(field, fn) for field in result["fields"]]
    return result


def _map_field(field: Any, fn: Callable[[AvroSchema], AvroSchema]) -> Any:
    if not isinstance(field, dict) or "type" not in field:
        return field
    return {**field, "type": fn(field["type"])}


def walk(schema: AvroSchema) -> Iterator[AvroSchema]:
    """Yield every schema node of ``schema`` (itself included), depth first."""
    yield schema
    for child in children(schema):
        yield from walk(child)


def children(schema: AvroSchema) -> list[AvroSchema]:
    """The schemas directly nested in ``schema``: branches, items, values, field types."""
    if isinstance(schema, list):
        return list(schema)
    if not isinstance(schema, dict):
        return []
    found = [schema[key] for key in ("items", "values") if key in schema]
    if _wraps_type(schema):
        found.append(schema["type"])
    fields = schema.get("fields")
    if isinstance(fields, list):
        found.extend(f["type"] for f in fields if isinstance(f, dict) and "type" in f)
    return found


def _wraps_type(node: dict[str, Any]) -> bool:
    """``{"type": "long", "logicalType": ...}`` or ``{"type": [...]}`` wraps a nested
    schema; ``{"type": "record", ...}`` names the node's own kind."""
    kind = node.get("type")
    return kind is not None and (not isinstance(kind, str) or kind not in _COMPLEX_KINDS)


def definitions(qualified: AvroSchema) -> dict[str, dict[str, Any]]:
    """Map full name to definition for every named type defined inside ``qualified``."""
    return {
        node["name"]: node
        for node in walk(qualified)
        if isinstance(node, dict) and node.get("type") in NAMED_KINDS
    }


def references(qualified: AvroSchema) -> set[str]:
    """Full names that ``qualified`` uses but does not define itself."""
    used = {node for node in walk(qualified) if isinstance(node, str) and node not in PRIMITIVES}
    return used - definitions(qualified).keys()


@dataclass(frozen=True)
class SchemaSet:
    """A consistent set of named Avro types, parsed once, looked up by full name."""

    qualified: Mapping[str, dict[str, Any]]
    parsed: Mapping[str, dict[str, Any]]
    sources: Mapping[str, str]

    @classmethod
    def from_directory(cls, directory: Path) -> SchemaSet:
        """Load every ``*.avsc`` of ``directory``."""
        files = sorted(directory.glob("*.avsc"))
        return cls.from_texts({path.name: path.read_text(encoding="utf-8") for path in files})

    @classmethod
    def from_texts(cls, texts: Mapping[str, str]) -> SchemaSet:
        """Load schemas from file name -> JSON text (e.g. read from a git revision)."""
        raw, sources = _read_all(texts)
        qualified = {name: qualify(schema) for name, schema in raw.items()}
        named: dict[str, Any] = {}
        parsed = {
            name: _parse(raw[name], named, sources[name])
            for name in _dependency_order(qualified, sources)
        }
        return cls(qualified=qualified, parsed=parsed, sources=sources)

    def names(self) -> tuple[str, ...]:
        """Full names of the top-level type of every file, sorted."""
        return tuple(sorted(self.qualified))

    def definition(self, name: str) -> dict[str, Any]:
        """The type as written in its file, with full names, references not inlined.

        Shared with every caller: read it, do not modify it (``standalone`` is a copy).
        """
        return self.qualified[self._known(name)]

    def parsed_schema(self, name: str) -> dict[str, Any]:
        """The fastavro-parsed schema, ready for ``schemaless_writer``/``reader``."""
        return self.parsed[self._known(name)]

    def standalone(self, name: str) -> dict[str, Any]:
        """A fresh copy of the type, every named type it uses defined at its first use."""
        result: dict[str, Any] = copy.deepcopy(self._inline(self.definition(name), set()))
        return result

    def schema_str(self, name: str) -> str:
        """The standalone schema as the JSON string a schema registry registers."""
        return json.dumps(self.standalone(name))

    def source(self, name: str) -> str:
        """The file that defines ``name``."""
        return self.sources[self._known(name)]

    def _known(self, name: str) -> str:
        if name not in self.qualified:
            raise SchemaNotFoundError(name, self.names())
        return name

    def _inline(self, schema: AvroSchema, defined: set[str]) -> AvroSchema:
        if isinstance(schema, str):
            if schema in PRIMITIVES or schema in defined:
                return schema
            return self._inline(self.qualified[schema], defined)
        if isinstance(schema, list):
            return [self._inline(branch, defined) for branch in schema]
        if schema.get("type") in NAMED_KINDS:
            # Avro forbids redefining a name: later uses must stay references.
            defined.add(schema["name"])
        return map_children(schema, lambda child: self._inline(child, defined))


def _read_all(texts: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """Decode each file and index it by the full name of the type it defines."""
    raw: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for source, text in sorted(texts.items()):
        try:
            schema = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SchemaLoadError(source, f"not valid JSON: {exc}") from exc
        if not isinstance(schema, dict) or schema.get("type") not in NAMED_KINDS:
            raise SchemaLoadError(source, "must define one named type (record, enum or fixed)")
        if not isinstance(schema.get("name"), str):
            raise SchemaLoadError(source, "the named type has no 'name'")
        name = fullname(schema["name"], str(schema.get("namespace") or ""))
        if name in raw:
            raise SchemaLoadError(source, f"redefines {name}, already in {sources[name]}")
        raw[name] = schema
        sources[name] = source
    return raw, sources


def _dependency_order(qualified: Mapping[str, Any], sources: Mapping[str, str]) -> list[str]:
    """Names ordered so that each comes after every type it references (depth first)."""
    order: list[str] = []
    state: dict[str, str] = {}

    def visit(name: str, chain: tuple[str, ...]) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "visiting":
            cycle = " -> ".join((*chain, name))
            raise SchemaLoadError(sources[name], f"reference cycle across files: {cycle}")
        state[name] = "visiting"
        for ref in sorted(references(qualified[name])):
            if ref not in qualified:
                raise SchemaLoadError(sources[name], f"references unknown type {ref}")
            visit(ref, (*chain, name))
        state[name] = "done"
        order.append(name)

    for name in sorted(qualified):
        visit(name, ())
    return order


def _parse(schema: dict[str, Any], named: dict[str, Any], source: str) -> dict[str, Any]:
    try:
        parsed = parse_schema(schema, named_schemas=named)
    except (SchemaParseException, UnknownType) as exc:
        raise SchemaLoadError(source, f"invalid Avro schema: {exc}") from exc
    if not isinstance(parsed, dict):
        raise SchemaLoadError(source, "did not parse to a named type")
    return parsed


@cache
def default_schemas() -> SchemaSet:
    """The schemas shipped in ``schemas/avro``, loaded once per process."""
    return SchemaSet.from_directory(AVRO_DIR)


def schema_names() -> tuple[str, ...]:
    """Full names of every shipped named type (events, envelope and enums)."""
    return default_schemas().names()


def parsed_schema(name: str) -> dict[str, Any]:
    """The fastavro-parsed shipped schema ``name`` (e.g. ``"hfos.PositionUpdated"``)."""
    return default_schemas().parsed_schema(name)


def standalone_schema(name: str) -> dict[str, Any]:
    """The shipped schema ``name`` as JSON with its named types inlined."""
    return default_schemas().standalone(name)


def schema_str(name: str) -> str:
    """The shipped schema ``name`` as a standalone JSON string for a schema registry."""
    return default_schemas().schema_str(name)
