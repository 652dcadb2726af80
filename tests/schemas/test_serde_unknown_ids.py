"""A schema id the registry does not know is asked for once per TTL, not once per record
(issue 11.6): garbage naming one id must not hold every record behind registry calls."""

from __future__ import annotations

import struct
from typing import Any

import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient

from schemas.catalogue import TRADE_SIGNAL
from schemas.contracts import contract
from schemas.serde import UNKNOWN_ID_MEMORY, UNKNOWN_ID_TTL_SECONDS, AvroSerde, UnknownSchemaIdError
from streams.testing import FakeClock


class CountingRegistry:
    """confluent-kafka's mock registry, counting the id look-ups that reach it."""

    def __init__(self) -> None:
        self._inner = SchemaRegistryClient.new_client({"url": "mock://unknown-ids"})
        self.lookups = 0

    def register_schema(self, subject_name: str, schema: Schema) -> int:
        return int(self._inner.register_schema(subject_name, schema))

    def get_schema(self, schema_id: int) -> Any:
        self.lookups += 1
        return self._inner.get_schema(schema_id)


def _framed(schema_id: int) -> bytes:
    return struct.pack(">bI", 0, schema_id) + b"\x00"


def test_decode_when_thousand_records_name_one_unknown_id_then_one_registry_lookup() -> None:
    registry, clock = CountingRegistry(), FakeClock()
    serde = AvroSerde(registry, clock=lambda: clock.now() / 1000)
    for _ in range(1000):
        with pytest.raises(UnknownSchemaIdError):
            serde.decode(contract(TRADE_SIGNAL), _framed(987_654))
    assert registry.lookups == 1


def test_decode_when_ttl_passed_then_asks_again() -> None:
    registry, clock = CountingRegistry(), FakeClock()
    serde = AvroSerde(registry, clock=lambda: clock.now() / 1000)
    for _ in range(2):
        with pytest.raises(UnknownSchemaIdError):
            serde.decode(contract(TRADE_SIGNAL), _framed(987_655))
        clock.advance(UNKNOWN_ID_TTL_SECONDS)
    assert registry.lookups == 2


def test_decode_when_many_distinct_unknown_ids_then_memory_is_bounded() -> None:
    registry, clock = CountingRegistry(), FakeClock()
    serde = AvroSerde(registry, clock=lambda: clock.now() / 1000)
    for schema_id in range(UNKNOWN_ID_MEMORY + 50):
        with pytest.raises(UnknownSchemaIdError):
            serde.decode(contract(TRADE_SIGNAL), _framed(1_000_000 + schema_id))
    assert len(serde._unknown) == UNKNOWN_ID_MEMORY
