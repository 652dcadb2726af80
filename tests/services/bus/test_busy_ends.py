"""Reading to the end of a topic that keeps being written (the real broker).

librdkafka reports a partition's end only from a fetch that comes back empty; a fetch
waits up to ``fetch.wait.max.ms`` (500 ms) for data, so while a record arrives more often
than that the event never comes. The first test pins that; the others show the views
that once waited for it -- ``hfos model status/promote`` (heartbeats: every consumer
writes one a second) and ``hfos breaker status`` (the worker's changelog) -- reading to
the log end the read began with instead."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.schema_registry import SchemaRegistryClient

from schemas.catalogue import (
    MODEL_LOAD_FAILED,
    MODEL_LOADED,
    MODEL_PROMOTED,
    SYSTEM_HEARTBEAT,
    TopicNames,
)
from schemas.serde import AvroSerde
from services.breaker.view import changelog_topic, read_accounts
from services.models.view import read_view
from services.testing import Servers
from tests.services.bus.conftest import CreateTopics

pytestmark = [pytest.mark.stack, pytest.mark.timeout(120)]

EVERY = 0.1
"""A record every 100 ms: well inside the 500 ms a fetch waits for data."""


def _busy(stack: Servers, topic: str, value: bytes | None) -> Iterator[None]:
    """Records on ``topic``: 50 at once, then one every :data:`EVERY` until closed."""
    producer = Producer({"bootstrap.servers": stack.kafka, "linger.ms": 0})
    for n in range(50):
        producer.produce(topic, value, key=f"k{n}".encode())
    producer.flush(30)
    stop = threading.Event()

    def write() -> None:
        while not stop.is_set():
            producer.produce(topic, value, key=b"k0")
            producer.flush(10)
            stop.wait(EVERY)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    time.sleep(1.0)  # the writer is under way before any read begins
    try:
        yield
    finally:
        stop.set()
        writer.join(10)


@pytest.fixture
def busy_topic(stack: Servers, topic: str) -> Iterator[str]:
    yield from (topic for _ in _busy(stack, topic, b"x"))


def test_end_of_partition_when_records_keep_arriving_then_librdkafka_never_reports_it(
    stack: Servers, busy_topic: str
) -> None:
    consumer = Consumer(
        {
            "bootstrap.servers": stack.kafka,
            "group.id": f"busy-{uuid.uuid4().hex}",
            "enable.partition.eof": True,
            "enable.auto.commit": False,
        }
    )
    consumer.assign([TopicPartition(busy_topic, 0, 0)])
    read, ended = 0, False
    deadline = time.monotonic() + 3.0
    try:
        while time.monotonic() < deadline and not ended:
            message = consumer.poll(0.2)
            if message is None:
                continue
            error = message.error()
            ended = error is not None and error.code() == KafkaError._PARTITION_EOF
            read += error is None
    finally:
        consumer.close()
    assert read >= 50
    assert not ended, "librdkafka reported the end of a partition written every 100 ms"


def test_read_view_when_heartbeats_keep_arriving_then_it_ends_at_the_log_end(
    stack: Servers, create_topics: CreateTopics
) -> None:
    names = TopicNames(f"busy{uuid.uuid4().hex[:8]}.")
    specs = (MODEL_PROMOTED, MODEL_LOADED, MODEL_LOAD_FAILED, SYSTEM_HEARTBEAT)
    create_topics(*(names.name(spec) for spec in specs))
    serde = AvroSerde(SchemaRegistryClient({"url": stack.registry}))
    # Not heartbeats the view can decode: it skips those, and the read is what is timed.
    for _ in _busy(stack, names.name(SYSTEM_HEARTBEAT), b"not a heartbeat"):
        started = time.monotonic()
        view = read_view({"bootstrap.servers": stack.kafka}, serde, names, timeout=10)
        assert time.monotonic() - started < 10
        assert view.registrations == {}


def test_read_accounts_when_the_changelog_keeps_being_written_then_it_ends_at_the_log_end(
    stack: Servers, create_topics: CreateTopics
) -> None:
    app_id = f"busy{uuid.uuid4().hex[:8]}"
    topic = changelog_topic(app_id)
    create_topics(topic)
    for _ in _busy(stack, topic, None):  # tombstones: accounts deleted
        assert read_accounts({"bootstrap.servers": stack.kafka}, app_id, timeout=10) == {}
