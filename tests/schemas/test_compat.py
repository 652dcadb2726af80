"""BACKWARD compatibility by the Avro resolution rules (reader = new, writer = old)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from schemas.compat import IncompatibilityKind, check_backward
from schemas.loader import schema_names, standalone_schema

Kind = IncompatibilityKind


def _record(*fields: dict[str, Any], name: str = "R") -> dict[str, Any]:
    return {"type": "record", "name": name, "namespace": "t", "fields": list(fields)}


def _enum(*symbols: str, **extra: Any) -> dict[str, Any]:
    return {"type": "enum", "name": "E", "symbols": list(symbols), **extra}


def _kinds(reader: Any, writer: Any) -> list[Kind]:
    return [issue.kind for issue in check_backward(reader, writer, "t")]


@pytest.mark.parametrize("name", schema_names())
def test_shipped_schema_when_checked_against_itself_then_compatible(name: str) -> None:
    """No schema is incompatible with itself (the checker has no false alarm here)."""
    schema = standalone_schema(name)
    assert check_backward(schema, copy.deepcopy(schema), name) == []


def test_new_field_when_added_without_default_then_breaks_with_its_path() -> None:
    """Old records have no value for a field added without default."""
    old = standalone_schema("hfos.PositionUpdated")
    new = copy.deepcopy(old)
    new["fields"].append({"name": "fee", "type": "double"})
    issues = check_backward(new, old, "position.updated")
    assert [(i.path, i.kind) for i in issues] == [("position.updated.fee", Kind.MISSING_DEFAULT)]


def test_new_field_when_added_with_default_then_compatible() -> None:
    """A default fills the field for old records."""
    new = _record({"name": "a", "type": "int"}, {"name": "b", "type": "int", "default": 0})
    assert _kinds(new, _record({"name": "a", "type": "int"})) == []


def test_field_when_removed_then_compatible() -> None:
    """The reader skips writer fields it does not know."""
    old = _record({"name": "a", "type": "int"}, {"name": "b", "type": "string"})
    assert _kinds(_record({"name": "a", "type": "int"}), old) == []


def test_field_when_renamed_with_alias_then_compatible() -> None:
    """A reader alias matches the writer's old field name."""
    new = _record({"name": "qty", "type": "int", "aliases": ["quantity"]})
    assert _kinds(new, _record({"name": "quantity", "type": "int"})) == []


@pytest.mark.parametrize(
    ("writer", "reader"),
    [
        ("int", "long"),
        ("int", "float"),
        ("int", "double"),
        ("long", "float"),
        ("long", "double"),
        ("float", "double"),
        ("string", "bytes"),
        ("bytes", "string"),
    ],
)
def test_type_when_promoted_then_compatible(writer: str, reader: str) -> None:
    """The Avro promotions let a reader widen a field."""
    old, new = _record({"name": "x", "type": writer}), _record({"name": "x", "type": reader})
    assert _kinds(new, old) == []


@pytest.mark.parametrize(
    ("writer", "reader"),
    [
        ("long", "int"),
        ("double", "float"),
        ("double", "long"),
        ("int", "string"),
        ("string", "int"),
    ],
)
def test_type_when_narrowed_or_changed_then_breaks(writer: str, reader: str) -> None:
    """Narrowing or changing a type cannot decode old data."""
    old, new = _record({"name": "x", "type": writer}), _record({"name": "x", "type": reader})
    issues = check_backward(new, old, "topic")
    assert [(i.path, i.kind) for i in issues] == [("topic.x", Kind.TYPE_MISMATCH)]


def test_enum_when_symbol_removed_then_breaks() -> None:
    """An old record may hold the removed symbol."""
    assert _kinds(_enum("A"), _enum("A", "B")) == [Kind.MISSING_ENUM_SYMBOLS]


def test_enum_when_symbol_removed_and_reader_has_default_then_compatible() -> None:
    """A reader default absorbs unknown symbols."""
    assert _kinds(_enum("A", "Z", default="Z"), _enum("A", "B")) == []


def test_enum_when_symbol_added_then_compatible() -> None:
    """The new reader knows every old symbol."""
    assert _kinds(_enum("A", "B", "C"), _enum("A", "B")) == []


def test_shipped_enum_when_symbol_removed_then_event_using_it_breaks() -> None:
    """Removing an ExitReason symbol breaks position.closed at the field that uses it."""
    old = standalone_schema("hfos.PositionClosed")
    new = copy.deepcopy(old)
    exit_reason = next(f for f in new["fields"] if f["name"] == "exit_reason")
    exit_reason["type"]["symbols"].remove("LIQUIDATION")
    issues = check_backward(new, old, "position.closed")
    assert [(i.path, i.kind) for i in issues] == [
        ("position.closed.exit_reason", Kind.MISSING_ENUM_SYMBOLS)
    ]


