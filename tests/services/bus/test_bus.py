"""The producer and consumer edges on the real broker: round trip, DLQ, back-pressure."""

from __future__ import annotations

import struct
import uuid
from typing import Any

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient

from schemas import dlq
from schemas.catalogue import TRADE_SIGNAL, TopicNames
from schemas.contracts import contract
from schemas.examples import example_record
from schemas.serde import AvroSerde, Contract, RecordValidationError
from services.bus.consumer import ConsumedEvent, EventConsumer
from services.bus.exceptions import ProducerBufferFullError
from services.bus.producer import EventProducer
from services.testing import Servers
from services.testing.kafka import read_topic

pytestmark = pytest.mark.stack


def _signal(seed: int, **overrides: Any) -> dict[str, Any]:
    return example_record("hfos.TradeSignal", seed=seed, overrides=overrides)


def _consumer(
    stack: Servers,
    signals: Contract,
    serde: AvroSerde,
    producer: EventProducer,
    seen: list[ConsumedEvent],
) -> EventConsumer:
    """A consumer of ``signals`` in a fresh group that collects what it handles."""
    return EventConsumer(
        {"bootstrap.servers": stack.kafka},
        f"g-{uuid.uuid4().hex}",
        [signals],
        serde,
        producer,
        seen.append,
    )


def _drain(consumer: EventConsumer, seen: list[ConsumedEvent], want: int, polls: int = 60) -> None:
    for _ in range(polls):
        if len(seen) >= want:
            break
        consumer.poll(0.5)
    consumer.close()


def test_send_then_consume_when_record_valid_then_decoded_record_equals_sent(
    stack: Servers, names: TopicNames, serde: AvroSerde, producer: EventProducer
) -> None:
    signals = contract(TRADE_SIGNAL, names)
    sent = [_signal(seed) for seed in range(20)]
    for record in sent:
        producer.send(signals, record["account_id"], record)
    assert producer.flush(30) == 0
    seen: list[ConsumedEvent] = []

    consumer = _consumer(stack, signals, serde, producer, seen)
    _drain(consumer, seen, len(sent))

    assert sorted((e.value for e in seen), key=lambda r: str(r["signal_id"])) == sorted(
        sent, key=lambda r: str(r["signal_id"])
    )


def test_decode_when_another_process_registered_the_schema_then_no_schema_walk(
    stack: Servers, names: TopicNames, serde: AvroSerde, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The registry hands back its own rendering of the schema (Apicurio shortens
    # "hfos.Envelope" to "Envelope"); a consumer that only ever fetched it must still see
    # it as the contract's own schema and use the generated decoder, not fastavro's walk.
    signals = contract(TRADE_SIGNAL, names)
    sent = _signal(3)
    data = serde.encode(signals, sent)
    reader = AvroSerde(SchemaRegistryClient({"url": stack.registry}))

    def no_walk(*_: Any) -> Any:
        raise AssertionError("fastavro's reader was used")

    monkeypatch.setattr("schemas.serde.schemaless_reader", no_walk)
    assert reader.decode(signals, data) == sent


def test_send_when_record_invalid_then_typed_error_names_field_and_nothing_is_sent(
    names: TopicNames, producer: EventProducer
) -> None:
    record = _signal(1, confidence="high")
    record.pop("account_id")

    with pytest.raises(RecordValidationError) as raised:
        producer.send(contract(TRADE_SIGNAL, names), "acc", record)

    assert "confidence" in raised.value.fields
    assert "account_id (missing)" in raised.value.fields
    assert producer.pending() == 0


def test_consume_when_poison_pills_between_valid_events_then_each_goes_to_dlq_and_valid_processed(
    stack: Servers, names: TopicNames, serde: AvroSerde, producer: EventProducer
) -> None:
    signals = contract(TRADE_SIGNAL, names)
    topic = signals.topic
    valid = [_signal(seed) for seed in range(6)]
    schema_id = serde.schema_id(signals)
    pills = {
        "garbage": b"\xde\xad\xbe\xef not avro",
        "unknown-id": struct.pack(">bI", 0, 987_654_321) + b"\x00\x00",
        "truncated": struct.pack(">bI", 0, schema_id) + b"\x02",
        "out-of-range": serde.encode(signals, _signal(98, confidence=7.5)),
        "nan": serde.encode(signals, _signal(99, confidence=float("nan"))),
    }

    for index, record in enumerate(valid):
        producer.send(signals, record["account_id"], record)
        if index < len(pills):
            name = list(pills)[index]
            producer.send_raw(topic, "acc-poison", pills[name], [("pill", name.encode())])
    assert producer.flush(30) == 0
    seen: list[ConsumedEvent] = []

    consumer = _consumer(stack, signals, serde, producer, seen)
    _drain(consumer, seen, len(valid))

    assert len(seen) == len(valid)
    letters = read_topic({"bootstrap.servers": stack.kafka}, names.dlq(TRADE_SIGNAL), len(pills))
    by_pill = {dict(r.headers)["pill"]: r for r in letters}
    assert set(by_pill) == {name.encode() for name in pills}
    errors = {pill: dlq.read(r.headers).error_type for pill, r in by_pill.items()}
    assert errors == {
        b"garbage": "FramingError",
        b"unknown-id": "UnknownSchemaIdError",
        b"truncated": "BodyDecodeError",
        b"out-of-range": "InvalidEventError",
        b"nan": "InvalidEventError",
    }
    assert "confidence" in dlq.read(by_pill[b"nan"].headers).error_message
    for pill, raw in by_pill.items():
        letter = dlq.read(raw.headers)
        assert raw.value == pills[(pill or b"").decode()]
        assert raw.key == b"acc-poison"
        assert letter.source_topic == topic
        assert letter.source_offset >= 0


def test_send_when_broker_unreachable_and_buffer_full_then_typed_error_not_silent_drop(
    names: TopicNames, serde: AvroSerde
) -> None:
    signals = contract(TRADE_SIGNAL, names)
    serde.schema_id(signals)  # registered while the registry is reachable
    dead = EventProducer(
        {"bootstrap.servers": "127.0.0.1:9"}, serde, buffer_messages=5, block_seconds=0.5
    )
    for seed in range(5):
        dead.send(signals, "acc", _signal(seed))

    with pytest.raises(ProducerBufferFullError) as raised:
        dead.send(signals, "acc", _signal(5))

    assert dead.pending() == 5
    assert raised.value.queued == 5
    assert raised.value.topic == signals.topic
