"""Loading .avsc files: named-type resolution, standalone schemas, typed errors."""

from __future__ import annotations

import json

import pytest
from fastavro.schema import parse_schema

from schemas.catalogue import TOPICS
from schemas.loader import (
    SchemaLoadError,
    SchemaNotFoundError,
    SchemaSet,
    default_schemas,
    parsed_schema,
    schema_names,
    schema_str,
    walk,
)
from tests.schemas.test_avro_files import STR_ENUMS

ENUM = json.dumps({"type": "enum", "name": "Colour", "namespace": "t", "symbols": ["RED"]})
RECORD = json.dumps(
    {
        "type": "record",
        "name": "Paint",
        "namespace": "t",
        "fields": [{"name": "a", "type": "Colour"}, {"name": "b", "type": ["null", "t.Colour"]}],
    }
)


def test_shipped_schemas_when_loaded_then_events_envelope_and_enums_are_all_there() -> None:
    """One event record per catalogue topic, the envelope, the records nested in
    account.updated and the enums of schemas.enums load from schemas/avro."""
    names = schema_names()
    nested = {"hfos.OpenPosition", "hfos.ClosedPosition"}
    assert nested <= set(names)
    assert len(names) == len(TOPICS) + 1 + len(nested) + len(STR_ENUMS)
    assert "hfos.Envelope" in names


@pytest.mark.parametrize("name", schema_names())
def test_standalone_schema_when_parsed_alone_then_needs_no_other_file(name: str) -> None:
    """What the registry gets is self-contained: it parses with an empty set of names."""
    parsed = parse_schema(json.loads(schema_str(name)), named_schemas={})
    assert isinstance(parsed, dict)
    assert parsed["name"] == name


@pytest.mark.parametrize("name", schema_names())
def test_standalone_schema_when_walked_then_defines_each_named_type_once(name: str) -> None:
    """A name used twice (e.g. EssState in ess.transition) is defined once, then referenced."""
    defined = [
        node["name"]
        for node in walk(json.loads(schema_str(name)))
        if isinstance(node, dict) and node.get("type") in {"record", "enum", "fixed"}
    ]
    assert len(defined) == len(set(defined))


def test_files_when_dependent_sorts_first_then_dependency_still_loads_first() -> None:
    """Load order follows references, not file names: a.avsc may use z.avsc's type."""
    schemas = SchemaSet.from_texts({"a.avsc": RECORD, "z.avsc": ENUM})
    assert schemas.parsed_schema("t.Paint")["name"] == "t.Paint"


def test_standalone_when_referenced_by_short_name_then_inlined_with_full_name() -> None:
    """A short reference resolves in the enclosing namespace and is inlined once."""
    schemas = SchemaSet.from_texts({"a.avsc": RECORD, "z.avsc": ENUM})
    fields = schemas.standalone("t.Paint")["fields"]
    assert fields[0]["type"]["name"] == "t.Colour"
    assert fields[1]["type"] == ["null", "t.Colour"]


def test_load_when_type_unknown_then_error_names_file_and_type() -> None:
    """A reference to a type no file defines is refused, naming the file to fix."""
    with pytest.raises(SchemaLoadError, match=r"a\.avsc: references unknown type t\.Colour"):
        SchemaSet.from_texts({"a.avsc": RECORD})


def test_load_when_files_reference_each_other_then_cycle_is_reported() -> None:
    """Two files that need each other cannot be ordered; the error shows the cycle."""
    one = {"type": "record", "name": "A", "fields": [{"name": "b", "type": "B"}]}
    two = {"type": "record", "name": "B", "fields": [{"name": "a", "type": "A"}]}
    texts = {"a.avsc": json.dumps(one), "b.avsc": json.dumps(two)}
    with pytest.raises(SchemaLoadError, match="cycle"):
        SchemaSet.from_texts(texts)


def test_load_when_two_files_define_one_name_then_refused() -> None:
    """A type defined twice would make the loaded set depend on file order."""
    with pytest.raises(SchemaLoadError, match=r"redefines t\.Colour"):
        SchemaSet.from_texts({"a.avsc": ENUM, "b.avsc": ENUM})


@pytest.mark.parametrize("text", ["{not json", '"string"', '{"type": "enum", "symbols": []}'])
def test_load_when_file_is_not_a_named_type_then_refused(text: str) -> None:
    """Invalid JSON, a bare primitive or a nameless type is refused with the file name."""
    with pytest.raises(SchemaLoadError, match=r"^bad\.avsc: "):
        SchemaSet.from_texts({"bad.avsc": text})


def test_load_when_avro_is_invalid_then_fastavro_error_is_wrapped() -> None:
    """fastavro's own complaint surfaces as a SchemaLoadError naming the file."""
    bad = json.dumps({"type": "record", "name": "R", "fields": [{"name": "x", "type": "nope"}]})
    with pytest.raises(SchemaLoadError, match=r"bad\.avsc"):
        SchemaSet.from_texts({"bad.avsc": bad})


def test_lookup_when_name_unknown_then_error_lists_known_names() -> None:
    """An unknown schema name says which names exist."""
    with pytest.raises(SchemaNotFoundError, match=r"hfos\.PositionUpdated") as caught:
        parsed_schema("hfos.Nope")
    assert caught.value.name == "hfos.Nope"


def test_default_schemas_when_called_twice_then_loaded_once() -> None:
    """Schemas are parsed once per process."""
    assert default_schemas() is default_schemas()
