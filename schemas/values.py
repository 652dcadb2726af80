"""Records as JSON, and the value rules Avro types cannot express.

JSON form (what ``hfos topics tail`` prints and ``produce`` reads): timestamps are ISO-8601
UTC strings with milliseconds (epoch-millisecond integers are accepted too), uuids are
strings, enums their symbol, unions the plain value. Both directions follow the schema.

Value rules, checked on every consumed record and every CLI-produced one: a double must be
finite (NaN and infinities are refused everywhere); a field whose ``unit`` is ``fraction``
lies in [0, 1] (SPEC §0: every percentage is a fraction), and one whose unit is
``quantity``, ``price`` or ``leverage`` is above 0 (a side or an action carries the
direction; a size, a price or a leverage of 0 or less is a bug upstream). A string field
marked ``"rule": "name"`` follows the name rule of :mod:`schemas.names` (account ids,
symbols, model and instance names); one marked ``"rule": "scope"`` is ``global`` or
``<kind>:<name>`` with such a name.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from schemas.errors import HfosError
from schemas.loader import PRIMITIVES, AvroSchema, SchemaSet, default_schemas
from schemas.names import name_problem, scope_problem


class JsonValueError(HfosError):
    """A JSON value that does not fit its schema; ``path`` names the field."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path or 'record'}: {problem}")
        self.path = path
        self.problem = problem


class ValueRuleError(HfosError):
    """A decoded record that breaks a value rule (a non-finite double, a fraction outside
    [0, 1], a name or scope that breaks the name rule); ``path`` names the first field."""

    def __init__(self, schema: str, problems: list[str]) -> None:
        super().__init__(f"{schema}: {'; '.join(problems)}")
        self.schema = schema
        self.problems = problems
        self.path = problems[0].split(":", 1)[0] if problems else ""


def check_rules(name: str, record: Mapping[str, Any], schemas: SchemaSet | None = None) -> None:
    """:class:`ValueRuleError` listing every value rule ``record`` breaks, if any."""
    problems = rule_problems(name, record, schemas)
    if problems:
        raise ValueRuleError(name, problems)


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
    found: list[str] = []
    if schemas is None:
        checker = _checkers.get(name)
        if checker is None:
            checker = _checkers[name] = _compile(default_schemas(), name, _NO_RULES)
        checker(record, "", found)
        return found
    _check(schemas, schemas.definition(name), record, "", _NO_RULES, found)
    return found


Checker = Callable[[Any, str, list[str]], None]
_checkers: dict[str, Checker] = {}
"""Per schema name, :func:`_check` compiled: every consumed record is checked, and walking
the schema for each cost more than decoding it (0.15 ms for an account.updated)."""


def _skip(_value: Any, _path: str, _found: list[str]) -> None:
    return None


def _compile(schemas: SchemaSet, schema: AvroSchema, field: Mapping[str, Any]) -> Checker:
    """What :func:`_check` does for ``schema``, with the walk done once: fields that no
    rule applies to (longs, enums, strings without a rule) are not visited at all."""
    if isinstance(schema, str) and schema not in PRIMITIVES:
        schema = schemas.definition(schema)
    kind = schema if isinstance(schema, str) else None
    if isinstance(schema, list):
        return _compile_union(schemas, schema, field)
    if isinstance(schema, dict):
        kind = schema.get("type")
        if kind == "record":
            return _compile_record(schemas, schema)
        if kind == "array":
            return _compile_array(schemas, schema)
    if kind == "double":
        return _double_checker(field.get("unit"))
    if kind == "string" and field.get("rule"):
        return _text_checker(str(field["rule"]))
    return _skip


def _compile_union(schemas: SchemaSet, branches: list[Any], field: Mapping[str, Any]) -> Checker:
    inner = [_compile(schemas, b, field) for b in branches if b != "null"]
    inner = [c for c in inner if c is not _skip]
    if not inner:
        return _skip

    def check(value: Any, path: str, found: list[str]) -> None:
        if value is not None:
            for checker in inner:
                checker(value, path, found)

    return check


def _compile_record(schemas: SchemaSet, schema: Mapping[str, Any]) -> Checker:
    fields = [(f["name"], _compile(schemas, f["type"], f)) for f in schema["fields"]]
    fields = [(name, checker) for name, checker in fields if checker is not _skip]
    if not fields:
        return _skip

    def check(value: Any, path: str, found: list[str]) -> None:
        if isinstance(value, dict):
            for name, checker in fields:
                if name in value:
                    checker(value[name], _join(path, name), found)

    return check


def _compile_array(schemas: SchemaSet, schema: Mapping[str, Any]) -> Checker:
    item = _compile(schemas, schema["items"], _NO_RULES)
    if item is _skip:
        return _skip

    def check(value: Any, path: str, found: list[str]) -> None:
        if isinstance(value, list):
            for index, element in enumerate(value):
                item(element, f"{path}[{index}]", found)

    return check


def _double_checker(unit: str | None) -> Checker:
    def check(value: Any, path: str, found: list[str]) -> None:
        if isinstance(value, float):
            _check_double(value, path, unit, found)

    return check


def _text_checker(rule: str) -> Checker:
    def check(value: Any, path: str, found: list[str]) -> None:
        if isinstance(value, str):
            _check_text(value, path, rule, found)

    return check


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


_NO_RULES: Mapping[str, Any] = {}
_POSITIVE_UNITS = frozenset({"quantity", "price", "leverage"})


def _check(
    schemas: SchemaSet,
    schema: AvroSchema,
    value: Any,
    path: str,
    field: Mapping[str, Any],
    found: list[str],
) -> None:
    """``field`` is the record field ``value`` belongs to: its ``unit`` and ``rule``."""
    if isinstance(schema, str) and schema not in PRIMITIVES:
        schema = schemas.definition(schema)
    if isinstance(schema, list):
        for branch in schema:
            if branch != "null" and value is not None:
                _check(schemas, branch, value, path, field, found)
    elif isinstance(schema, dict) and schema.get("type") in ("record", "array"):
        _check_inside(schemas, schema, value, path, found)
    elif isinstance(value, float):
        _check_double(value, path, field.get("unit"), found)
    elif isinstance(value, str) and field.get("rule"):
        _check_text(value, path, str(field["rule"]), found)


def _check_inside(
    schemas: SchemaSet, schema: Mapping[str, Any], value: Any, path: str, found: list[str]
) -> None:
    """The fields of a record, or the items of an array."""
    if schema["type"] == "record" and isinstance(value, dict):
        for inner in schema["fields"]:
            if inner["name"] in value:
                where = _join(path, inner["name"])
                _check(schemas, inner["type"], value[inner["name"]], where, inner, found)
    elif schema["type"] == "array" and isinstance(value, list):
        for index, item in enumerate(value):
            _check(schemas, schema["items"], item, f"{path}[{index}]", _NO_RULES, found)


def _check_double(value: float, path: str, unit: str | None, found: list[str]) -> None:
    if not math.isfinite(value):
        found.append(f"{path}: must be a finite number, got {value}")
    elif unit == "fraction" and not 0.0 <= value <= 1.0:
        found.append(f"{path}: must be a fraction in [0, 1], got {value}")
    elif unit in _POSITIVE_UNITS and not value > 0.0:
        found.append(f"{path}: a {unit} must be above 0, got {value}")


def _check_text(value: str, path: str, rule: str, found: list[str]) -> None:
    problem = scope_problem(value) if rule == "scope" else name_problem(value)
    if problem is not None:
        found.append(f"{path}: {problem}")