def test_named_type_when_renamed_then_breaks() -> None:
    """Records resolve by (unqualified) name."""
    assert _kinds(_record(name="New"), _record(name="Old")) == [Kind.NAME_MISMATCH]


def test_named_type_when_renamed_with_alias_then_compatible() -> None:
    """A reader alias of the old name keeps it readable."""
    new = {**_record(name="New"), "aliases": ["Old"]}
    assert _kinds(new, _record(name="Old")) == []


def test_field_when_made_nullable_then_compatible() -> None:
    """A reader union containing the writer's type reads it."""
    new = _record({"name": "x", "type": ["null", "string"], "default": None})
    assert _kinds(new, _record({"name": "x", "type": "string"})) == []


def test_field_when_made_non_nullable_then_breaks() -> None:
    """The writer's null branch has nowhere to go in a non-union reader."""
    old = _record({"name": "x", "type": ["null", "string"], "default": None})
    assert _kinds(_record({"name": "x", "type": "string"}), old) == [Kind.TYPE_MISMATCH]


def test_union_when_reader_has_only_a_promoted_branch_then_compatible() -> None:
    """With no same-type branch, the first branch the writer promotes to is used."""
    new = _record({"name": "x", "type": ["null", "double"], "default": None})
    assert _kinds(new, _record({"name": "x", "type": "int"})) == []


def test_union_when_reader_lacks_writer_type_then_missing_branch() -> None:
    """A writer type no reader branch can read breaks."""
    new = _record({"name": "x", "type": ["null", "int"], "default": None})
    assert _kinds(new, _record({"name": "x", "type": "string"})) == [Kind.MISSING_UNION_BRANCH]


def test_nested_record_when_field_narrowed_then_path_goes_through_it() -> None:
    """A break inside a nested record (like the envelope) reports the full path."""
    old = standalone_schema("hfos.MarketPrice")
    new = copy.deepcopy(old)
    event_time = next(f for f in new["fields"][0]["type"]["fields"] if f["name"] == "event_time")
    event_time["type"] = "int"
    issues = check_backward(new, old, "market.price")
    assert [i.path for i in issues] == ["market.price.envelope.event_time"]


def test_array_when_items_narrowed_then_breaks_at_items() -> None:
    """Array items resolve like any other type."""
    old = _record({"name": "xs", "type": {"type": "array", "items": "long"}})
    new = _record({"name": "xs", "type": {"type": "array", "items": "int"}})
    assert [i.path for i in check_backward(new, old, "t")] == ["t.xs[]"]


def test_map_when_values_promoted_then_compatible() -> None:
    """Map values may widen (float to double)."""
    old = _record({"name": "m", "type": {"type": "map", "values": "float"}})
    new = _record({"name": "m", "type": {"type": "map", "values": "double"}})
    assert _kinds(new, old) == []


def test_map_when_values_narrowed_then_breaks() -> None:
    """Map values may not narrow."""
    old = _record({"name": "m", "type": {"type": "map", "values": "double"}})
    new = _record({"name": "m", "type": {"type": "map", "values": "float"}})
    assert _kinds(new, old) == [Kind.TYPE_MISMATCH]


def test_fixed_when_size_changes_then_breaks() -> None:
    """A fixed of another size cannot hold the old bytes."""
    old = {"type": "fixed", "name": "F", "size": 16}
    assert _kinds({**old, "size": 32}, old) == [Kind.FIXED_SIZE_MISMATCH]


def test_timestamp_when_logical_type_changes_then_breaks() -> None:
    """Millis read as micros would be a silent 1000x error."""
    old = _record({"name": "t", "type": {"type": "long", "logicalType": "timestamp-millis"}})
    new = _record({"name": "t", "type": {"type": "long", "logicalType": "timestamp-micros"}})
    assert _kinds(new, old) == [Kind.LOGICAL_TYPE_MISMATCH]


def test_recursive_type_when_checked_then_terminates_compatible() -> None:
    """A self-referencing record (a linked list) does not loop forever."""
    node = _record({"name": "next", "type": ["null", "t.R"], "default": None})
    assert _kinds(node, copy.deepcopy(node)) == []


def test_named_reference_when_reused_then_resolved_from_first_definition() -> None:
    """A type defined once and referenced later is checked at both places."""
    old = _record({"name": "a", "type": _enum("A", "B")}, {"name": "b", "type": "E"})
    new = _record({"name": "a", "type": _enum("A")}, {"name": "b", "type": "E"})
    assert [i.path for i in check_backward(new, old, "t")] == ["t.a", "t.b"]
