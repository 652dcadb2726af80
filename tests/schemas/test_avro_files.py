"""The shipped .avsc files keep the conventions of SPEC §0 and schemas/enums.py."""

from __future__ import annotations

import json
import re
from enum import StrEnum
from typing import Any

import pytest

from schemas import enums
from schemas.catalogue import TOPICS
from schemas.examples import UNITS
from schemas.loader import AVRO_DIR, default_schemas

STR_ENUMS = {
    cls.__name__: cls
    for cls in vars(enums).values()
    if isinstance(cls, type) and issubclass(cls, StrEnum) and cls is not StrEnum
}
EVENT_SCHEMAS = sorted({spec.value_schema for spec in TOPICS if spec.value_schema})
AVRO_ENUMS = {
    name: definition
    for name, definition in default_schemas().qualified.items()
    if definition["type"] == "enum"
}


def _non_null(schema: Any) -> Any:
    if isinstance(schema, list):
        branches = [branch for branch in schema if branch != "null"]
        return branches[0] if len(branches) == 1 else schema
    return schema


def _fields(name: str) -> list[dict[str, Any]]:
    fields: list[dict[str, Any]] = default_schemas().definition(name)["fields"]
    return fields


@pytest.mark.parametrize("name", sorted(STR_ENUMS))
def test_enum_symbols_when_compared_with_python_enum_then_identical_in_order(name: str) -> None:
    """Each StrEnum of schemas/enums.py has an Avro enum hfos.<Name> with its values in order."""
    avro = default_schemas().definition(f"hfos.{name}")
    assert avro["type"] == "enum"
    assert avro["symbols"] == [member.value for member in STR_ENUMS[name]]


def test_avro_enums_when_listed_then_each_has_a_python_enum() -> None:
    """No Avro enum exists without its StrEnum twin."""
    assert {name.removeprefix("hfos.") for name in AVRO_ENUMS} == set(STR_ENUMS)


@pytest.mark.parametrize("name", EVENT_SCHEMAS)
def test_event_schema_when_read_then_first_field_is_the_shared_envelope(name: str) -> None:
    """Every event carries the one named envelope type, not a copy of its fields."""
    envelope = next(field for field in _fields(name) if field["name"] == "envelope")
    assert envelope["type"] == "hfos.Envelope"


def test_envelope_when_read_then_has_the_spec_fields_and_types() -> None:
    """The envelope holds event_id (uuid), event_time (millis) and the nullable ids."""
    fields = {f["name"]: f for f in default_schemas().definition("hfos.Envelope")["fields"]}
    assert fields["event_id"]["type"] == {"type": "string", "logicalType": "uuid"}
    assert fields["event_time"]["type"] == {"type": "long", "logicalType": "timestamp-millis"}
    assert fields["producer"]["type"] == "string"
    for nullable in ("correlation_id", "causation_id"):
        assert fields[nullable]["type"] == ["null", "string"]
        assert fields[nullable]["default"] is None


@pytest.mark.parametrize("name", [*EVENT_SCHEMAS, "hfos.Envelope"])
def test_record_fields_when_read_then_each_has_a_doc(name: str) -> None:
    """Every field says what it means."""
    undocumented = [f["name"] for f in _fields(name) if not f.get("doc")]
    assert undocumented == []


@pytest.mark.parametrize("name", EVENT_SCHEMAS)
def test_double_fields_when_read_then_each_declares_a_known_unit(name: str) -> None:
    """A double is a fraction, money, a price, a quantity or a leverage, never unitless."""
    doubles = [f for f in _fields(name) if _non_null(f["type"]) == "double"]
    assert [f["name"] for f in doubles if f.get("unit") not in UNITS] == []


@pytest.mark.parametrize("name", EVENT_SCHEMAS)
def test_fraction_fields_when_documented_then_doc_says_fraction(name: str) -> None:
    """A fraction field's doc states the [0, 1] convention so no one reads 5 as 5 %."""
    fractions = [f for f in _fields(name) if f.get("unit") == "fraction"]
    assert [f["name"] for f in fractions if "fraction" not in f["doc"].lower()] == []


@pytest.mark.parametrize("name", EVENT_SCHEMAS)
def test_timestamps_when_read_then_are_timestamp_millis(name: str) -> None:
    """Fields named like times (*_at, since, *_until) are timestamp-millis longs."""
    timed = [f for f in _fields(name) if re.search(r"(_at|^since|_until)$", f["name"])]
    for field in timed:
        assert _non_null(field["type"]) == {"type": "long", "logicalType": "timestamp-millis"}


def test_avsc_files_when_listed_then_each_is_named_after_its_type_in_namespace_hfos() -> None:
    """position_updated.avsc defines hfos.PositionUpdated, so a type is found by its name."""
    for path in sorted(AVRO_DIR.glob("*.avsc")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        snake = re.sub(r"(?<!^)(?=[A-Z])", "_", schema["name"]).lower()
        assert (schema["namespace"], f"{snake}.avsc") == ("hfos", path.name)


@pytest.mark.parametrize(
    "name", ["hfos.OrderRequested", "hfos.RiskWarning", "hfos.CircuitBreakerTriggered"]
)
def test_risk_decisions_when_read_then_carry_policy_hash_and_version(name: str) -> None:
    """Decisions record the policy they were made under (SPEC §0)."""
    names = {field["name"] for field in _fields(name)}
    assert {"policy_hash", "policy_version"} <= names


@pytest.mark.parametrize("name", ["hfos.OrderRejected", "hfos.EssTransition"])
def test_decisions_without_guaranteed_policy_when_read_then_policy_fields_are_nullable(
    name: str,
) -> None:
    """A refusal for POLICY_UNAVAILABLE or a timer transition has no policy: null, not ''."""
    fields = {field["name"]: field for field in _fields(name)}
    for field in ("policy_hash", "policy_version"):
        assert fields[field]["type"][0] == "null"
        assert fields[field]["default"] is None
