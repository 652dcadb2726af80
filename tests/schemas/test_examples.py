"""Example records are valid: they survive an Avro round trip unchanged."""

from __future__ import annotations

import io

import pytest
from fastavro import schemaless_reader, schemaless_writer

from schemas.examples import example_envelope, example_record, example_value
from schemas.loader import SchemaError, schema_names, standalone_schema
from schemas.serde import codec_schema


@pytest.mark.parametrize("name", schema_names())
@pytest.mark.parametrize("seed", range(5))
def test_example_when_written_and_read_then_equal(name: str, seed: int) -> None:
    """A random valid value of every schema round-trips through the codec's schema."""
    value = example_value(name, seed=seed)
    schema = codec_schema(standalone_schema(name))
    buffer = io.BytesIO()
    schemaless_writer(buffer, schema, value)
    buffer.seek(0)
    assert schemaless_reader(buffer, schema) == value


def test_example_when_same_seed_then_same_record() -> None:
    """Examples are reproducible, so a failing test can be rerun."""
    assert example_record("hfos.TradeSignal", seed=7) == example_record("hfos.TradeSignal", seed=7)


def test_example_when_different_seed_then_different_record() -> None:
    """Seeds vary the values, so a test can build distinct events."""
    assert example_record("hfos.TradeSignal", seed=1) != example_record("hfos.TradeSignal", seed=2)


def test_example_when_overridden_then_override_wins() -> None:
    """Top-level overrides replace the generated values."""
    record = example_record("hfos.TradeSignal", overrides={"account_id": "acc-1"})
    assert record["account_id"] == "acc-1"


@pytest.mark.parametrize("seed", range(20))
def test_example_when_field_is_a_fraction_then_within_zero_and_one(seed: int) -> None:
    """Fraction-unit values respect SPEC §0's [0, 1] convention."""
    record = example_record("hfos.CircuitBreakerTriggered", seed=seed)
    assert all(0 <= record[name] <= 1 for name in ("drawdown", "daily_loss", "threshold"))


def test_example_when_schema_is_an_enum_then_record_builder_refuses() -> None:
    """example_record is for records; an enum name gets a typed error pointing elsewhere."""
    with pytest.raises(SchemaError, match="example_value"):
        example_record("hfos.EssState")


def test_envelope_when_built_then_carries_producer() -> None:
    """example_envelope fills the producer it is given."""
    assert example_envelope(producer="executor")["producer"] == "executor"
