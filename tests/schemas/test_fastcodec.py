"""The generated codecs are fastavro's bytes, or they step aside.

For every hfos schema, random records (hypothesis, shaped by the schema) encode to exactly
fastavro's bytes and decode to exactly fastavro's record; anything fastavro would refuse
or read differently makes the generated function raise, so that the serde falls back.
"""

from __future__ import annotations

import io
import struct
from typing import Any

import pytest
from fastavro import parse_schema, schemaless_reader, schemaless_writer
from fastavro.validation import validate
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.catalogue import ALL_TOPICS
from schemas.contracts import contract
from schemas.examples import example_record
from schemas.fastcodec import _read_long, compile_codec

CONTRACTS = [contract(spec) for spec in ALL_TOPICS if spec.value_schema]
LONGS = st.integers(-(1 << 63), (1 << 63) - 1)
INTS = st.integers(-(1 << 31), (1 << 31) - 1)


def _records(schema: Any, named: dict[str, Any]) -> st.SearchStrategy[Any]:  # noqa: C901, PLR0911, PLR0912
    if isinstance(schema, list):
        return st.one_of(*(_records(branch, named) for branch in schema))
    if isinstance(schema, str) and schema in named:
        schema = named[schema]
    kind = schema if isinstance(schema, str) else schema["type"]
    if isinstance(kind, (dict, list)):
        return _records(kind, named)
    if kind == "null":
        return st.none()
    if kind == "boolean":
        return st.booleans()
    if kind == "int":
        return INTS
    if kind == "long":
        return LONGS
    if kind == "double":
        return st.floats(allow_nan=False)
    if kind == "string":
        return st.text(max_size=100)  # lengths of one varint byte and of two
    if kind == "enum":
        named[schema["name"]] = schema
        return st.sampled_from(schema["symbols"])
    if kind == "map":
        return st.dictionaries(st.text(max_size=8), _records(schema["values"], named), max_size=4)
    if kind == "array":
        return st.lists(_records(schema["items"], named), max_size=4)
    if kind == "record":
        named[schema["name"]] = schema
        return st.fixed_dictionaries(
            {field["name"]: _records(field["type"], named) for field in schema["fields"]}
        )
    raise AssertionError(f"no strategy for {kind}")


def _fastavro_bytes(parsed: Any, record: Any) -> bytes:
    buffer = io.BytesIO()
    schemaless_writer(buffer, parsed, record, strict=True)
    return buffer.getvalue()


@pytest.mark.parametrize("target", CONTRACTS, ids=lambda c: c.schema_name)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_codec_when_valid_record_then_fastavro_bytes_and_record(target: Any, data: Any) -> None:
    named = dict(target.parsed.get("__named_schemas", {}))
    record = data.draw(_records(target.parsed, named))
    codec = compile_codec(target.parsed)
    expected = _fastavro_bytes(target.parsed, record)
    assert codec.encode(record) == expected
    decoded, end = codec.decode(expected, 0)
    assert end == len(expected)
    assert decoded == schemaless_reader(io.BytesIO(expected), target.parsed, None)


@pytest.mark.parametrize("target", CONTRACTS, ids=lambda c: c.schema_name)
@settings(max_examples=60, deadline=None)
@given(cut=st.integers(min_value=0, max_value=400), junk=st.binary(max_size=12))
def test_codec_when_bytes_damaged_then_raises_or_matches_fastavro(
    target: Any, cut: int, junk: bytes
) -> None:
    body = _fastavro_bytes(target.parsed, example_record(target.schema_name))
    damaged = body[: cut % (len(body) + 1)] + junk
    codec = compile_codec(target.parsed)
    try:
        fast = codec.decode(damaged, 0)[0]
    except Exception:  # noqa: BLE001 - any error hands the bytes to fastavro
        return
    assert fast == schemaless_reader(io.BytesIO(damaged), target.parsed, None)


POSITION = next(c for c in CONTRACTS if c.schema_name == "hfos.PositionUpdated")


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"extra": 1}, id="an extra field"),
        pytest.param({"quantity": "1.0"}, id="a string for a double"),
        pytest.param({"side": "SIDEWAYS"}, id="an unknown enum symbol"),
        pytest.param({"symbol": None}, id="null for a string"),
        pytest.param({"symbol": b"BTC"}, id="bytes for a string"),
        pytest.param({"quantity": None}, id="null for a double"),
        pytest.param({"quantity": True}, id="a boolean opening a run of doubles"),
        pytest.param({"mark_price": False}, id="a boolean inside a run of doubles"),
    ],
)
def test_codec_when_record_invalid_then_raises(change: dict[str, Any]) -> None:
    record = {**example_record(POSITION.schema_name), **change}
    with pytest.raises((KeyError, TypeError, AttributeError, struct.error)):
        compile_codec(POSITION.parsed).encode(record)


def test_codec_when_field_missing_or_long_out_of_range_then_raises() -> None:
    record = example_record(POSITION.schema_name)
    del record["leverage"]
    codec = compile_codec(POSITION.parsed)
    with pytest.raises(KeyError):
        codec.encode(record)
    envelope = {**example_record(POSITION.schema_name)["envelope"], "event_time": 1 << 63}
    with pytest.raises(OverflowError):
        codec.encode({**example_record(POSITION.schema_name), "envelope": envelope})


def test_codec_when_boolean_for_a_number_then_raises_as_fastavro_validation_does() -> None:
    """Python's True is an int; struct packs it as 1.0. Avro has no such conversion."""
    schema = parse_schema(
        {
            "type": "record",
            "name": "Numbers",
            "fields": [
                {"name": "price", "type": "double"},
                {"name": "count", "type": "long"},
                {"name": "small", "type": "int"},
                {"name": "maybe", "type": ["null", "long"]},
            ],
        }
    )
    codec = compile_codec(schema)
    valid = {"price": 1.0, "count": 1, "small": 1, "maybe": 1}
    assert codec.encode(valid)
    for name in valid:
        record = {**valid, name: True}
        assert not validate(record, schema, raise_errors=False, strict=True)
        with pytest.raises(TypeError, match="boolean"):
            codec.encode(record)


SYMBOLS = [f"S{i}" for i in range(70)]


def test_codec_when_enum_has_more_symbols_than_one_varint_byte_holds_then_fastavro_bytes() -> None:
    schema = parse_schema(
        {
            "type": "record",
            "name": "Wide",
            "fields": [
                {"name": "pick", "type": {"type": "enum", "name": "Many", "symbols": SYMBOLS}},
                {"name": "low", "type": "double"},
                {"name": "high", "type": "double"},
            ],
        }
    )
    codec = compile_codec(schema)
    for symbol in SYMBOLS:
        record = {"pick": symbol, "low": -1.5, "high": 2.0}
        expected = _fastavro_bytes(schema, record)
        assert codec.encode(record) == expected
        assert codec.decode(expected, 0) == (record, len(expected))


def test_read_long_with_bits_past_64_then_refused() -> None:
    """A damaged varint decoded as 9223372036854775861 where fastavro (which wraps to 64
    bits) reads 53: the fast path must not disagree with the judge, so it refuses."""
    damaged = bytes([0xEA, *[0x80] * 8, 0x02])
    with pytest.raises(ValueError, match="wider than 64 bits"):
        _read_long(damaged, 0)
    assert schemaless_reader(io.BytesIO(damaged), "long", None) == 53
