"""Records as JSON, and the value rules Avro types cannot express.

JSON form (what ``hfos topics tail`` prints and ``produce`` reads): timestamps are ISO-8601
UTC strings with milliseconds (epoch-millisecond integers are accepted too), uuids are
strings, enums their symbol, unions the plain value. Both directions follow the schema.

Value rules, checked on every consumed record and every CLI-produced one: a double must be
finite (NaN and infinities are refused everywhere) and a field whose ``unit`` is
``fraction`` lies in [0, 1] (SPEC §0: every percentage is a fraction).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from schemas.errors import HfosError
from schemas.loader import PRIMITIVES, AvroSchema, SchemaSet, default_schemas


class JsonValueError(HfosError):
    """A JSON value that does not fit its schema; ``path`` names the field."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path or 'record'}: {problem}")
        self.path = path
        self.problem = problem


def to_json(name: str, record: Any, schemas: SchemaSet | None = None) -> Any:
    """A decoded value of the named type ``name`` as JSON-able data, timestamps as ISO."""
    resolved = schemas or default_schemas()
    return _Converter(resolved, outbound=True).convert(resolved.definition(name), record, "")


def iso_millis(millis: int) -> str:
    """Epoch milliseconds as ISO-8601 UTC with milliseconds (``2024-01-01T00:00:00.000Z``)."""
    moment = datetime.fromtimestamp(millis / 1000, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def from_json(name: str, data: Any, schemas: SchemaSet | None = None) -> Any:
    """``data`` (parsed JSON) as a value of the named type ``name``, ready to encode."""
    resolved = schemas or default_schemas()
    return _Converter(resolved).convert(resolved.definition(name), data, "")


def rule_problems(
    name: str, record: Mapping[str, Any], schemas: SchemaSet | None = None
) -> list[str]:
    """Every path in ``record`` that breaks a value rule, with the rule."""
    resolved = schemas or default_schemas()
    found: list[str] = []
    _check(resolved, resolved.definition(name), record, "", None, found)
    return found


class _Converter:
    """Walks a schema converting JSON to codec values (inbound) or back (outbound)."""

    def __init__(self, schemas: SchemaSet, *, outbound: bool = False) -> None:
        self._schemas = schemas
        self._outbound = outbound

    def convert(self, schema: AvroSchema, data: Any, path: str) -> Any:
        if isinstance(schema, list):
            return self._union(schema, data, path)
        if isinstance(schema, str):
            return (
                data
                if schema in PRIMITIVES
                else self.convert(self._schemas.definition(schema), data, path)
            )
        kind = schema.get("type")
        if kind == "record":
            return self._record(schema, data, path)
        if kind == "array":
            return [
                self.convert(schema["items"], item, f"{path}[{i}]")
                for i, item in enumerate(_expect(data, list, path))
            ]
        if kind == "map":
            return {
                k: self.convert(schema["values"], v, f"{path}.{k}")
                for k, v in _expect(data, dict, path).items()
            }
        return _logical_out(schema, data) if self._outbound else _logical(schema, data, path)

    def _record(self, schema: dict[str, Any], data: Any, path: str) -> dict[str, Any]:
        data = _expect(data, dict, path)
        fields = {field["name"]: field for field in schema["fields"]}
        unknown = sorted(set(data) - set(fields))
        if unknown and not self._outbound:
            raise JsonValueError(_join(path, unknown[0]), "unknown field")
        return {
            name: self.convert(fields[name]["type"], value, _join(path, name))
            for name, value in data.items()
        }

    def _union(self, branches: list[Any], data: Any, path: str) -> Any:
        if data is None:
            if "null" in branches:
                return None
            raise JsonValueError(path, "may not be null")
        for branch in branches:
            if branch != "null":
                return self.convert(branch, data, path)
        raise JsonValueError(path, "must be null")


def _logical(schema: dict[str, Any], data: Any, path: str) -> Any:
    if schema.get("logicalType") == "timestamp-millis" and isinstance(data, str):
        try:
            parsed = datetime.fromisoformat(data)
        except ValueError:
            raise JsonValueError(path, f"not an ISO-8601 timestamp: {data!r}") from None
        if parsed.tzinfo is None:
            raise JsonValueError(path, "timestamp needs a UTC offset (e.g. ...Z)")
        return round(parsed.timestamp() * 1000)
    return data


def _logical_out(schema: dict[str, Any], data: Any) -> Any:
    if schema.get("logicalType") == "timestamp-millis" and isinstance(data, int):
        return iso_millis(data)
    if isinstance(data, bytes):
        return data.hex()
    return data


def _expect(data: Any, kind: type, path: str) -> Any:
    if not isinstance(data, kind):
        raise JsonValueError(path, f"expected a JSON {'object' if kind is dict else 'array'}")
    return data


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _check(
    schemas: SchemaSet,
    schema: AvroSchema,
    value: Any,
    path: str,
    unit: str | None,
    found: list[str],
) -> None:
    if isinstance(schema, str) and schema not in PRIMITIVES:
        schema = schemas.definition(schema)
    if isinstance(schema, list):
        for branch in schema:
            if branch != "null" and value is not None:
                _check(schemas, branch, value, path, unit, found)
        return
    if isinstance(schema, dict) and schema.get("type") == "record" and isinstance(value, dict):
        for field in schema["fields"]:
            if field["name"] in value:
                _check(
                    schemas,
                    field["type"],
                    value[field["name"]],
                    _join(path, field["name"]),
                    field.get("unit"),
                    found,
                )
        return
    if isinstance(value, float):
        _check_double(value, path, unit, found)


def _check_double(value: float, path: str, unit: str | None, found: list[str]) -> None:
    if not math.isfinite(value):
        found.append(f"{path}: must be a finite number, got {value}")
    elif unit == "fraction" and not 0.0 <= value <= 1.0:
        found.append(f"{path}: must be a fraction in [0, 1], got {value}")
