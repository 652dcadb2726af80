"""A batch read returns as soon as a record is there (the real broker and librdkafka).

librdkafka's ``consume(n, timeout)`` holds fewer than ``n`` records for the whole
timeout; the first test pins that behaviour of the library (if a release changes it, this
says so), the others show :func:`take` handing the same lone record over at once and
still taking, in one call, what is already queued behind it."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator

import pytest
from confluent_kafka import Consumer, Message, Producer, TopicPartition

from services.bus.polling import take
from services.testing import Servers

pytestmark = [pytest.mark.stack, pytest.mark.timeout(120)]

TIMEOUT = 3.0
"""Long against a local round trip (a few ms), so that "returned before the timeout" and
"held to the timeout" cannot be confused on a loaded machine."""


@pytest.fixture
def consumer(stack: Servers) -> Iterator[Consumer]:
    found = Consumer(
        {
            "bootstrap.servers": stack.kafka,
            "group.id": f"polling-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "fetch.wait.max.ms": 20,
        }
    )
    yield found
    found.close()


def _produce(stack: Servers, topic: str, count: int) -> None:
    producer = Producer({"bootstrap.servers": stack.kafka, "linger.ms": 0})
    for n in range(count):
        producer.produce(topic, str(n).encode())
    assert producer.flush(30) == 0


def _held(stack: Servers, topic: str, read: Callable[[], list[Message]]) -> tuple[int, float]:
    """Start ``read`` on an empty partition, produce one record 0.3 s later; how many
    records ``read`` returned, and how long after the record was written."""
    produced: list[float] = []

    def produce_later() -> None:
        time.sleep(0.3)
        _produce(stack, topic, 1)
        produced.append(time.monotonic())

    writer = threading.Thread(target=produce_later)
    writer.start()
    got = read()
    returned = time.monotonic()
    writer.join()
    return len(got), returned - produced[0]


def test_consume_when_fewer_than_asked_then_librdkafka_holds_them_to_the_timeout(
    stack: Servers, topic: str, consumer: Consumer
) -> None:
    consumer.assign([TopicPartition(topic, 0, 0)])
    count, held = _held(stack, topic, lambda: consumer.consume(500, TIMEOUT))
    assert count == 1
    assert held >= TIMEOUT - 1.0, f"consume returned {held:.3f} s after the record"


def test_take_when_fewer_than_asked_then_it_returns_them_at_once(
    stack: Servers, topic: str, consumer: Consumer
) -> None:
    consumer.assign([TopicPartition(topic, 0, 0)])
    count, held = _held(stack, topic, lambda: take(consumer, 500, TIMEOUT))
    assert count == 1
    assert held < TIMEOUT / 2, f"take returned {held:.3f} s after the record"


def test_take_when_records_queued_then_one_call_returns_them_in_order(
    stack: Servers, topic: str, consumer: Consumer
) -> None:
    _produce(stack, topic, 50)
    consumer.assign([TopicPartition(topic, 0, 0)])  # one fetch brings all 50
    got = take(consumer, 500, TIMEOUT)
    assert [m.value() for m in got] == [str(n).encode() for n in range(50)]
    assert take(consumer, 10, 0.1) == []


def test_take_when_at_most_one_asked_then_one_is_returned(
    stack: Servers, topic: str, consumer: Consumer
) -> None:
    _produce(stack, topic, 3)
    consumer.assign([TopicPartition(topic, 0, 0)])
    assert [m.value() for m in take(consumer, 1, TIMEOUT)] == [b"0"]
    assert [m.value() for m in take(consumer, 5, TIMEOUT)] == [b"1", b"2"]


def test_take_when_nothing_arrives_then_empty_after_the_timeout(
    topic: str, consumer: Consumer
) -> None:
    consumer.assign([TopicPartition(topic, 0, 0)])
    started = time.monotonic()
    assert take(consumer, 500, 0.3) == []
    assert time.monotonic() - started >= 0.25
